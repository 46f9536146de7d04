//! Connection pools: their sizing, how they are opened, and checking a connection out
//! while counting who waits for one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, ManageConnection, Pool, PooledConnection,
    R2D2Connection,
};

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
    manager: ConnectionManager<C>,
    settings: &PoolSettings,
    customizer: Option<Box<dyn CustomizeConnection<C, diesel::r2d2::Error>>>,
) -> anyhow::Result<Pool<ConnectionManager<C>>> {
    let mut builder = Pool::builder()
        .max_size(settings.max_size)
        .min_idle(Some(1))
        .connection_timeout(settings.connection_timeout)
        .test_on_check_out(true);
    if let Some(customizer) = customizer {
        builder = builder.connection_customizer(customizer);
    }
    builder
        .build(manager)
        .context("could not open a database connection")
}
