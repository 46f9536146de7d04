//! `Idempotency-Key` end to end, on both stores: the real application over HTTP with a local
//! stand-in for Bridge (`replay`, `recovery`; the other creating `POST`s in `kyc` and
//! `endpoints`), and the real binary with a slow one (`process`).

mod endpoints;
mod kyc;
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

    /// Every answer stored with an idempotency key, as stored.
    pub fn stored_bodies(&self) -> Vec<Vec<u8>> {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Body {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Binary>)]
            response_body: Option<Vec<u8>>,
        }
        let query = diesel::sql_query("SELECT response_body FROM idempotency_keys");
        let rows: Vec<Body> = match self {
            Self::Postgres(db) => query
                .load(&mut PgConnection::establish(db.url()).unwrap())
                .unwrap(),
            Self::Sqlite(file) => query
                .load(&mut SqliteConnection::establish(file.path().to_str().unwrap()).unwrap())
                .unwrap(),
        };
        rows.into_iter()
            .filter_map(|row| row.response_body)
            .collect()
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
        Self::post_to(client, address, "/customer", token, key, body).await
    }

    /// The answer to `POST path` with `key` (if any) and `body`, sent as given.
    pub async fn post_to(
        client: &reqwest::Client,
        address: &str,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: &str,
    ) -> Self {
        let mut request = client
            .post(format!("{address}{path}"))
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

/// `POST path` to `app` with `key` and a JSON `body`.
pub async fn post_at(
    app: &TestApp,
    path: &str,
    token: &str,
    key: Option<&str>,
    body: &Value,
) -> Answer {
    let body = body.to_string();
    Answer::post_to(&app.client, &app.address, path, token, key, &body).await
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
