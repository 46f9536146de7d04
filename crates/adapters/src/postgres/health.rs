//! Readiness, pool occupancy and outbox backlog on PostgreSQL.

use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable};
use ports::{OutboxBacklog, PoolState, RepositoryError, StoreHealth};

use super::{PgStore, MIGRATIONS};
use crate::db::{pool_state, readiness, run_blocking};

#[derive(QueryableByName)]
struct Backlog {
    #[diesel(sql_type = BigInt)]
    queued: i64,
    #[diesel(sql_type = Nullable<Double>)]
    oldest_seconds: Option<f64>,
}

#[async_trait]
impl StoreHealth for PgStore {
    async fn readiness(&self) -> Result<(), String> {
        readiness(&self.pool, MIGRATIONS).await
    }

    fn pool_state(&self) -> PoolState {
        pool_state(&self.pool)
    }

    async fn outbox_backlog(&self) -> Result<OutboxBacklog, RepositoryError> {
        let backlog = run_blocking(&self.pool, |conn| {
            diesel::sql_query(
                "SELECT count(*) AS queued,
                        EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest_seconds
                   FROM kyc_mail_jobs WHERE status = 'queued'",
            )
            .get_result::<Backlog>(conn)
        })
        .await?;
        Ok(OutboxBacklog {
            queued: u64::try_from(backlog.queued).unwrap_or(0),
            oldest_age: backlog
                .oldest_seconds
                .map(|s| Duration::from_secs_f64(s.max(0.0))),
        })
    }
}
