//! The KYC-mail outbox on PostgreSQL: jobs are claimed with `FOR UPDATE SKIP LOCKED`
//! and a lease, so any number of server instances can deliver side by side.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use domain::CustomerId;
use ports::{KycMailJob, MailOutbox, RepositoryError};
use uuid::Uuid;

use super::schema::{customers, kyc_mail_jobs};
use super::PgStore;
use crate::db::{run_blocking, truncate_error};

/// A new outbox job; `status` and `attempts` take their defaults.
#[derive(Insertable)]
#[diesel(table_name = kyc_mail_jobs, check_for_backend(diesel::pg::Pg))]
pub(super) struct NewMailJobRow {
    pub customer_id: Uuid,
    pub message_id: String,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

type ClaimedRow = (Uuid, String, i32, String, String, String, String);

fn lease_delta(lease: Duration) -> Result<TimeDelta, RepositoryError> {
    TimeDelta::from_std(lease).map_err(|e| RepositoryError::Unexpected(e.into()))
}

#[async_trait]
impl MailOutbox for PgStore {
    #[tracing::instrument(name = "pg.claim_mail_jobs", skip_all)]
    async fn claim_due(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<KycMailJob>, RepositoryError> {
        let lease = lease_delta(lease)?;
        let rows: Vec<ClaimedRow> = run_blocking(&self.pool, move |conn| {
            conn.transaction(|conn| {
                let now = Utc::now();
                let ids: Vec<Uuid> = kyc_mail_jobs::table
                    .filter(kyc_mail_jobs::status.eq("queued"))
                    .filter(kyc_mail_jobs::next_attempt_at.le(now))
                    .filter(
                        kyc_mail_jobs::locked_until
                            .is_null()
                            .or(kyc_mail_jobs::locked_until.lt(now)),
                    )
                    .order(kyc_mail_jobs::next_attempt_at.asc())
                    .limit(i64::from(limit))
                    .select(kyc_mail_jobs::customer_id)
                    .for_update()
                    .skip_locked()
                    .load(conn)?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                diesel::update(
                    kyc_mail_jobs::table.filter(kyc_mail_jobs::customer_id.eq_any(&ids)),
                )
                .set((
                    kyc_mail_jobs::locked_until.eq(now + lease),
                    kyc_mail_jobs::attempts.eq(kyc_mail_jobs::attempts + 1),
                ))
                .execute(conn)?;
                kyc_mail_jobs::table
                    .inner_join(customers::table)
                    .filter(kyc_mail_jobs::customer_id.eq_any(&ids))
                    .select((
                        kyc_mail_jobs::customer_id,
                        kyc_mail_jobs::message_id,
                        kyc_mail_jobs::attempts,
                        customers::email,
                        customers::full_name,
                        customers::kyc_link,
                        customers::tos_link,
                    ))
                    .load(conn)
            })
        })
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, message_id, attempts, to, full_name, kyc_link, tos_link)| KycMailJob {
                    customer_id: CustomerId(id),
                    message_id,
                    attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
                    to,
                    full_name,
                    kyc_link,
                    tos_link,
                },
            )
            .collect())
    }

    #[tracing::instrument(name = "pg.mark_mail_sent", skip_all, fields(customer_id = %customer_id))]
    async fn mark_sent(&self, customer_id: CustomerId) -> Result<(), RepositoryError> {
        run_blocking(&self.pool, move |conn| {
            conn.transaction(|conn| {
                diesel::update(kyc_mail_jobs::table.find(customer_id.0))
                    .set((
                        kyc_mail_jobs::status.eq("sent"),
                        kyc_mail_jobs::sent_at.eq(Some(Utc::now())),
                        kyc_mail_jobs::locked_until.eq(None::<DateTime<Utc>>),
                        kyc_mail_jobs::last_error.eq(None::<String>),
                    ))
                    .execute(conn)?;
                diesel::update(customers::table.find(customer_id.0))
                    .set(customers::kyc_mail_status.eq("sent"))
                    .execute(conn)
                    .map(drop)
            })
        })
        .await
    }

    #[tracing::instrument(name = "pg.mark_mail_retry", skip_all, fields(customer_id = %customer_id))]
    async fn mark_retry(
        &self,
        customer_id: CustomerId,
        error: String,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let error = truncate_error(error);
        run_blocking(&self.pool, move |conn| {
            diesel::update(kyc_mail_jobs::table.find(customer_id.0))
                .set((
                    kyc_mail_jobs::next_attempt_at.eq(next_attempt_at),
                    kyc_mail_jobs::locked_until.eq(None::<DateTime<Utc>>),
                    kyc_mail_jobs::last_error.eq(Some(error)),
                ))
                .execute(conn)
                .map(drop)
        })
        .await
    }

    #[tracing::instrument(name = "pg.mark_mail_failed", skip_all, fields(customer_id = %customer_id))]
    async fn mark_failed(
        &self,
        customer_id: CustomerId,
        error: String,
    ) -> Result<(), RepositoryError> {
        let error = truncate_error(error);
        run_blocking(&self.pool, move |conn| {
            conn.transaction(|conn| {
                diesel::update(kyc_mail_jobs::table.find(customer_id.0))
                    .set((
                        kyc_mail_jobs::status.eq("failed"),
                        kyc_mail_jobs::locked_until.eq(None::<DateTime<Utc>>),
                        kyc_mail_jobs::last_error.eq(Some(error)),
                    ))
                    .execute(conn)?;
                diesel::update(customers::table.find(customer_id.0))
                    .set(customers::kyc_mail_status.eq("failed"))
                    .execute(conn)
                    .map(drop)
            })
        })
        .await
    }

    async fn queued(&self) -> Result<(u64, Option<DateTime<Utc>>), RepositoryError> {
        let (count, oldest): (i64, Option<DateTime<Utc>>) = run_blocking(&self.pool, |conn| {
            kyc_mail_jobs::table
                .filter(kyc_mail_jobs::status.eq("queued"))
                .select((
                    diesel::dsl::count_star(),
                    diesel::dsl::min(kyc_mail_jobs::created_at),
                ))
                .first(conn)
        })
        .await?;
        Ok((u64::try_from(count).unwrap_or(0), oldest))
    }
}
