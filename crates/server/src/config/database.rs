//! Database settings: which store (from DATABASE_URL), the data directory, the pool.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Redacted;

/// Where data is kept and how connections are pooled.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// Database: `postgres://…` for PostgreSQL, `sqlite://PATH` or a bare path for SQLite.
    /// Unset: SQLite at DATA_DIR/customers.db.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Redacted>,

    /// Directory for the SQLite database and the generated development secret.
    #[arg(long, env = "DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Most database connections in the pool.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub db_pool_size: u32,

    /// How long a request waits for a database connection before failing with 503, in
    /// milliseconds.
    #[arg(
        long,
        env = "DB_POOL_TIMEOUT_MS",
        default_value_t = 2_000,
        global = true
    )]
    pub db_pool_timeout_ms: u64,
}

/// Where customers are stored, as chosen from DATABASE_URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// PostgreSQL at this URL.
    Postgres(String),
    /// SQLite in this file.
    Sqlite(PathBuf),
}

impl Storage {
    /// A short name for the banner.
    pub fn describe(&self) -> String {
        match self {
            Self::Postgres(_) => "postgres".into(),
            Self::Sqlite(path) => format!("sqlite ({})", path.display()),
        }
    }
}

impl DatabaseSettings {
    /// The storage DATABASE_URL names.
    pub fn storage(&self) -> anyhow::Result<Storage> {
        match self.database_url.as_deref().map(str::trim) {
            None | Some("") => Ok(Storage::Sqlite(self.data_dir.join("customers.db"))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Storage::Postgres(url.to_owned()))
            }
            Some(url) if url.contains("://") && !url.starts_with("sqlite://") => anyhow::bail!(
                "DATABASE_URL must start with postgres://, postgresql:// or sqlite:// (or be a file path)"
            ),
            Some(url) => Ok(Storage::Sqlite(
                adapters::sqlite::path_from_url(url)
                    .map_err(|e| anyhow::anyhow!("DATABASE_URL is invalid: {e}"))?,
            )),
        }
    }

    /// Connection-pool settings.
    pub fn pool_settings(&self) -> adapters::PoolSettings {
        adapters::PoolSettings {
            max_size: self.db_pool_size,
            connection_timeout: Duration::from_millis(self.db_pool_timeout_ms.max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;

    #[test]
    fn storage_defaults_to_sqlite_in_the_data_directory() {
        let c = config(&["--data-dir", "/tmp/x"]);
        assert_eq!(
            c.database.storage().unwrap(),
            Storage::Sqlite("/tmp/x/customers.db".into())
        );
    }

    #[test]
    fn storage_follows_the_database_url_scheme() {
        let pg = config(&["--database-url", "postgres://u@h/db"]);
        assert!(matches!(
            pg.database.storage().unwrap(),
            Storage::Postgres(_)
        ));
        let lite = config(&["--database-url", "sqlite://var/c.db"]);
        assert_eq!(
            lite.database.storage().unwrap(),
            Storage::Sqlite("var/c.db".into())
        );
        let bare = config(&["--database-url", "/srv/c.db"]);
        assert_eq!(
            bare.database.storage().unwrap(),
            Storage::Sqlite("/srv/c.db".into())
        );
        let bad = config(&["--database-url", "mysql://h/db"]);
        assert!(bad
            .database
            .storage()
            .unwrap_err()
            .to_string()
            .contains("DATABASE_URL"));
    }
}
