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

/// Up to `limit` webhook deliveries due at `now` and not leased, oldest due first, whose
/// endpoint is not one of `full` (those already at their share of leases): their ids and
/// endpoints. `full` is never empty (see [`claim_deliveries`]).
#[diesel::dsl::auto_type]
pub(crate) fn due_deliveries(now: Timestamp, full: Vec<Id>, limit: i64) -> _ {
    let queued: SqlLiteral<Text> = diesel::dsl::sql("'queued'");
    let webhook: &'static str = JobKind::Webhook.as_str();
    outbox_jobs::table
        .filter(outbox_jobs::kind.eq(webhook))
        .filter(outbox_jobs::status.eq(queued))
        .filter(outbox_jobs::next_attempt_at.le(now))
        .filter(
            outbox_jobs::locked_until
                .is_null()
                .or(outbox_jobs::locked_until.lt(now)),
        )
        .filter(outbox_jobs::endpoint_id.ne_all(full))
        .order(outbox_jobs::next_attempt_at.asc())
        .limit(limit)
        .select((outbox_jobs::id, outbox_jobs::endpoint_id))
}

/// Webhook deliveries leased now (attempts in flight in any instance), per endpoint.
#[diesel::dsl::auto_type]
fn leased_deliveries(now: Timestamp) -> _ {
    let queued: SqlLiteral<Text> = diesel::dsl::sql("'queued'");
    let webhook: &'static str = JobKind::Webhook.as_str();
    outbox_jobs::table
        .filter(outbox_jobs::kind.eq(webhook))
        .filter(outbox_jobs::status.eq(queued))
        .filter(outbox_jobs::locked_until.gt(now))
        .group_by(outbox_jobs::endpoint_id)
        .select((outbox_jobs::endpoint_id, diesel::dsl::count_star()))
}

/// How many times one claim looks further along the queue of deliveries.
const LOOKS: usize = 4;

/// Picks the webhook deliveries to lease so that no endpoint holds more than `cap` leases
/// at once, across instances, and no endpoint's backlog hides the others' due work:
///
/// - claims of deliveries are serialised (`StoreConnection::serialise_delivery_claims`,
///   taken by the caller:
///   a transaction-scoped advisory lock on PostgreSQL, the one write lock on SQLite), so
///   the leases counted are all the leases there are — row locks alone would let two
///   claimers each see room for the same endpoint;
/// - endpoints already at their share are left out of the candidates in SQL, so a dead
///   receiver with thousands of due deliveries holds `cap` leases and no place in the
///   queue: the deliveries behind it are the candidates (within one claim too: an
///   endpoint that reaches its share is left out of the next look).
fn claim_deliveries<C: super::StoreConnection>(
    conn: &mut C,
    now: Timestamp,
    cap: u32,
    limit: usize,
) -> QueryResult<Vec<Id>>
where
    leased_deliveries: diesel::query_dsl::LoadQuery<'static, C, (Option<Id>, i64)>,
{
    let leased: Vec<(Option<Id>, i64)> = leased_deliveries(now).load(conn)?;
    let mut shares = Shares::new(leased, cap, limit);
    // Each look ahead leaves out the endpoints that reached their share in the looks
    // before, so a backlog of one endpoint costs one more look, not the claim.
    let fetch = limit.saturating_mul(2).max(8);
    for _ in 0..LOOKS {
        let candidates = conn.lock_due_deliveries(due_deliveries(
            now,
            shares.full(),
            i64::try_from(fetch).unwrap_or(i64::MAX),
        ))?;
        let exhausted = candidates.len() < fetch;
        if shares.take(candidates) || exhausted {
            break;
        }
    }
    Ok(shares.picked)
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

/// The deliveries a claim picks, in due order, such that no endpoint holds more than
/// `cap` leases at once, counting those already leased by any claimer.
struct Shares {
    cap: i64,
    limit: usize,
    held: HashMap<uuid::Uuid, i64>,
    picked: Vec<Id>,
}

impl Shares {
    fn new(leased: Vec<(Option<Id>, i64)>, cap: u32, limit: usize) -> Self {
        Self {
            cap: i64::from(cap),
            limit,
            held: leased
                .into_iter()
                .filter_map(|(endpoint, n)| endpoint.map(|e| (e.0, n)))
                .collect(),
            picked: Vec::new(),
        }
    }

    /// The endpoints at their share: never empty (`<> ALL` of an empty list is spelled
    /// differently by each backend; the nil id names no endpoint).
    fn full(&self) -> Vec<Id> {
        let mut full: Vec<Id> = self
            .held
            .iter()
            .filter(|(_, n)| **n >= self.cap)
            .map(|(e, _)| Id(*e))
            .collect();
        if full.is_empty() {
            full.push(Id(uuid::Uuid::nil()));
        }
        full
    }

    /// Takes what it may of `candidates` (due order); true once `limit` are picked.
    fn take(&mut self, candidates: Vec<(Id, Option<Id>)>) -> bool {
        for (id, endpoint) in candidates {
            if self.picked.len() == self.limit {
                break;
            }
            if self.picked.contains(&id) {
                continue;
            }
            if let Some(endpoint) = endpoint {
                let count = self.held.entry(endpoint.0).or_insert(0);
                if *count >= self.cap {
                    continue;
                }
                *count += 1;
            }
            self.picked.push(id);
        }
        self.picked.len() == self.limit
    }
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
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<ClaimedJobRow> = self
            .run(move |conn| {
                per_backend!(conn => conn.write_transaction(|conn| {
                    let deliveries = kind == JobKind::Webhook && per_endpoint.is_some();
                    if deliveries {
                        // Before `now` is read, so that time spent waiting for another
                        // claimer is not taken off the lease.
                        conn.serialise_delivery_claims()?;
                    }
                    let now = Timestamp(Utc::now());
                    let picked: Vec<Id> = match (kind, per_endpoint) {
                        (JobKind::Webhook, Some(cap)) => claim_deliveries(conn, now, cap, limit)?,
                        _ => conn
                            .lock_due_jobs(due_jobs(kind.as_str(), now, fetch))?
                            .into_iter()
                            .map(|(id, _)| id)
                            .collect(),
                    };
                    if picked.is_empty() {
                        return Ok(Vec::new());
                    }
                    // The rows were read locked (or under SQLite's one write lock): they are
                    // still queued and unleased; the conditions are checked again anyway, and
                    // only the rows this claim leased are handed out.
                    let leased_until = Timestamp(now.0 + lease);
                    diesel::update(
                        outbox_jobs::table
                            .filter(outbox_jobs::id.eq_any(&picked))
                            .filter(outbox_jobs::status.eq("queued"))
                            .filter(
                                outbox_jobs::locked_until
                                    .is_null()
                                    .or(outbox_jobs::locked_until.lt(now)),
                            ),
                    )
                    .set((
                        outbox_jobs::locked_until.eq(leased_until),
                        outbox_jobs::attempts.eq(outbox_jobs::attempts + 1),
                    ))
                    .execute(conn)?;
                    outbox_jobs::table
                        .filter(outbox_jobs::id.eq_any(&picked))
                        .filter(outbox_jobs::status.eq("queued"))
                        .filter(outbox_jobs::locked_until.eq(leased_until))
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
        let mut shares = Shares::new(vec![(Some(a), 1)], 2, 10);
        assert!(!shares.take(candidates.clone()));
        assert_eq!(shares.picked, vec![id(1), id(3), id(5), id(6)]);
        let mut full: Vec<uuid::Uuid> = shares.full().into_iter().map(|e| e.0).collect();
        full.sort();
        assert_eq!(full, vec![a.0, b.0]);
        // The limit still holds, in due order.
        let mut limited = Shares::new(vec![], 2, 3);
        assert!(limited.take(candidates));
        assert_eq!(limited.picked, vec![id(1), id(2), id(3)]);
    }

    #[test]
    fn a_second_look_skips_what_the_first_picked_and_names_no_endpoint_when_none_is_full() {
        let a = id(100);
        let mut shares = Shares::new(vec![], 2, 10);
        assert_eq!(shares.full(), vec![id(0)]);
        shares.take(vec![(id(1), Some(a)), (id(2), None)]);
        shares.take(vec![(id(1), Some(a)), (id(2), None), (id(3), Some(a))]);
        assert_eq!(shares.picked, vec![id(1), id(2), id(3)]);
        assert_eq!(shares.full(), vec![a]);
    }
}
