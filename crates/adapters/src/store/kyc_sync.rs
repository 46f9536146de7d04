//! The poller's queue: customers whose verification has not reached an end and has not
//! been read back for a while are leased to one claimer at a time (how claimers are kept
//! apart is each backend's own: `StoreConnection::lock_due_syncs`), and a successful read
//! is recorded without it counting as a change of the customer.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use domain::{CustomerId, ProviderRef};
use ports::{KycSyncQueue, RepositoryError, SyncClaim, SyncTarget};

use super::kyc::coalesce_time;
use super::schema::customers;
use super::sql_types::{Id, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

/// The statuses polling no longer watches (`KycStatus::is_final`), spelled as the partial
/// index `customers_sync_due_idx` spells them: a literal, not bound parameters, so that the
/// planner can tell every plan that the index covers the query.
const NOT_FINAL: &str = "kyc_status NOT IN ('approved', 'rejected', 'offboarded')";

/// The SQL of [`not_final`], as a type (Diesel's `auto_type` names a call's type after it).
#[expect(non_camel_case_types, reason = "Diesel's naming of query helper types")]
pub(crate) type not_final = SqlLiteral<Bool>;

/// `kyc_status` is not final.
pub(crate) fn not_final() -> not_final {
    diesel::dsl::sql::<Bool>(NOT_FINAL)
}

/// Up to `limit` customers of `provider` due for a poll at `now`: not final, last synced
/// (or, never synced, created) at or before `synced_before`, not leased, oldest first.
#[diesel::dsl::auto_type]
pub(crate) fn due_syncs(
    provider: String,
    synced_before: Timestamp,
    now: Timestamp,
    limit: i64,
) -> _ {
    let last_sync = coalesce_time(customers::last_synced_at, customers::created_at);
    customers::table
        .filter(customers::kyc_provider.eq(provider))
        .filter(not_final())
        .filter(last_sync.le(synced_before))
        .filter(
            customers::sync_locked_until
                .is_null()
                .or(customers::sync_locked_until.lt(now)),
        )
        .filter(
            customers::kyc_link_id
                .is_not_null()
                .or(customers::provider_customer_id.is_not_null()),
        )
        .order(last_sync.asc())
        .limit(limit)
        .select(customers::id)
}

fn target(id: Id, link: Option<String>, provider_customer: Option<String>) -> Option<SyncTarget> {
    let target = match (link, provider_customer) {
        (Some(link), _) => ProviderRef::KycLink(link),
        (None, Some(customer)) => ProviderRef::ProviderCustomer(customer),
        (None, None) => return None,
    };
    Some(SyncTarget {
        customer_id: CustomerId(id.0),
        target,
    })
}

#[async_trait]
impl KycSyncQueue for Store {
    #[tracing::instrument(name = "store.claim_due_syncs", skip_all, fields(db.backend = self.backend(), provider = %claim.provider))]
    async fn claim_due(&self, claim: &SyncClaim) -> Result<Vec<SyncTarget>, RepositoryError> {
        let interval = TimeDelta::from_std(claim.interval)
            .map_err(|e| RepositoryError::Unexpected(e.into()))?;
        let lease =
            TimeDelta::from_std(claim.lease).map_err(|e| RepositoryError::Unexpected(e.into()))?;
        let provider = claim.provider.clone();
        let limit = i64::from(claim.limit);
        let rows: Vec<(Id, Option<String>, Option<String>)> = self
            .run(move |conn| {
                per_backend!(conn => conn.write_transaction(|conn| {
                    let now = Utc::now();
                    let due = due_syncs(
                        provider.clone(),
                        Timestamp(now - interval),
                        Timestamp(now),
                        limit,
                    );
                    let ids = conn.lock_due_syncs(due)?;
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    diesel::update(customers::table.filter(customers::id.eq_any(&ids)))
                        .set(customers::sync_locked_until.eq(Some(Timestamp(now + lease))))
                        .execute(conn)?;
                    customers::table
                        .filter(customers::id.eq_any(&ids))
                        .order(coalesce_time(customers::last_synced_at, customers::created_at).asc())
                        .select((
                            customers::id,
                            customers::kyc_link_id,
                            customers::provider_customer_id,
                        ))
                        .load(conn)
                }))
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, link, customer)| target(id, link, customer))
            .collect())
    }

    #[tracing::instrument(name = "store.mark_synced", skip_all, fields(db.backend = self.backend(), customer_id = %customer_id))]
    async fn mark_synced(
        &self,
        customer_id: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let update = diesel::update(customers::table.find(Id(customer_id.0))).set((
            customers::last_synced_at.eq(Some(Timestamp(at))),
            customers::sync_locked_until.eq(None::<Timestamp>),
        ));
        self.run(move |conn| per_backend!(conn => update.execute(conn).map(drop)))
            .await
    }
}
