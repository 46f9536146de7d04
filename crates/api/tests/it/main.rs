//! The api crate's integration tests, in one binary (one link instead of many): handler
//! tests over the real routes, extractors and error mapping with mocked use cases, one
//! module per endpoint group, and the OpenAPI document against the registered routes.

#![expect(
    clippy::unwrap_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod admission;
mod bearer;
mod create_customer;
mod customer_changes;
mod customer_kyc;
mod hardening;
mod idempotency;
mod kyc_cases;
mod kyc_gate;
mod kyc_submit;
mod kyc_tos;
mod limits;
mod openapi;
mod ops;
mod presenter;
mod provider_events;
mod read_customers;
mod routing;
mod sandbox;
mod sessions;
mod support;
mod webhook_deliveries;
mod webhook_endpoints;
mod webhook_support;
