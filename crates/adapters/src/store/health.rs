//! What operators ask of the store: readiness, pool occupancy, outbox backlogs; and its
//! planner statistics.

use async_trait::async_trait;
use ports::{
    JobKind, Outbox as _, OutboxBacklog, PoolState, RepositoryError, StoreHealth, StoreStatistics,
};

use super::{per_backend, Store, StoreConnection as _};

#[async_trait]
impl StoreHealth for Store {
    /// Ready when the database answers and no embedded migration is pending. The reason
    /// is fit for unauthenticated callers.
    async fn readiness(&self) -> Result<(), String> {
        let pending = self
            .run(|conn| per_backend!(conn => conn.has_pending_migrations()))
            .await;
        match pending {
            Ok(false) => Ok(()),
            Ok(true) => Err("database migrations are pending".into()),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                Err("database unreachable".into())
            }
        }
    }

    fn pool_state(&self) -> PoolState {
        self.pool.state()
    }

    async fn outbox_backlog(&self) -> Result<OutboxBacklog, RepositoryError> {
        self.backlog(JobKind::KycMail).await
    }

    async fn outbox_backlogs(&self) -> Result<Vec<(JobKind, OutboxBacklog)>, RepositoryError> {
        let mut backlogs = Vec::with_capacity(JobKind::ALL.len());
        for kind in JobKind::ALL {
            backlogs.push((kind, self.backlog(kind).await?));
        }
        Ok(backlogs)
    }
}

#[async_trait]
impl StoreStatistics for Store {
    async fn refresh_statistics(&self) -> Result<Vec<String>, RepositoryError> {
        self.run(|conn| per_backend!(conn => conn.refresh_statistics()))
            .await
    }
}
