//! The KYC-mail outbox: due jobs are claimed with a lease, so a crashed worker's jobs come
//! back and no two claimers hold one job at once. How claimers are kept apart is each
//! backend's own (`StoreConnection::lock_due_mail_jobs`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::Text;
use domain::CustomerId;
use ports::{KycMailJob, MailOutbox, RepositoryError};

use super::rows::ClaimedJobRow;
use super::schema::{customers, kyc_mail_jobs};
use super::sql_types::{Id, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

/// The ids of up to `limit` jobs due at `now` and not leased, oldest due first.
#[diesel::dsl::auto_type]
pub(crate) fn due_mail_jobs(now: Timestamp, limit: i64) -> _ {
    // A literal, not a bound parameter: only `status = 'queued'` spelled out lets SQLite
    // (and a generic PostgreSQL plan) use the partial index on queued jobs.
    let queued: SqlLiteral<Text> = diesel::dsl::sql("'queued'");
    kyc_mail_jobs::table
        .filter(kyc_mail_jobs::status.eq(queued))
        .filter(kyc_mail_jobs::next_attempt_at.le(now))
        .filter(
            kyc_mail_jobs::locked_until
                .is_null()
                .or(kyc_mail_jobs::locked_until.lt(now)),
        )
        .order(kyc_mail_jobs::next_attempt_at.asc())
        .limit(limit)
        .select(kyc_mail_jobs::customer_id)
}

/// What the outbox keeps of a job's failure: enough to diagnose, bounded in size.
fn truncate_error(error: String) -> String {
    const MAX: usize = 2000;
    if error.len() <= MAX {
        return error;
    }
    let mut end = MAX;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    error[..end].to_owned()
}

#[async_trait]
impl MailOutbox for Store {
    #[tracing::instrument(name = "store.claim_mail_jobs", skip_all, fields(db.backend = self.backend()))]
    async fn claim_due(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<KycMailJob>, RepositoryError> {
        let lease =
            TimeDelta::from_std(lease).map_err(|e| RepositoryError::Unexpected(e.into()))?;
        let rows: Vec<ClaimedJobRow> = self
            .run(move |conn| {
                per_backend!(conn => conn.write_transaction(|conn| {
                    let now = Utc::now();
                    let ids =
                        conn.lock_due_mail_jobs(due_mail_jobs(Timestamp(now), i64::from(limit)))?;
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    diesel::update(
                        kyc_mail_jobs::table.filter(kyc_mail_jobs::customer_id.eq_any(&ids)),
                    )
                    .set((
                        kyc_mail_jobs::locked_until.eq(Timestamp(now + lease)),
                        kyc_mail_jobs::attempts.eq(kyc_mail_jobs::attempts + 1),
                    ))
                    .execute(conn)?;
                    kyc_mail_jobs::table
                        .inner_join(customers::table)
                        .filter(kyc_mail_jobs::customer_id.eq_any(&ids))
                        .select(ClaimedJobRow::as_select())
                        .load(conn)
                }))
            })
            .await?;
        Ok(rows.into_iter().map(ClaimedJobRow::into_job).collect())
    }

    #[tracing::instrument(name = "store.mark_mail_sent", skip_all, fields(db.backend = self.backend(), customer_id = %customer_id))]
    async fn mark_sent(&self, customer_id: CustomerId) -> Result<(), RepositoryError> {
        self.run(move |conn| {
            per_backend!(conn => conn.write_transaction(|conn| {
                diesel::update(kyc_mail_jobs::table.find(Id(customer_id.0)))
                    .set((
                        kyc_mail_jobs::status.eq("sent"),
                        kyc_mail_jobs::sent_at.eq(Timestamp(Utc::now())),
                        kyc_mail_jobs::locked_until.eq(None::<Timestamp>),
                        kyc_mail_jobs::last_error.eq(None::<String>),
                    ))
                    .execute(conn)?;
                diesel::update(customers::table.find(Id(customer_id.0)))
                    .set(customers::kyc_mail_status.eq("sent"))
                    .execute(conn)
                    .map(drop)
            }))
        })
        .await
    }

    #[tracing::instrument(name = "store.mark_mail_retry", skip_all, fields(db.backend = self.backend(), customer_id = %customer_id))]
    async fn mark_retry(
        &self,
        customer_id: CustomerId,
        error: String,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let update = diesel::update(kyc_mail_jobs::table.find(Id(customer_id.0))).set((
            kyc_mail_jobs::next_attempt_at.eq(Timestamp(next_attempt_at)),
            kyc_mail_jobs::locked_until.eq(None::<Timestamp>),
            kyc_mail_jobs::last_error.eq(Some(truncate_error(error))),
        ));
        self.run(move |conn| per_backend!(conn => update.execute(conn).map(drop)))
            .await
    }

    #[tracing::instrument(name = "store.mark_mail_failed", skip_all, fields(db.backend = self.backend(), customer_id = %customer_id))]
    async fn mark_failed(
        &self,
        customer_id: CustomerId,
        error: String,
    ) -> Result<(), RepositoryError> {
        let error = truncate_error(error);
        self.run(move |conn| {
            per_backend!(conn => conn.write_transaction(|conn| {
                diesel::update(kyc_mail_jobs::table.find(Id(customer_id.0)))
                    .set((
                        kyc_mail_jobs::status.eq("failed"),
                        kyc_mail_jobs::locked_until.eq(None::<Timestamp>),
                        kyc_mail_jobs::last_error.eq(Some(&error)),
                    ))
                    .execute(conn)?;
                diesel::update(customers::table.find(Id(customer_id.0)))
                    .set(customers::kyc_mail_status.eq("failed"))
                    .execute(conn)
                    .map(drop)
            }))
        })
        .await
    }

    async fn queued(&self) -> Result<(u64, Option<DateTime<Utc>>), RepositoryError> {
        let query = kyc_mail_jobs::table
            .filter(kyc_mail_jobs::status.eq("queued"))
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::min(kyc_mail_jobs::created_at),
            ));
        let (count, oldest): (i64, Option<Timestamp>) = self
            .run(move |conn| per_backend!(conn => query.first(conn)))
            .await?;
        Ok((u64::try_from(count).unwrap_or(0), oldest.map(|t| t.0)))
    }
}
