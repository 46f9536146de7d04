//! A fresh PostgreSQL database per test, on the server named by `TEST_DATABASE_URL`.

use diesel::{Connection, PgConnection, RunQueryDsl};
use uuid::Uuid;

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
