//! Test helpers shared by this crate's and the server's tests (feature `testing`):
//! a fresh PostgreSQL database per test, a temporary SQLite file, sample customers.

#![expect(
    clippy::expect_used,
    reason = "test helpers: a broken fixture should stop the test at once"
)]

use std::path::PathBuf;

use chrono::{DurationRound, TimeDelta, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use domain::{
    AccountId, CountryCode, Customer, CustomerEmail, CustomerId, CustomerName, CustomerType,
    KycLink, KycMailStatus, PhoneNumber,
};
use uuid::Uuid;

use crate::PoolSettings;

/// Where Postgres-backed tests find their server when `TEST_DATABASE_URL` is unset.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database created for one test on the server named by `TEST_DATABASE_URL`, dropped
/// (connections and all) when the value is dropped.
#[derive(Debug)]
pub struct TestPostgres {
    admin_url: String,
    name: String,
    url: String,
}

impl TestPostgres {
    /// Creates a fresh, empty database. Where no Postgres answers, prints a visible notice
    /// and returns `None` so the caller can skip — except under `CI=true`, where it panics,
    /// because CI must never pass by skipping.
    pub fn create() -> Option<Self> {
        let server = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let admin_url = with_database(&server, "postgres");
        let mut admin = match PgConnection::establish(&admin_url) {
            Ok(conn) => conn,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("CI=true but Postgres at {server} is unreachable: {e}")
            }
            Err(e) => {
                eprintln!(
                    "NOTICE: skipping a Postgres-backed test: no Postgres at {server} ({e}). \
                     Set TEST_DATABASE_URL or start Postgres; under CI=true this fails."
                );
                return None;
            }
        };
        let name = format!("onboarding_test_{}", Uuid::new_v4().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("could not create a test database");
        let url = with_database(&server, &name);
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A small pool on the database, migrations applied.
    pub fn migrated_pool(&self) -> crate::postgres::PgPool {
        let pool = crate::postgres::connect(&self.url, &test_pool_settings())
            .expect("could not connect to the test database");
        crate::postgres::run_migrations(&pool).expect("could not migrate the test database");
        pool
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// Replaces the database name in a Postgres URL, keeping any query string.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// A SQLite file in a fresh temporary directory, removed when the value is dropped.
#[derive(Debug)]
pub struct TempSqlite {
    dir: PathBuf,
}

impl TempSqlite {
    /// A fresh directory; the database file itself is created on first connect.
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("onboarding-test-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("could not create a temporary directory");
        Self { dir }
    }

    /// The directory, usable as the service's data directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The database file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join("customers.db")
    }

    /// A small pool on the file, migrations applied.
    pub fn migrated_pool(&self) -> crate::sqlite::SqlitePool {
        let pool = crate::sqlite::connect(&self.path(), &test_pool_settings())
            .expect("could not open the test SQLite file");
        crate::sqlite::run_migrations(&pool).expect("could not migrate the test SQLite file");
        pool
    }
}

impl Default for TempSqlite {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Pool settings for tests: small, and quick to report an unreachable database.
pub fn test_pool_settings() -> PoolSettings {
    PoolSettings {
        max_size: 4,
        connection_timeout: std::time::Duration::from_secs(5),
    }
}

/// Registers a new account that cannot log in (its hash matches no secret): enough for
/// tests that need customers to have an owner.
pub async fn register_account(repo: &dyn ports::AccountRepository) -> AccountId {
    let account = domain::Account {
        id: AccountId(Uuid::new_v4()),
        name: domain::AccountName::parse("test account").expect("valid name"),
        secret_hash: "!".into(),
        disabled: false,
        created_at: Utc::now()
            .duration_trunc(TimeDelta::milliseconds(1))
            .expect("truncating now to milliseconds"),
    };
    repo.insert_account(&account)
        .await
        .expect("could not register a test account");
    account.id
}

/// A valid customer of `account` with `email`, with non-trivial provider data.
pub fn sample_customer(account: AccountId, email: &str) -> Customer {
    Customer {
        id: CustomerId::new_random(),
        account_id: account,
        name: CustomerName::parse("Emmanuel A Towoju").expect("valid name"),
        email: CustomerEmail::parse(email).expect("valid email"),
        phone: PhoneNumber::parse("+2349039395114", None).expect("valid phone"),
        country: CountryCode::parse("USA").expect("valid country"),
        customer_type: CustomerType::Individual,
        send_kyc_mail: true,
        kyc_mail_status: KycMailStatus::Queued,
        kyc_provider: "bridge".into(),
        kyc: KycLink {
            provider_link_id: Some("kyc_link_123".into()),
            kyc_link: "https://bridge.withpersona.com/verify?inquiry-template-id=itmpl_1&fields[x]=1&reference-id=7d5b".into(),
            tos_link: "https://dashboard.bridge.xyz/accept-terms-of-service?customer_id=7d5b".into(),
            kyc_status: "rejected".into(),
            tos_status: "pending".into(),
            rejection_reasons: vec![serde_json::json!({
                "developer_reason": "Document expired",
                "reason": "Your ID has expired",
                "created_at": "2024-12-01T18:46:15.392Z"
            })],
            provider_customer_id: Some("7d5b9315-796e-4d4d-b771-1ee5997e4abf".into()),
            persona_inquiry_type: Some("gov_id_db".into()),
        },
        created_at: Utc::now()
            .duration_trunc(TimeDelta::milliseconds(1))
            .expect("truncating now to milliseconds"),
    }
}

/// One message an [`SmtpSink`] received.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender.
    pub mail_from: String,
    /// The envelope recipients.
    pub rcpt_to: Vec<String>,
    /// The message as transmitted (dot-stuffing removed).
    pub data: String,
}

/// A minimal SMTP server on loopback that accepts and records every message: a real
/// SMTP conversation for the SMTP adapter's tests.
pub struct SmtpSink {
    port: u16,
    received: std::sync::Arc<std::sync::Mutex<Vec<ReceivedMail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on a free port.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Listens on `port` (to play a server that comes back where it was).
    pub async fn start_on(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("could not bind the SMTP sink");
        let port = listener.local_addr().expect("bound address").port();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(smtp_conversation(stream, store.clone()));
            }
        });
        Self {
            port,
            received,
            task,
        }
    }

    /// The sink's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().expect("sink lock").clone()
    }

    /// Waits until at least `count` messages arrived (or `timeout` passed) and returns all.
    pub async fn wait_for(&self, count: usize, timeout: std::time::Duration) -> Vec<ReceivedMail> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count || std::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn smtp_conversation(
    stream: tokio::net::TcpStream,
    store: std::sync::Arc<std::sync::Mutex<Vec<ReceivedMail>>>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    if write.write_all(b"220 sink ESMTP ready\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail_from = line[10..].trim().trim_matches(['<', '>']).to_owned();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            rcpt_to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            if write
                .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                .await
                .is_err()
            {
                return;
            }
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
                data.push_str("\r\n");
            }
            store.lock().expect("sink lock").push(ReceivedMail {
                mail_from: std::mem::take(&mut mail_from),
                rcpt_to: std::mem::take(&mut rcpt_to),
                data,
            });
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 OK\r\n"
        } else {
            b"502 command not implemented\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn with_database_swaps_only_the_database_name() {
        assert_eq!(
            with_database("postgres://u@h:5432/test?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
    }
}
