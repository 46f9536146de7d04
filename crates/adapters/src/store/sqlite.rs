//! What is SQLite's own: the file path, the per-connection pragmas (WAL journal and a busy
//! timeout, so concurrent requests wait instead of failing with "database is locked"),
//! opening the pool and migrating. SQLite has one writer at a time: every write
//! transaction is `IMMEDIATE`, taking the write lock up front instead of upgrading a read
//! lock midway (which can fail), and that lock is what keeps two outbox claims apart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{CustomizeConnection, Pool};
use diesel::result::Error as DieselError;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::idempotency::{key_record, KeyRow};
use super::kyc_sync::due_syncs;
use super::outbox::due_jobs;
use super::pool::{build_pool, Manager, PoolSettings, Tracked};
use super::sql_types::Id;
use super::StoreConnection;

/// The SQLite migrations, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// A pool of SQLite connections to one database file.
pub type SqlitePool = Pool<Manager<SqliteConnection>>;

/// Reads the file path out of `sqlite://PATH`, `sqlite:PATH` or a bare path.
pub fn path_from_url(url: &str) -> anyhow::Result<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path.contains(":memory:") {
        anyhow::bail!("DATABASE_URL must name a SQLite file (an in-memory database is not shared between pooled connections)");
    }
    Ok(PathBuf::from(path))
}

/// Settings applied to every new connection.
#[derive(Debug)]
struct Pragmas {
    busy_timeout: Duration,
}

impl CustomizeConnection<Tracked<SqliteConnection>, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut Tracked<SqliteConnection>) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            self.busy_timeout.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens (creating it and its directory when missing) the SQLite file at `path`.
/// Writers wait up to the pool's connection timeout for the write lock.
pub fn connect(path: &Path, settings: &PoolSettings) -> anyhow::Result<SqlitePool> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the data directory {}", dir.display()))?;
    }
    let url = path
        .to_str()
        .with_context(|| format!("the SQLite path {} is not UTF-8", path.display()))?;
    let pragmas = Pragmas {
        busy_timeout: settings.connection_timeout.max(Duration::from_secs(5)),
    };
    build_pool(Manager::new(url), settings, Some(Box::new(pragmas)))
        .with_context(|| format!("could not open the SQLite database {}", path.display()))
}

impl StoreConnection for SqliteConnection {
    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        self.immediate_transaction(work)
    }

    fn lock_due_jobs(&mut self, due: due_jobs) -> QueryResult<Vec<(Id, Option<Id>)>> {
        // No row locks in SQLite: the IMMEDIATE transaction around the claim already
        // keeps every other writer out until the lease is taken.
        due.load(self)
    }

    fn lock_due_deliveries(
        &mut self,
        due: super::outbox::due_deliveries,
    ) -> QueryResult<Vec<(Id, Option<Id>)>> {
        // The IMMEDIATE transaction around the claim keeps every other writer out.
        due.load(self)
    }

    fn serialise_delivery_claims(&mut self) -> QueryResult<()> {
        // The IMMEDIATE transaction around the claim already holds the one write lock.
        Ok(())
    }

    fn lock_idempotency_key(&mut self, key: key_record) -> QueryResult<Option<KeyRow>> {
        // The IMMEDIATE transaction around the claim keeps every other writer out.
        key.select(KeyRow::as_select()).first(self).optional()
    }

    fn lock_due_syncs(&mut self, due: due_syncs) -> QueryResult<Vec<Id>> {
        // As for the outbox: the IMMEDIATE transaction keeps other claimers out.
        due.load(self)
    }

    fn lock_account(&mut self, _account: Id) -> QueryResult<()> {
        // The IMMEDIATE transaction already holds the database's one write lock.
        Ok(())
    }

    fn refresh_statistics(&mut self) -> QueryResult<Vec<String>> {
        // Nothing gathers statistics here (no ANALYZE, no `sqlite_stat1`), so SQLite plans
        // from its fixed rules, which the plan test checks as tables grow: there is nothing
        // that can go stale.
        Ok(Vec::new())
    }

    fn has_pending_migrations(&mut self) -> QueryResult<bool> {
        self.has_pending_migration(MIGRATIONS)
            .map_err(DieselError::QueryBuilderError)
    }

    fn run_migrations(&mut self) -> anyhow::Result<usize> {
        self.run_pending_migrations(MIGRATIONS)
            .map(|v| v.len())
            .map_err(|e| anyhow::anyhow!(e).context("could not apply migrations"))
    }
}
