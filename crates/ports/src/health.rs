//! What operators ask of the store: is it ready to serve, how busy is its pool, how far
//! behind is each kind of outbox job.

use std::time::Duration;

use async_trait::async_trait;

use crate::{JobKind, RepositoryError};

/// Occupancy of a database connection pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolState {
    /// Connections checked out right now.
    pub in_use: u32,
    /// Open connections waiting to be used.
    pub idle: u32,
    /// Callers waiting for a connection right now.
    pub waiting: u64,
}

/// The jobs of one kind still to be done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// Jobs queued (due now or waiting for a retry).
    pub queued: u64,
    /// Age of the oldest queued job, if any.
    pub oldest_age: Option<Duration>,
}

/// Health and load of the store.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait StoreHealth: Send + Sync + 'static {
    /// `Ok` when the database answers and every migration is applied; otherwise a short
    /// reason fit for an unauthenticated caller (no connection strings, no data).
    async fn readiness(&self) -> Result<(), String>;
    /// The connection pool's occupancy.
    fn pool_state(&self) -> PoolState;
    /// The mail outbox's backlog.
    async fn outbox_backlog(&self) -> Result<OutboxBacklog, RepositoryError>;
    /// The backlog of every kind of outbox job ([`JobKind::ALL`]).
    async fn outbox_backlogs(&self) -> Result<Vec<(JobKind, OutboxBacklog)>, RepositoryError>;
}
