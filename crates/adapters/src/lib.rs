//! Technology adapters for the ports: one module per technology.
//!
//! - [`postgres`]: the customer repository on PostgreSQL (Diesel, r2d2, embedded migrations).
//! - [`sqlite`]: the same port on an embedded SQLite file, for zero-configuration runs.
//! - [`bridge`]: the KYC provider port over Bridge's KYC Links API.
//! - [`sandbox`]: an in-process KYC provider for offline development.
//! - [`mail`]: the mailer port over SMTP and over `.eml` files.
//! - [`metrics`]: a KYC provider decorator recording Prometheus metrics.
//! - [`password`]: the secret-hasher port with argon2id.
//!
//! Mapping between rows or wire types and domain types lives here and nowhere else.

pub mod bridge;
mod db;
pub mod mail;
pub mod metrics;
pub mod password;
pub mod postgres;
pub mod sandbox;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use db::PoolSettings;
