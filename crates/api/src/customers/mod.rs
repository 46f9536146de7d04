//! The customer endpoints, one module per endpoint group: `create` (`POST /customer`),
//! `read` (`GET /customer/{id}`, `GET /customers`), `update` (`PUT /customer/{id}`),
//! `delete` (`DELETE /customer/{id}`); `data`, the customer as they show it (also used by
//! the KYC routes, `crate::kyc`, which this module does not use); `fields`, the rules of the customer's own fields, shared by the create
//! and update bodies.

pub mod create;
pub mod data;
pub mod delete;
pub mod fields;
pub mod read;
pub mod update;

pub use create::{create_customer, CreateCustomerBody};
pub use data::{CustomerData, CustomerKind, KycMailState};
pub use delete::{delete_customer, DeletedResponse};
pub use read::{get_customer, list_customers, ListParams, ListResponse};
pub use update::{update_customer, UpdateCustomerBody};
