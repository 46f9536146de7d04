//! Test support only — a dev-dependency of the crates' tests, never built into the service:
//! a fresh PostgreSQL database per test, a temporary SQLite file, sample customers,
//! accounts and KYC submissions, an SMTP server on loopback that records what it receives,
//! Bridge-style webhook signatures made with committed test keys, and a dump of every table
//! with a search of it for a person's data.
//!
//! It hands out URLs and paths, not stores: it does not depend on `adapters`, so the
//! adapters' own tests can use it without a dependency cycle.

#![expect(
    clippy::expect_used,
    reason = "test helpers: a broken fixture should stop the test at once"
)]

mod bridge;
mod dump;
mod fixtures;
mod postgres;
mod smtp;
mod sqlite;
mod submissions;

pub use bridge::{
    sign_bridge_webhook, TestKey, OTHER_PUBLIC_KEY, TEST_PUBLIC_KEY, TEST_PUBLIC_KEY_PKCS1,
};
pub use dump::{dump_postgres, dump_sqlite, traces};
pub use fixtures::{register_account, registration, sample_customer};
pub use postgres::{TestPostgres, DEFAULT_TEST_DATABASE_URL};
pub use smtp::{ReceivedMail, SmtpSink};
pub use sqlite::TempSqlite;
pub use submissions::{
    business_submission_body, checked_individual, individual_input, individual_submission,
    individual_submission_body, IMAGE_MARKER, SUBMITTED_BIRTH_DATE, SUBMITTED_PASSPORT_NUMBER,
    SUBMITTED_SSN,
};
