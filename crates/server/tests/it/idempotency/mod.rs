//! `Idempotency-Key` end to end, on both stores: the real application over HTTP with a local
//! stand-in for Bridge (`replay`, `recovery`), and the real binary with a slow one
//! (`process`).

mod process;
mod recovery;
mod replay;

use serde_json::Value;
use testkit::{TempSqlite, TestPostgres};
use wiremock::MockServer;

use crate::helpers::{start_on_database_url, TestApp};

/// A fresh database of either kind.
pub enum Db {
    Postgres(TestPostgres),
    Sqlite(TempSqlite),
}

impl Db {
    /// A fresh PostgreSQL database, or `None` (with a notice) where none answers.
    pub fn postgres() -> Option<Self> {
        TestPostgres::create().map(Self::Postgres)
    }

    /// A fresh SQLite file.
    pub fn sqlite() -> Option<Self> {
        Some(Self::Sqlite(TempSqlite::new()))
    }

    /// Its `DATABASE_URL`.
    pub fn url(&self) -> String {
        match self {
            Self::Postgres(db) => db.url().to_owned(),
            Self::Sqlite(file) => format!("sqlite://{}", file.path().display()),
        }
    }

    /// The store on it, as the service opens it.
    pub fn store(&self) -> adapters::Store {
        let settings = adapters::PoolSettings::default();
        let store = match self {
            Self::Postgres(db) => adapters::Store::connect_postgres(db.url(), &settings),
            Self::Sqlite(file) => adapters::Store::connect_sqlite(&file.path(), &settings),
        }
        .unwrap();
        store.run_migrations().unwrap();
        store
    }

    /// How many rows `table` holds.
    pub fn count(&self, table: &str) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let query = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"));
        match self {
            Self::Postgres(db) => {
                query
                    .get_result::<Count>(&mut PgConnection::establish(db.url()).unwrap())
                    .unwrap()
                    .n
            }
            Self::Sqlite(file) => {
                query
                    .get_result::<Count>(
                        &mut SqliteConnection::establish(file.path().to_str().unwrap()).unwrap(),
                    )
                    .unwrap()
                    .n
            }
        }
    }

    /// The application on this database with Bridge at `bridge`, plus `extra` settings.
    pub async fn start(&self, bridge: &MockServer, extra: &[&str]) -> TestApp {
        start_on_database_url(&self.url(), bridge, extra).await
    }
}

/// One answer: status, the headers that matter here, and the body as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub replayed: Option<String>,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    pub fn is_replay(&self) -> bool {
        self.replayed.as_deref() == Some("true")
    }

    /// The answer to `POST /customer` with `key` (if any) and `body`, sent as given.
    pub async fn post(
        client: &reqwest::Client,
        address: &str,
        token: &str,
        key: Option<&str>,
        body: &str,
    ) -> Self {
        let mut request = client
            .post(format!("{address}/customer"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("request failed");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        Self {
            status: response.status().as_u16(),
            replayed: header("idempotent-replayed"),
            retry_after: header("retry-after"),
            content_type: header("content-type"),
            bytes: response.bytes().await.unwrap().to_vec(),
        }
    }
}

/// `POST /customer` to `app` with `key` and a JSON `body`.
pub async fn post(app: &TestApp, token: &str, key: Option<&str>, body: &Value) -> Answer {
    Answer::post(&app.client, &app.address, token, key, &body.to_string()).await
}

/// Generates one test per store for each case, as the adapters' contract suites do.
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = $crate::idempotency::Db::postgres() else { return };
                    super::$case(db).await;
                }
            )*
        }
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = $crate::idempotency::Db::sqlite() else { return };
                    super::$case(db).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_stores;
