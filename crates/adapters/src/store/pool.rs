//! Connection pools: their sizing, how they are opened, checking a connection out while
//! counting who waits for one, and retiring a connection a query found broken.
//!
//! A checkout does not test the connection with a query first (r2d2's
//! `test_on_check_out`): that was one extra round trip in front of every statement, as
//! costly as the statement itself for a lookup by key. A connection that died while idle
//! is found by the statement that uses it instead: that request fails as unavailable
//! (`503`), the connection is marked broken ([`Tracked::mark_broken`]) and r2d2 drops it
//! on return and opens a fresh one.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, ManageConnection, Pool, PooledConnection,
    R2D2Connection,
};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Connection-pool sizing, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub max_size: u32,
    /// How long a request waits for a free connection before it fails as unavailable.
    pub connection_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 10,
            connection_timeout: Duration::from_secs(2),
        }
    }
}

/// A pooled connection and whether a statement found it unusable.
pub struct Tracked<C> {
    conn: C,
    broken: bool,
}

impl<C> Tracked<C> {
    /// Retires the connection: the pool drops it when it comes back instead of lending
    /// it out again.
    pub(super) fn mark_broken(&mut self) {
        self.broken = true;
    }
}

impl<C> Deref for Tracked<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.conn
    }
}

impl<C> DerefMut for Tracked<C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.conn
    }
}

/// Diesel's connection manager, with connections a statement found broken dropped on
/// return.
pub struct Manager<C: R2D2Connection>(ConnectionManager<C>);

impl<C: R2D2Connection + 'static> Manager<C> {
    /// A manager opening connections to `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self(ConnectionManager::new(url))
    }
}

impl<C: R2D2Connection + Send + 'static> ManageConnection for Manager<C> {
    type Connection = Tracked<C>;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Self::Connection, Self::Error> {
        self.0.connect().map(|conn| Tracked {
            conn,
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        self.0.is_valid(&mut conn.conn)
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        conn.broken || self.0.has_broken(&mut conn.conn)
    }
}

/// Whether `error` means the connection itself is gone (the server closed it, the
/// network dropped it), as opposed to a statement that failed on a healthy connection.
pub(super) fn connection_lost(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

/// Callers waiting for a pooled connection, across the process's pools.
static WAITING: AtomicU64 = AtomicU64::new(0);

/// Checks a connection out of `pool`, counted among the waiting callers meanwhile.
pub(super) fn checkout<M: ManageConnection>(
    pool: &Pool<M>,
) -> Result<PooledConnection<M>, diesel::r2d2::PoolError> {
    WAITING.fetch_add(1, Ordering::Relaxed);
    let checkout = pool.get();
    WAITING.fetch_sub(1, Ordering::Relaxed);
    checkout
}

/// Checks a connection out of `pool` without counting a waiting caller: for a task whose
/// callers are counted already (reads waiting in a batch, see `batches`).
pub(super) fn checkout_uncounted<M: ManageConnection>(
    pool: &Pool<M>,
) -> Result<PooledConnection<M>, diesel::r2d2::PoolError> {
    pool.get()
}

/// Counts `change` more (or, negative, fewer) callers waiting for a pooled connection.
pub(super) fn count_waiting(change: i64) {
    let size = change.unsigned_abs();
    if change >= 0 {
        WAITING.fetch_add(size, Ordering::Relaxed);
    } else {
        WAITING.fetch_sub(size, Ordering::Relaxed);
    }
}

/// A pool's occupancy, with the process-wide count of waiting callers.
pub(super) fn pool_state<M: ManageConnection>(pool: &Pool<M>) -> ports::PoolState {
    let state = pool.state();
    ports::PoolState {
        in_use: state.connections.saturating_sub(state.idle_connections),
        idle: state.idle_connections,
        waiting: WAITING.load(Ordering::Relaxed),
    }
}

/// Opens a pool whose `build` proves the database answers, naming the failure otherwise.
pub(super) fn build_pool<C: R2D2Connection + 'static>(
    manager: Manager<C>,
    settings: &PoolSettings,
    customizer: Option<Box<dyn CustomizeConnection<Tracked<C>, diesel::r2d2::Error>>>,
) -> anyhow::Result<Pool<Manager<C>>> {
    let mut builder = Pool::builder()
        .max_size(settings.max_size)
        .min_idle(Some(1))
        .connection_timeout(settings.connection_timeout)
        .test_on_check_out(false);
    if let Some(customizer) = customizer {
        builder = builder.connection_customizer(customizer);
    }
    builder
        .build(manager)
        .context("could not open a database connection")
}
