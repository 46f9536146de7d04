//! Test support only — a dev-dependency of the crates' tests, never built into the service:
//! a fresh PostgreSQL database per test, a temporary SQLite file, sample customers and
//! accounts, an SMTP server on loopback that records what it receives, and a dump of every
//! table with a search of it for a person's data.
//!
//! It hands out URLs and paths, not stores: it does not depend on `adapters`, so the
//! adapters' own tests can use it without a dependency cycle.

#![expect(
    clippy::expect_used,
    reason = "test helpers: a broken fixture should stop the test at once"
)]

mod dump;
mod fixtures;
mod postgres;
mod smtp;
mod sqlite;

pub use dump::{dump_postgres, dump_sqlite, traces};
pub use fixtures::{register_account, registration, sample_customer};
pub use postgres::{TestPostgres, DEFAULT_TEST_DATABASE_URL};
pub use smtp::{ReceivedMail, SmtpSink};
pub use sqlite::TempSqlite;
