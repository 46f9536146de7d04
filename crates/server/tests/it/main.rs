//! Black-box tests: the real application on port 0, over HTTP, with a fresh database
//! and a local HTTP server playing Bridge.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod accounts;
mod changes;
mod hardening;
mod helpers;
mod idempotency;
mod kyc_api;
mod kyc_lifecycle;
mod limits;
mod mail;
mod ops;
mod postgres_bridge;
mod process;
mod shutdown;
mod webhooks;
mod zero_config;
