//! Outgoing webhooks, the account's side: `/webhook-endpoints` (`endpoints`, and what of a
//! registration is kept with its idempotency key: `idempotent`) and an endpoint's
//! deliveries (`deliveries`), their bodies (`body`), how they are shown (`data`) and their
//! errors' statuses (`errors`). Named like Stripe's
//! `webhook_endpoints`, so they never collide with inbound provider routes such as
//! `/webhooks/bridge`.

pub mod body;
pub mod data;
pub mod deliveries;
pub mod endpoints;
mod errors;
pub mod idempotent;

pub use body::{CreateEndpointBody, UpdateEndpointBody};
pub use data::{DeliveryData, EndpointData, WireEventType};
