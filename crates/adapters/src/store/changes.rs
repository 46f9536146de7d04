//! Changing an existing customer: one transaction with a compare-and-set on its `version`,
//! the replacement of its queued KYC mail, a new link's KYC history entry (and the old
//! link's signed terms agreement dropped), its events and its idempotency key's outcome.
//!
//! Row locks are taken in the order the outbox's `finish` takes them — the customer's
//! jobs first, then the customer — so a change racing a mail worker that is recording an
//! attempt waits for it instead of deadlocking with it on PostgreSQL.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use domain::Customer;
use ports::{CustomerChange, JobKind, RepositoryError};

use super::events::write_events;
use super::idempotency::{complete_key, key_no_longer_held};
use super::kyc::{coalesce_number, coalesce_time, HistoryRow, NO_SEQUENCE};
use super::rows::{CustomerRow, NewJobRow};
use super::schema::{customers, kyc_history, outbox_jobs};
use super::sql_types::{Id, Json, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

/// Every column a change may write: all but the id, the account and the creation time.
#[derive(AsChangeset)]
#[diesel(table_name = customers, treat_none_as_null = true)]
struct ChangedCustomer {
    full_name: String,
    email: String,
    phone: String,
    country: String,
    customer_type: String,
    send_kyc_mail: bool,
    kyc_provider: String,
    kyc_link_id: Option<String>,
    kyc_link: String,
    tos_link: String,
    kyc_status: String,
    tos_status: String,
    rejection_reasons: Json,
    provider_customer_id: Option<String>,
    persona_inquiry_type: Option<String>,
    kyc_mail_status: String,
    kyc_sequence: Option<i64>,
    kyc_as_of: Option<Timestamp>,
    last_synced_at: Option<Timestamp>,
    version: i64,
    updated_at: Option<Timestamp>,
}

impl ChangedCustomer {
    fn of(customer: &Customer) -> Self {
        // One mapping from the domain to columns: the row's.
        let row = CustomerRow::from_domain(customer);
        Self {
            full_name: row.full_name,
            email: row.email,
            phone: row.phone,
            country: row.country,
            customer_type: row.customer_type,
            send_kyc_mail: row.send_kyc_mail,
            kyc_provider: row.kyc_provider,
            kyc_link_id: row.kyc_link_id,
            kyc_link: row.kyc_link,
            tos_link: row.tos_link,
            kyc_status: row.kyc_status,
            tos_status: row.tos_status,
            rejection_reasons: row.rejection_reasons,
            provider_customer_id: row.provider_customer_id,
            persona_inquiry_type: row.persona_inquiry_type,
            kyc_mail_status: row.kyc_mail_status,
            kyc_sequence: row.kyc_sequence,
            kyc_as_of: row.kyc_as_of,
            last_synced_at: row.last_synced_at,
            version: row.version,
            updated_at: row.updated_at,
        }
    }
}

/// The error a write transaction returns when its compare-and-set on the customer's
/// version missed: it undoes whatever the transaction wrote before finding out.
pub(super) fn version_moved() -> DieselError {
    DieselError::RollbackTransaction
}

/// A write transaction's result, with a missed compare-and-set as
/// [`RepositoryError::Conflict`].
pub(super) fn settled(result: Result<(), RepositoryError>) -> Result<(), RepositoryError> {
    match result {
        Err(RepositoryError::Unexpected(e))
            if matches!(
                e.downcast_ref::<DieselError>(),
                Some(DieselError::RollbackTransaction)
            ) =>
        {
            Err(RepositoryError::Conflict)
        }
        other => other,
    }
}

impl Store {
    /// [`ports::CustomerRepository::update`].
    pub(super) async fn write_change(
        &self,
        change: &CustomerChange,
    ) -> Result<(), RepositoryError> {
        let new = &change.new;
        let (id, account, expected) = (Id(new.id.0), Id(new.account_id.0), change.expected_version);
        // Every change makes the next version and says when it happened: the version is
        // what concurrent writers and the API's ETag rely on.
        if Some(new.version) != expected.checked_add(1) || new.updated_at.is_none() {
            return Err(RepositoryError::Unexpected(anyhow::anyhow!(
                "a change of customer {} from version {expected} must make version {} and set updated_at",
                new.id,
                expected.saturating_add(1)
            )));
        }
        let columns = ChangedCustomer::of(new);
        let expected_at = Timestamp(change.expected_as_of.at);
        let expected_sequence = change.expected_as_of.sequence.unwrap_or(NO_SEQUENCE);
        let job = change
            .kyc_mail
            .as_ref()
            .map(|mail| NewJobRow::kyc_mail(new.id, mail, mail.due_at));
        let events = change.events.clone();
        let complete = change.idempotency.as_ref().map(complete_key);
        let starts_over = change.starts_over;
        let history = change.history.as_ref().map(HistoryRow::from_domain);
        let written = self
            .run(move |conn| {
                per_backend!(conn => conn.write_transaction(|conn| {
                    if job.is_some() {
                        // The mails still queued for the old address are cancelled: the new
                        // one replaces them. A mail whose attempt is under way when this
                        // commits is recorded as nothing (see the outbox's `finish`).
                        diesel::delete(
                            outbox_jobs::table
                                .filter(outbox_jobs::kind.eq(JobKind::KycMail.as_str()))
                                .filter(outbox_jobs::customer_id.eq(id))
                                .filter(outbox_jobs::status.eq("queued")),
                        )
                        .execute(conn)?;
                    }
                    let changed = diesel::update(
                        customers::table
                            .filter(customers::id.eq(id))
                            .filter(customers::account_id.eq(account))
                            .filter(customers::version.eq(expected))
                            // The watermark too, as the KYC lifecycle's own writes do.
                            .filter(
                                coalesce_time(customers::kyc_as_of, customers::created_at)
                                    .eq(expected_at),
                            )
                            .filter(
                                coalesce_number(customers::kyc_sequence, NO_SEQUENCE)
                                    .eq(expected_sequence),
                            ),
                    )
                    .set(&columns)
                    .execute(conn)?;
                    if changed != 1 {
                        return Err(version_moved());
                    }
                    if starts_over {
                        // The terms agreement signed under the old link is not the new
                        // link's: KYC by API asks for the new one's.
                        diesel::update(customers::table.filter(customers::id.eq(id)))
                            .set(customers::signed_agreement_id.eq(None::<String>))
                            .execute(conn)?;
                    }
                    if let Some(history) = &history {
                        diesel::insert_into(kyc_history::table)
                            .values(history)
                            .execute(conn)?;
                    }
                    if let Some(job) = &job {
                        diesel::insert_into(outbox_jobs::table)
                            .values(job)
                            .execute(conn)?;
                    }
                    if let Some(complete) = complete {
                        if complete.execute(conn)? != 1 {
                            return Err(key_no_longer_held());
                        }
                    }
                    write_events!(conn, &events)
                }))
            })
            .await;
        settled(written)
    }
}
