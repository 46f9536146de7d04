//! The api crate's integration tests, in one binary (one link instead of many): handler
//! tests over the real routes, extractors and error mapping with mocked use cases, one
//! module per endpoint group, and the OpenAPI document against the registered routes.

#![expect(
    clippy::unwrap_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod bearer;
mod create_customer;
mod limits;
mod openapi;
mod ops;
mod read_customers;
mod routing;
mod sessions;
mod support;
