//! The outbox: due jobs of a kind are claimed with a lease, so a crashed worker's jobs come
//! back and no two claimers hold one job at once (how claimers are kept apart is each
//! backend's own: `StoreConnection::lock_due_jobs`); an outcome and its effects are
//! written in one transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::Text;
use ports::{
    AttemptReport, ClaimRequest, Effects, JobEnd, JobId, JobKind, Outbox, OutboxBacklog, OutboxJob,
    RepositoryError,
};

use super::events::write_events;
use super::rows::ClaimedJobRow;
use super::schema::{customers, outbox_jobs};
use super::sql_types::{Id, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

/// Up to `limit` jobs of `kind` due at `now` and not leased, oldest due first: their ids
/// and endpoints.
#[diesel::dsl::auto_type]
pub(crate) fn due_jobs(kind: &'static str, now: Timestamp, limit: i64) -> _ {
    // A literal, not a bound parameter: only `status = 'queued'` spelled out lets SQLite
    // (and a generic PostgreSQL plan) use the partial index on queued jobs.
    let queued: SqlLiteral<Text> = diesel::dsl::sql("'queued'");
    outbox_jobs::table
        .filter(outbox_jobs::kind.eq(kind))
        .filter(outbox_jobs::status.eq(queued))
        .filter(outbox_jobs::next_attempt_at.le(now))
        .filter(
            outbox_jobs::locked_until
                .is_null()
                .or(outbox_jobs::locked_until.lt(now)),
        )
        .order(outbox_jobs::next_attempt_at.asc())
        .limit(limit)
        .select((outbox_jobs::id, outbox_jobs::endpoint_id))
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

/// Picks, in due order, at most `limit` candidates such that no endpoint has more than
/// `cap` jobs leased at once, counting the ones already `leased` by any claimer.
fn pick_per_endpoint(
    candidates: Vec<(Id, Option<Id>)>,
    leased: Vec<(Option<Id>, i64)>,
    cap: u32,
    limit: usize,
) -> Vec<Id> {
    let mut held: HashMap<uuid::Uuid, i64> = leased
        .into_iter()
        .filter_map(|(endpoint, n)| endpoint.map(|e| (e.0, n)))
        .collect();
    let mut picked = Vec::new();
    for (id, endpoint) in candidates {
        if picked.len() == limit {
            break;
        }
        if let Some(endpoint) = endpoint {
            let count = held.entry(endpoint.0).or_insert(0);
            if *count >= i64::from(cap) {
                continue;
            }
            *count += 1;
        }
        picked.push(id);
    }
    picked
}

#[async_trait]
impl Outbox for Store {
    #[tracing::instrument(name = "store.claim_jobs", skip_all, fields(db.backend = self.backend(), kind = request.kind.as_str()))]
    async fn claim(&self, request: &ClaimRequest) -> Result<Vec<OutboxJob>, RepositoryError> {
        let lease = TimeDelta::from_std(request.lease)
            .map_err(|e| RepositoryError::Unexpected(e.into()))?;
        let ClaimRequest {
            kind,
            limit,
            per_endpoint,
            ..
        } = *request;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        // With a per-endpoint bound some candidates may be passed over: look further ahead.
        let fetch = if per_endpoint.is_some() {
            limit.saturating_mul(4)
        } else {
            limit
        };
        let fetch = i64::try_from(fetch).unwrap_or(i64::MAX);
        let rows: Vec<ClaimedJobRow> = self
            .run(move |conn| {
                per_backend!(conn => conn.write_transaction(|conn| {
                    let now = Timestamp(Utc::now());
                    let candidates = conn.lock_due_jobs(due_jobs(kind.as_str(), now, fetch))?;
                    let picked = match per_endpoint {
                        None => candidates.into_iter().take(limit).map(|(id, _)| id).collect(),
                        Some(cap) => {
                            let endpoints: Vec<Id> =
                                candidates.iter().filter_map(|(_, e)| *e).collect();
                            let leased: Vec<(Option<Id>, i64)> = outbox_jobs::table
                                .filter(outbox_jobs::status.eq("queued"))
                                .filter(outbox_jobs::locked_until.gt(now))
                                .filter(outbox_jobs::endpoint_id.eq_any(&endpoints))
                                .group_by(outbox_jobs::endpoint_id)
                                .select((outbox_jobs::endpoint_id, diesel::dsl::count_star()))
                                .load(conn)?;
                            pick_per_endpoint(candidates, leased, cap, limit)
                        }
                    };
                    if picked.is_empty() {
                        return Ok(Vec::new());
                    }
                    diesel::update(outbox_jobs::table.filter(outbox_jobs::id.eq_any(&picked)))
                        .set((
                            outbox_jobs::locked_until.eq(Timestamp(now.0 + lease)),
                            outbox_jobs::attempts.eq(outbox_jobs::attempts + 1),
                        ))
                        .execute(conn)?;
                    outbox_jobs::table
                        .filter(outbox_jobs::id.eq_any(&picked))
                        .order(outbox_jobs::next_attempt_at.asc())
                        .select(ClaimedJobRow::as_select())
                        .load(conn)
                }))
            })
            .await?;
        rows.into_iter().map(ClaimedJobRow::into_job).collect()
    }

    #[tracing::instrument(name = "store.finish_job", skip_all, fields(db.backend = self.backend(), job_id = %job))]
    async fn finish(
        &self,
        job: JobId,
        report: AttemptReport,
        effects: Effects,
    ) -> Result<(), RepositoryError> {
        let at = Timestamp(report.at);
        let (status, next_attempt_at, finished_at) = match report.end {
            JobEnd::Delivered => ("delivered", None, Some(at)),
            JobEnd::RetryAt(next) => ("queued", Some(Timestamp(next)), None),
            JobEnd::Failed => ("failed", None, Some(at)),
        };
        let error = report.error.map(truncate_error);
        let http_status = report.http_status.map(i32::from);
        self.run(move |conn| {
            per_backend!(conn => conn.write_transaction(|conn| {
                let row = outbox_jobs::table.find(Id(job.0));
                let recorded = diesel::update(row)
                    .set((
                        outbox_jobs::status.eq(status),
                        outbox_jobs::locked_until.eq(None::<Timestamp>),
                        outbox_jobs::last_error.eq(&error),
                        outbox_jobs::last_http_status.eq(http_status),
                        outbox_jobs::finished_at.eq(finished_at),
                    ))
                    .execute(conn)?;
                // The job was cancelled while its attempt ran (its customer erased, or a
                // new address queued a new mail): the attempt's effects would write
                // about a customer that is gone, or over the mail that replaced it.
                if recorded == 0 {
                    return Ok(());
                }
                if let Some(next) = next_attempt_at {
                    diesel::update(row)
                        .set(outbox_jobs::next_attempt_at.eq(next))
                        .execute(conn)?;
                }
                if let Some((customer, mail_status)) = effects.kyc_mail_status {
                    diesel::update(customers::table.find(Id(customer.0)))
                        .set((
                            customers::kyc_mail_status.eq(mail_status.as_str()),
                            customers::version.eq(customers::version + 1),
                            customers::updated_at.eq(Some(at)),
                        ))
                        .execute(conn)?;
                }
                write_events!(conn, &effects.events)
            }))
        })
        .await
    }

    #[tracing::instrument(name = "store.release_jobs", skip_all, fields(db.backend = self.backend(), jobs = jobs.len()))]
    async fn release(&self, jobs: Vec<JobId>) -> Result<(), RepositoryError> {
        let ids: Vec<Id> = jobs.into_iter().map(|j| Id(j.0)).collect();
        let update = diesel::update(
            outbox_jobs::table
                .filter(outbox_jobs::id.eq_any(ids))
                .filter(outbox_jobs::attempts.gt(0)),
        )
        .set((
            outbox_jobs::locked_until.eq(None::<Timestamp>),
            outbox_jobs::attempts.eq(outbox_jobs::attempts - 1),
        ));
        self.run(move |conn| per_backend!(conn => update.execute(conn).map(drop)))
            .await
    }

    async fn backlog(&self, kind: JobKind) -> Result<OutboxBacklog, RepositoryError> {
        let query = outbox_jobs::table
            .filter(outbox_jobs::kind.eq(kind.as_str()))
            .filter(outbox_jobs::status.eq("queued"))
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::min(outbox_jobs::created_at),
            ));
        let (count, oldest): (i64, Option<Timestamp>) = self
            .run(move |conn| per_backend!(conn => query.first(conn)))
            .await?;
        Ok(OutboxBacklog {
            queued: u64::try_from(count).unwrap_or(0),
            // A job stamped by a clock slightly ahead is as old as can be: not at all.
            oldest_age: oldest.map(|t| (Utc::now() - t.0).to_std().unwrap_or_default()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn id(n: u128) -> Id {
        Id(Uuid::from_u128(n))
    }

    #[test]
    fn no_endpoint_gets_more_than_its_share_of_leases() {
        let (a, b) = (id(100), id(200));
        let candidates = vec![
            (id(1), Some(a)),
            (id(2), Some(a)),
            (id(3), Some(b)),
            (id(4), Some(a)),
            (id(5), None),
            (id(6), Some(b)),
        ];
        // `a` already has one job leased elsewhere; the cap is two.
        let picked = pick_per_endpoint(candidates.clone(), vec![(Some(a), 1)], 2, 10);
        assert_eq!(picked, vec![id(1), id(3), id(5), id(6)]);
        // The limit still holds, in due order.
        assert_eq!(
            pick_per_endpoint(candidates, vec![], 2, 3),
            vec![id(1), id(2), id(3)]
        );
    }
}
