//! The customer endpoints, one module per endpoint group: `create` (`POST /customer`),
//! `read` (`GET /customer/{id}`, `GET /customers`), `kyc` (`GET /customer/{id}/kyc`) and
//! `data`, the customer as they show it.

pub mod create;
pub mod data;
pub mod kyc;
pub mod read;

pub use create::{create_customer, CreateCustomerBody};
pub use data::{CustomerData, CustomerKind, KycMailState};
pub use read::{get_customer, list_customers, ListParams, ListResponse};
