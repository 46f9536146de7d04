//! The store — customers, their KYC-mail outbox, accounts, idempotency keys and store
//! health — on PostgreSQL or on an embedded SQLite file, with every query written once.
//!
//! How one implementation serves both databases:
//! - one schema (`schema.rs`), typed with Diesel's common SQL types and three of our own
//!   for the values the databases spell differently: UUIDs, times, JSON (`sql_types.rs`);
//! - one row type per table and the row ↔ domain mapping (`rows.rs`), checked against
//!   both backends;
//! - [`Store`] holds a [`DbPool`] of either backend, and the `per_backend!` macro expands a
//!   query body once per concrete connection type (as vaultwarden's `db_run!` does): each
//!   query is written once and type-checked against each backend, without code generic
//!   over `diesel::backend::Backend` and the trait bounds that brings. Diesel's
//!   `MultiConnection` derive would dispatch too, but only over SQL types every backend
//!   has built in, which ours are not;
//! - what really differs lives in [`postgres`] and [`sqlite`], behind the small
//!   `StoreConnection` trait: opening a pool, migrating, the kind of write transaction,
//!   and row locking in the outbox claim and the idempotency-key claim.
//!
//! Adding a backend means its migrations, a module like [`sqlite`] (pool, migrations,
//! `StoreConnection`), its arms in this file (the enums, `per_backend!`, a constructor),
//! its spelling of the three types in `sql_types.rs`, and its name in the rows'
//! `check_for_backend`.

mod accounts;
mod batches;
mod changes;
mod customers;
mod deliveries;
mod endpoints;
mod erasure;
mod events;
mod health;
mod idempotency;
mod kyc;
mod kyc_submissions;
mod kyc_sync;
mod outbox;
mod pool;
pub mod postgres;
mod rows;
mod schema;
mod shapes;
mod sql_types;
pub mod sqlite;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use diesel::pg::PgConnection;
use diesel::r2d2::PooledConnection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryResult};
use ports::RepositoryError;

pub use pool::{Manager, PoolSettings, Tracked};
use sql_types::Id;

/// The name of the unique index that enforces one e-mail address per account. Both
/// backends use it, so both can recognise a duplicate by it.
const EMAIL_UNIQUE_INDEX: &str = "customers_account_email_key";

/// How many batches of lookups (customers by id, and the duplicate checks' addresses) may be
/// under way at once: one for every two cores, at least one. One statement reads a whole
/// batch, and a batch under way keeps a database backend and a blocking thread busy; the
/// lookups that arrive meanwhile wait for it and go together in the next one, so that the
/// fewer batches run at once, the larger each is and the fewer statements, wake-ups and
/// hand-offs each lookup pays. On two cores (`.ci/ab`, interleaved): one batch at a time
/// gave `GET /customer/{id}` 1.33 times the rate of four (p99 2.0–2.6 ms instead of
/// 3.0–4.1), two 1.19 times; the create's duplicate checks one at a time, 1.06 times. One
/// batch reads at most [`LOOKUPS_PER_BATCH`] ids, so a single batch at a time would also
/// cap lookups at that many per round trip: machines with more cores run more.
fn lookup_batches() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (cores / 2).max(1)
}

/// The most ids one batch of lookups reads (in statements of at most 32).
const LOOKUPS_PER_BATCH: usize = 128;

/// The most distinct pages one batch of listings reads, one after another on one
/// connection: a page waits for at most this many statements (reads of the same page
/// share one, however many).
const PAGES_PER_BATCH: usize = 8;

/// The most registrations one transaction writes: a registration waits for at most this
/// many others' statements before its commit.
const REGISTRATIONS_PER_BATCH: usize = 16;

/// How many batches of registrations may be under way at once: a few, so that the
/// registrations arriving meanwhile make the next batch larger instead of more commits.
const REGISTRATION_BATCHES: usize = 2;

/// A pool of connections to one of the supported databases.
#[derive(Clone)]
pub enum DbPool {
    /// PostgreSQL.
    Postgres(postgres::PgPool),
    /// An SQLite file.
    Sqlite(sqlite::SqlitePool),
}

/// A connection of one backend, lent to a query for the duration of one call.
pub(crate) enum Conn<'a> {
    /// PostgreSQL.
    Postgres(&'a mut PgConnection),
    /// SQLite.
    Sqlite(&'a mut SqliteConnection),
}

impl Conn<'_> {
    /// The same connection, lent for a shorter while (to run several statements).
    pub(crate) fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Self::Postgres(conn) => Conn::Postgres(conn),
            Self::Sqlite(conn) => Conn::Sqlite(conn),
        }
    }
}

/// Evaluates `$body` with `$conn` rebound to the concrete connection inside a [`Conn`]:
/// the body is expanded once per backend, so it is written once and compiled for each.
macro_rules! per_backend {
    ($conn:ident => $body:expr) => {
        match $conn {
            $crate::store::Conn::Postgres($conn) => $body,
            $crate::store::Conn::Sqlite($conn) => $body,
        }
    };
}
pub(crate) use per_backend;

/// What the shared queries ask of a backend because its SQL differs there.
pub(crate) trait StoreConnection: Connection + Sized {
    /// Runs `work` in a transaction that is going to write.
    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T>;

    /// Loads the jobs `due` selects (ids and endpoints), locked against concurrent
    /// claimers as far as this backend locks rows. Called inside a
    /// [`Self::write_transaction`].
    fn lock_due_jobs(&mut self, due: outbox::due_jobs) -> QueryResult<Vec<(Id, Option<Id>)>>;

    /// Loads the deliveries `due` selects, locked against concurrent writers (a finishing
    /// attempt, an erasure) as far as this backend locks rows, skipping rows they hold.
    /// Called inside a [`Self::write_transaction`].
    fn lock_due_deliveries(
        &mut self,
        due: outbox::due_deliveries,
    ) -> QueryResult<Vec<(Id, Option<Id>)>>;

    /// Holds off every other claim of webhook deliveries until the transaction ends, so
    /// that the leases a claim counts per endpoint are all there are (the per-endpoint
    /// share holds across instances). Called inside a [`Self::write_transaction`].
    fn serialise_delivery_claims(&mut self) -> QueryResult<()>;

    /// Reads the record `key` selects, locked against concurrent claims of the key as far
    /// as this backend locks rows. Called inside a [`Self::write_transaction`].
    fn lock_idempotency_key(
        &mut self,
        key: idempotency::key_record,
    ) -> QueryResult<Option<idempotency::KeyRow>>;

    /// Loads the ids of the customers `due` selects for a poll, locked against concurrent
    /// claimers as far as this backend locks rows. Called inside a
    /// [`Self::write_transaction`].
    fn lock_due_syncs(&mut self, due: kyc_sync::due_syncs) -> QueryResult<Vec<Id>>;

    /// Holds the account's row against other writers until the transaction ends, so that
    /// a count of its rows elsewhere stays true until the transaction's insert (the
    /// webhook endpoint limit). Called inside a [`Self::write_transaction`].
    fn lock_account(&mut self, account: Id) -> QueryResult<()>;

    /// Gathers the planner statistics of the tables that changed much since theirs were
    /// last gathered; returns the tables refreshed (see `ports::StoreStatistics`).
    fn refresh_statistics(&mut self) -> QueryResult<Vec<String>>;

    /// Whether an embedded migration has not been applied yet.
    fn has_pending_migrations(&mut self) -> QueryResult<bool>;

    /// Applies the pending migrations; returns how many were applied.
    fn run_migrations(&mut self) -> anyhow::Result<usize>;
}

/// A checked-out connection of either backend.
enum Pooled {
    Postgres(PooledConnection<Manager<PgConnection>>),
    Sqlite(PooledConnection<Manager<SqliteConnection>>),
}

impl Pooled {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Postgres(conn) => Conn::Postgres(conn),
            Self::Sqlite(conn) => Conn::Sqlite(conn),
        }
    }

    /// Retires the connection once the pool gets it back.
    fn mark_broken(&mut self) {
        match self {
            Self::Postgres(conn) => conn.mark_broken(),
            Self::Sqlite(conn) => conn.mark_broken(),
        }
    }
}

impl DbPool {
    fn checkout(&self) -> Result<Pooled, diesel::r2d2::PoolError> {
        Ok(match self {
            Self::Postgres(pool) => Pooled::Postgres(pool::checkout(pool)?),
            Self::Sqlite(pool) => Pooled::Sqlite(pool::checkout(pool)?),
        })
    }

    /// A checkout not counted among the waiting callers (see [`pool::checkout_uncounted`]).
    fn checkout_uncounted(&self) -> Result<Pooled, diesel::r2d2::PoolError> {
        Ok(match self {
            Self::Postgres(pool) => Pooled::Postgres(pool::checkout_uncounted(pool)?),
            Self::Sqlite(pool) => Pooled::Sqlite(pool::checkout_uncounted(pool)?),
        })
    }

    fn state(&self) -> ports::PoolState {
        match self {
            Self::Postgres(pool) => pool::pool_state(pool),
            Self::Sqlite(pool) => pool::pool_state(pool),
        }
    }
}

/// The store: customers, their mail outbox and accounts, on either backend.
#[derive(Clone)]
pub struct Store {
    pool: DbPool,
    /// Customers read by id, batched (see [`batches`]).
    by_id: Arc<batches::Batched<uuid::Uuid, rows::CustomerRow>>,
    /// Pages of customers, batched.
    pages: Arc<batches::Batched<customers::Page, Vec<rows::CustomerRow>>>,
    /// Duplicate checks (is this address taken in this account?), batched.
    addresses: Arc<batches::Batched<customers::Address, ()>>,
    /// Registrations, written in batches of one transaction each.
    registrations:
        Arc<batches::Batched<batches::Unique<customers::Registration>, customers::Registered>>,
}

impl Store {
    /// Wraps a pool; [`Store::run_migrations`] brings its database up to date.
    pub fn new(pool: DbPool) -> Self {
        // Read once: finding the cores available reads the process's cgroup files.
        let lookups = lookup_batches();
        Self {
            pool,
            by_id: Arc::new(
                batches::Batched::new(customers::read_by_id, LOOKUPS_PER_BATCH).at_most(lookups),
            ),
            pages: Arc::new(batches::Batched::new(
                customers::read_pages,
                PAGES_PER_BATCH,
            )),
            addresses: Arc::new(
                batches::Batched::new(customers::read_addresses, LOOKUPS_PER_BATCH)
                    .at_most(lookups),
            ),
            registrations: Arc::new(
                batches::Batched::new(customers::write_registrations, REGISTRATIONS_PER_BATCH)
                    .at_most(REGISTRATION_BATCHES),
            ),
        }
    }

    /// Opens a pool to the PostgreSQL database at `url`, failing fast when it does not
    /// answer.
    pub fn connect_postgres(url: &str, settings: &PoolSettings) -> anyhow::Result<Self> {
        postgres::connect(url, settings).map(|pool| Self::new(DbPool::Postgres(pool)))
    }

    /// Opens (creating it and its directory when missing) the SQLite file at `path`.
    pub fn connect_sqlite(path: &Path, settings: &PoolSettings) -> anyhow::Result<Self> {
        sqlite::connect(path, settings).map(|pool| Self::new(DbPool::Sqlite(pool)))
    }

    /// Applies pending migrations (blocking); returns how many were applied.
    pub fn run_migrations(&self) -> anyhow::Result<usize> {
        let mut pooled = self
            .pool
            .checkout()
            .context("no database connection for migrations")?;
        let conn = pooled.conn();
        per_backend!(conn => conn.run_migrations())
    }

    /// The backend's name, as spans and logs show it.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            DbPool::Postgres(_) => "postgresql",
            DbPool::Sqlite(_) => "sqlite",
        }
    }

    /// Runs `work` with a pooled connection on the blocking thread pool: Diesel is
    /// synchronous, and neither the checkout nor the query may stall an async worker.
    async fn run<T, F>(&self, work: F) -> Result<T, RepositoryError>
    where
        T: Send + 'static,
        F: FnOnce(Conn<'_>) -> QueryResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut pooled = pool.checkout().map_err(|e| {
                RepositoryError::Unavailable(
                    anyhow::Error::new(e).context("no database connection available"),
                )
            })?;
            let done = work(pooled.conn());
            if done.as_ref().is_err_and(pool::connection_lost) {
                pooled.mark_broken();
            }
            done.map_err(map_diesel_error)
        })
        .await
        .map_err(|e| {
            RepositoryError::Unexpected(anyhow::Error::new(e).context("database task failed"))
        })?
    }
}

/// Translates a Diesel error (its own, or one shared by a batch's answer) into the port's
/// terms: the e-mail unique index becomes [`RepositoryError::Duplicate`], a lost connection
/// becomes `Unavailable`.
fn map_diesel_error<E>(error: E) -> RepositoryError
where
    E: std::borrow::Borrow<DieselError> + Into<anyhow::Error>,
{
    let found: &DieselError = error.borrow();
    let duplicate = matches!(
        found,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(EMAIL_UNIQUE_INDEX)
                || info.message().contains(EMAIL_UNIQUE_INDEX)
    );
    if duplicate {
        RepositoryError::Duplicate
    } else if pool::connection_lost(found) {
        RepositoryError::Unavailable(error.into())
    } else {
        RepositoryError::Unexpected(error.into())
    }
}
