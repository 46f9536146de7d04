//! The KYC lifecycle's store: a report's customers found by the provider's ids, a report's
//! unit of work written in one transaction (receipt, compare-and-set changes, history,
//! events), the history read back, and expired receipts deleted. What a KYC change writes
//! ([`KycWrites`]) is written the same way by the submissions' store, inside its own
//! transactions ([`WriteKyc`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sqlite::SqliteConnection;
use domain::{Customer, CustomerId, KycHistoryEntry, ProviderRef};
use ports::{KycChange, KycReportRecord, KycReports, NewEvent, Recorded, RepositoryError};
use uuid::Uuid;

use super::events::write_events;
use super::rows::{rejection_reasons_json, CustomerRow};
use super::schema::{customers, kyc_history, provider_events};
use super::sql_types::{Id, Json, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

diesel::define_sql_function! {
    /// `coalesce` over a nullable time: a watermark never written is the creation time.
    #[sql_name = "coalesce"]
    fn coalesce_time(
        x: diesel::sql_types::Nullable<crate::store::sql_types::DbTimestamp>,
        y: crate::store::sql_types::DbTimestamp,
    ) -> crate::store::sql_types::DbTimestamp;
}

diesel::define_sql_function! {
    /// `coalesce` over a nullable number, for comparing sequence numbers that may be absent.
    #[sql_name = "coalesce"]
    fn coalesce_number(
        x: diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        y: diesel::sql_types::BigInt,
    ) -> diesel::sql_types::BigInt;
}

/// Stands for "no sequence number" in the compare-and-set: no provider numbers below it.
pub(crate) const NO_SEQUENCE: i64 = i64::MIN;

/// A history row (inserted with `None` as a bound NULL: see `CustomerRow`).
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = kyc_history, treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(super) struct HistoryRow {
    id: Id,
    customer_id: Id,
    from_status: String,
    to_status: String,
    tos_status: String,
    source: String,
    event_id: Option<String>,
    at: Timestamp,
    recorded_at: Timestamp,
    applied: bool,
}

impl HistoryRow {
    pub(super) fn from_domain(entry: &KycHistoryEntry) -> Self {
        Self {
            id: Id(Uuid::new_v4()),
            customer_id: Id(entry.customer_id.0),
            from_status: entry.from.as_str().to_owned(),
            to_status: entry.to.as_str().to_owned(),
            tos_status: entry.tos_status.as_str().to_owned(),
            source: entry.source.as_str().to_owned(),
            event_id: entry.event_id.clone(),
            at: Timestamp(entry.at),
            recorded_at: Timestamp(entry.recorded_at),
            applied: entry.applied,
        }
    }

    fn into_domain(self) -> Result<KycHistoryEntry, RepositoryError> {
        let id = self.id.0;
        let invalid = |name: &str, message: String| {
            RepositoryError::Unexpected(anyhow::anyhow!(
                "stored KYC history entry {id} has an invalid {name}: {message}"
            ))
        };
        Ok(KycHistoryEntry {
            customer_id: CustomerId(self.customer_id.0),
            from: self
                .from_status
                .parse()
                .map_err(|m| invalid("from_status", m))?,
            to: self
                .to_status
                .parse()
                .map_err(|m| invalid("to_status", m))?,
            tos_status: self
                .tos_status
                .parse()
                .map_err(|m| invalid("tos_status", m))?,
            source: self.source.parse().map_err(|m| invalid("source", m))?,
            event_id: self.event_id,
            at: self.at.0,
            recorded_at: self.recorded_at.0,
            applied: self.applied,
        })
    }
}

/// A receipt row.
#[derive(Insertable)]
#[diesel(table_name = provider_events)]
struct ReceiptRow {
    provider: String,
    event_id: String,
    received_at: Timestamp,
    outcome: &'static str,
}

/// The columns a KYC change writes, and the compare-and-set it is written under.
struct ChangeRow {
    id: Id,
    expected_version: i64,
    expected_at: Timestamp,
    expected_sequence: i64,
    kyc_status: &'static str,
    tos_status: &'static str,
    rejection_reasons: Json,
    kyc_sequence: Option<i64>,
    kyc_as_of: Timestamp,
    provider_customer_id: Option<String>,
    version: i64,
    updated_at: Option<Timestamp>,
}

impl ChangeRow {
    fn of(change: &KycChange) -> Self {
        let c: &Customer = &change.customer;
        Self {
            id: Id(c.id.0),
            expected_version: change.expected_version,
            expected_at: Timestamp(change.expected_as_of.at),
            expected_sequence: change.expected_as_of.sequence.unwrap_or(NO_SEQUENCE),
            kyc_status: c.kyc_state.kyc_status.as_str(),
            tos_status: c.kyc_state.tos_status.as_str(),
            rejection_reasons: Json(rejection_reasons_json(&c.kyc_state.rejection_reasons)),
            kyc_sequence: c.kyc_as_of.sequence,
            kyc_as_of: Timestamp(c.kyc_as_of.at),
            provider_customer_id: c.kyc.provider_customer_id.clone(),
            version: c.version,
            updated_at: c.updated_at.map(Timestamp),
        }
    }
}

/// What KYC changes write: each customer's change under its compare-and-set, the history
/// entries and the outgoing events.
pub(super) struct KycWrites {
    changes: Vec<ChangeRow>,
    history: Vec<HistoryRow>,
    events: Vec<NewEvent>,
}

impl KycWrites {
    /// The rows of `changes`, `history` and `events`.
    pub(super) fn of<'a>(
        changes: impl IntoIterator<Item = &'a KycChange>,
        history: impl IntoIterator<Item = &'a KycHistoryEntry>,
        events: &[NewEvent],
    ) -> Self {
        Self {
            changes: changes.into_iter().map(ChangeRow::of).collect(),
            history: history.into_iter().map(HistoryRow::from_domain).collect(),
            events: events.to_vec(),
        }
    }
}

/// Writing [`KycWrites`] inside the caller's transaction.
pub(super) trait WriteKyc {
    /// Writes each change under its compare-and-set on the customer's version and
    /// watermark, then the history and the events. A customer changed since it was read
    /// is [`DieselError::RollbackTransaction`]: the caller's transaction is undone, and
    /// the caller answers a conflict.
    fn write_kyc(&mut self, writes: &KycWrites) -> QueryResult<()>;
}

/// Implements [`WriteKyc`] for each backend's connection, with one body.
macro_rules! write_kyc_for {
    ($($connection:ty),+) => {$(
        impl WriteKyc for $connection {
            fn write_kyc(&mut self, writes: &KycWrites) -> QueryResult<()> {
                let conn = self;
                for change in &writes.changes {
                    let updated = diesel::update(
                        customers::table
                            .filter(customers::id.eq(change.id))
                            .filter(customers::version.eq(change.expected_version))
                            .filter(
                                coalesce_time(customers::kyc_as_of, customers::created_at)
                                    .eq(change.expected_at),
                            )
                            .filter(
                                coalesce_number(customers::kyc_sequence, NO_SEQUENCE)
                                    .eq(change.expected_sequence),
                            ),
                    )
                    .set((
                        customers::kyc_status.eq(change.kyc_status),
                        customers::tos_status.eq(change.tos_status),
                        customers::rejection_reasons.eq(&change.rejection_reasons),
                        customers::kyc_sequence.eq(change.kyc_sequence),
                        customers::kyc_as_of.eq(Some(change.kyc_as_of)),
                        customers::provider_customer_id.eq(&change.provider_customer_id),
                        customers::version.eq(change.version),
                        customers::updated_at.eq(change.updated_at),
                    ))
                    .execute(conn)?;
                    if updated == 0 {
                        // Someone changed the customer since it was read: undo all.
                        return Err(DieselError::RollbackTransaction);
                    }
                }
                if !writes.history.is_empty() {
                    diesel::insert_into(kyc_history::table)
                        .values(&writes.history)
                        .execute(conn)?;
                }
                write_events!(conn, &writes.events)
            }
        }
    )+};
}
write_kyc_for!(PgConnection, SqliteConnection);

#[async_trait]
impl KycReports for Store {
    #[tracing::instrument(name = "store.customers_matching", skip_all, fields(db.backend = self.backend(), provider))]
    async fn customers_matching(
        &self,
        provider: &str,
        target: &ProviderRef,
    ) -> Result<Vec<Customer>, RepositoryError> {
        let provider = provider.to_owned();
        let target = target.clone();
        let rows: Vec<CustomerRow> = self
            .run(move |conn| {
                per_backend!(conn => {
                    let mut query = customers::table
                        .filter(customers::kyc_provider.eq(&provider))
                        .into_boxed();
                    query = match &target {
                        ProviderRef::KycLink(id) => query.filter(customers::kyc_link_id.eq(id)),
                        ProviderRef::ProviderCustomer(id) => {
                            query.filter(customers::provider_customer_id.eq(id))
                        }
                    };
                    query
                        .order((customers::created_at.asc(), customers::id.asc()))
                        .select(CustomerRow::as_select())
                        .load(conn)
                })
            })
            .await?;
        rows.into_iter().map(CustomerRow::into_domain).collect()
    }

    #[tracing::instrument(name = "store.record_kyc_report", skip_all, fields(db.backend = self.backend(), changes = record.changes.len()))]
    async fn record(&self, record: &KycReportRecord) -> Result<Recorded, RepositoryError> {
        let receipt = record.receipt.as_ref().map(|r| ReceiptRow {
            provider: r.provider.clone(),
            event_id: r.event_id.clone(),
            received_at: Timestamp(r.received_at),
            outcome: r.outcome.as_str(),
        });
        let writes = KycWrites::of(&record.changes, &record.history, &record.events);
        self.run(move |conn| {
            per_backend!(conn => {
                let written = conn.write_transaction(|conn| {
                    if let Some(receipt) = &receipt {
                        let inserted = diesel::insert_into(provider_events::table)
                            .values(receipt)
                            .on_conflict_do_nothing()
                            .execute(conn)?;
                        if inserted == 0 {
                            return Ok(Recorded::DuplicateEvent);
                        }
                    }
                    conn.write_kyc(&writes)?;
                    Ok(Recorded::Written)
                });
                match written {
                    Err(DieselError::RollbackTransaction) => Ok(Recorded::VersionConflict),
                    other => other,
                }
            })
        })
        .await
    }

    #[tracing::instrument(name = "store.kyc_history", skip_all, fields(db.backend = self.backend(), customer_id = %customer_id))]
    async fn history(
        &self,
        customer_id: CustomerId,
    ) -> Result<Vec<KycHistoryEntry>, RepositoryError> {
        let query = kyc_history::table
            .filter(kyc_history::customer_id.eq(Id(customer_id.0)))
            .order((
                kyc_history::at.asc(),
                kyc_history::recorded_at.asc(),
                kyc_history::id.asc(),
            ));
        let rows: Vec<HistoryRow> = self
            .run(move |conn| per_backend!(conn => query.select(HistoryRow::as_select()).load(conn)))
            .await?;
        rows.into_iter().map(HistoryRow::into_domain).collect()
    }

    #[tracing::instrument(name = "store.purge_receipts", skip_all, fields(db.backend = self.backend()))]
    async fn purge_receipts(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let delete = diesel::delete(
            provider_events::table.filter(provider_events::received_at.lt(Timestamp(before))),
        );
        let deleted = self
            .run(move |conn| per_backend!(conn => delete.execute(conn)))
            .await?;
        Ok(u64::try_from(deleted).unwrap_or(0))
    }
}
