//! Adapter integration tests: one binary, talking to the real Postgres on this machine,
//! a real SQLite file, and a local HTTP server standing in for Bridge.

#![expect(
    clippy::unwrap_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod batches_contract;
mod bridge;
mod bridge_customers;
mod changes_contract;
mod concurrent_migrations;
mod erasure_contract;
mod health_contract;
mod idempotency_contract;
mod kyc_contract;
mod kyc_poller;
mod kyc_submission_contract;
mod kyc_sync_contract;
mod lifecycle_contract;
mod mail;
mod migrations;
mod online_migrations;
mod outbox_contract;
mod plans;
mod pool_recovery;
mod repository_contract;
mod sqlite_format;
mod stores;
mod webhook_contract;
mod webhook_sender;
