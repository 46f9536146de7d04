//! Readiness, pool occupancy and outbox backlog on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use ports::{OutboxBacklog, PoolState, RepositoryError, StoreHealth};

use super::{SqliteStore, MIGRATIONS};
use crate::db::{pool_state, readiness, run_blocking};

#[derive(QueryableByName)]
struct Backlog {
    #[diesel(sql_type = BigInt)]
    queued: i64,
    #[diesel(sql_type = Nullable<Text>)]
    oldest: Option<String>,
}

#[async_trait]
impl StoreHealth for SqliteStore {
    async fn readiness(&self) -> Result<(), String> {
        readiness(&self.pool, MIGRATIONS).await
    }

    fn pool_state(&self) -> PoolState {
        pool_state(&self.pool)
    }

    async fn outbox_backlog(&self) -> Result<OutboxBacklog, RepositoryError> {
        let backlog = run_blocking(&self.pool, |conn| {
            // Timestamps are fixed-width RFC 3339 UTC text, so min() is the oldest.
            diesel::sql_query(
                "SELECT count(*) AS queued, min(created_at) AS oldest
                   FROM kyc_mail_jobs WHERE status = 'queued'",
            )
            .get_result::<Backlog>(conn)
        })
        .await?;
        let oldest_age = backlog
            .oldest
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .and_then(|t| (Utc::now() - t.with_timezone(&Utc)).to_std().ok());
        Ok(OutboxBacklog {
            queued: u64::try_from(backlog.queued).unwrap_or(0),
            oldest_age,
        })
    }
}
