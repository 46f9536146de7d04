//! Technology adapters for the ports: one module per technology.
//!
//! - [`store`]: customers, their mail outbox and accounts on PostgreSQL or SQLite (Diesel,
//!   r2d2, embedded migrations), one implementation for both.
//! - [`bridge`]: the KYC provider port over Bridge's KYC Links API.
//! - [`sandbox`]: an in-process KYC provider for offline development.
//! - [`mail`]: the mailer port over SMTP and over `.eml` files.
//! - [`metrics`]: a KYC provider decorator recording Prometheus metrics.
//! - [`kyc_metrics`]: the KYC lifecycle's Prometheus metrics, as decorators of its ports.
//! - [`password`]: the secret-hasher port with argon2id.
//! - [`secret_box`]: the secret-box port with AES-256-GCM (webhook signing secrets).
//! - [`webhook`]: the webhook-sender port over HTTP: Standard Webhooks signatures and a
//!   guard against requests into the service's own network.
//!
//! Mapping between rows or wire types and domain types lives here and nowhere else.

pub mod bridge;
pub mod kyc_metrics;
pub mod mail;
pub mod metrics;
pub mod password;
pub mod sandbox;
pub mod secret_box;
pub mod store;
pub mod webhook;

// The backend modules stay reachable where callers have always found them.
pub use store::{postgres, sqlite, DbPool, PoolSettings, Store};
