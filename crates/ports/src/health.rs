//! What operators ask of the store: is it ready to serve, how busy is its pool, how far
//! behind is each kind of outbox job; and the store's own upkeep: its planner statistics.

use std::sync::Arc;
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

/// The database's planner statistics, kept current by the service itself.
///
/// The service's statements are shaped to keep their index whatever the statistics say
/// (`tests/it/plans.rs`), but some plans still depend on them: without any, PostgreSQL
/// guesses a table's rows from its size on disk, and with a few thousand customers it
/// guessed that a page of the listing was cheaper to sort than to read in index order
/// (measured: 5.8 ms instead of 0.09 ms a page). Autovacuum would gather them, but it can
/// be off or late after a bulk import, and the service must not depend on it.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait StoreStatistics: Send + Sync + 'static {
    /// Gathers the statistics of the service's tables that changed much since theirs were
    /// last gathered (autovacuum's rule: 50 rows and a tenth of the table); returns the
    /// tables it refreshed.
    async fn refresh_statistics(&self) -> Result<Vec<String>, RepositoryError>;
}

/// Refreshes the store's planner statistics periodically.
pub struct StatisticsRefresh {
    store: Arc<dyn StoreStatistics>,
    every: Duration,
}

impl StatisticsRefresh {
    /// Looks every `every`.
    pub fn new(store: Arc<dyn StoreStatistics>, every: Duration) -> Self {
        Self { store, every }
    }

    /// One look; returns the tables refreshed.
    pub async fn run_once(&self) -> Result<Vec<String>, RepositoryError> {
        let refreshed = self.store.refresh_statistics().await?;
        if !refreshed.is_empty() {
            tracing::info!(tables = ?refreshed, "refreshed the planner statistics");
        }
        Ok(refreshed)
    }

    /// Runs at once and then every `every` until `shutdown` turns true (or its sender goes).
    pub async fn run(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        crate::periodic::every(self.every, shutdown, || async {
            if let Err(e) = self.run_once().await {
                tracing::warn!(error = %e, "could not refresh the planner statistics");
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_refresh_runs_at_once_and_then_every_period_until_shutdown() {
        let mut store = MockStoreStatistics::new();
        store
            .expect_refresh_statistics()
            .times(2..)
            .returning(|| Ok(vec!["customers".to_owned()]));
        let refresh = StatisticsRefresh::new(Arc::new(store), Duration::from_millis(10));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(refresh.run(stopped));
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .expect("the refresh stops on shutdown")
            .unwrap();
    }

    #[tokio::test]
    async fn a_failed_refresh_is_reported_and_the_next_one_still_runs() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let mut store = MockStoreStatistics::new();
        store.expect_refresh_statistics().returning(move || {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(RepositoryError::Unavailable(anyhow::anyhow!("down")))
            } else {
                Ok(Vec::new())
            }
        });
        let refresh = StatisticsRefresh::new(Arc::new(store), Duration::from_millis(10));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(refresh.run(stopped));
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(true).unwrap();
        running.await.unwrap();
        assert!(
            calls.load(Ordering::SeqCst) >= 2,
            "the loop went on after the failure"
        );
    }
}
