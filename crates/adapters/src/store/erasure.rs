//! Erasing a customer (GDPR Art. 17): the one place that knows every table holding a
//! customer's data, and what erasure does to each. All of it happens in one transaction.
//!
//! | table | what erasure does |
//! |---|---|
//! | `customers` | the row is deleted (compare-and-set on `version`) |
//! | `customer_tombstones` | a row is added: id, account, created and deleted times — nothing personal; it keeps the id from ever being used again |
//! | `outbox_jobs` | the customer's KYC mail jobs are deleted (queued ones are never sent); so are the deliveries of the customer's events (pending ones carried its snapshot) |
//! | `webhook_events` | the customer's events are deleted (their bodies are snapshots of the customer); then `customer.deleted`, which carries the id alone, is written and delivered |
//! | `idempotency_keys` | records naming the customer keep their key and fingerprint but lose the stored answer (state `erased`: a retry is answered `410`) |
//! | `kyc_submissions` | the masked records stay with their non-personal part only (submission time, account, outcome, KYC status, the names of the fields and document types sent, refused field paths); the last four characters of identity numbers and the provider's reference are cleared. No foreign key, so the rows survive the customer |
//! | `kyc_history` | kept: statuses, source, provider event id, times — nothing personal (no foreign key either) |
//! | `provider_events` | holds event ids and outcomes only, never payloads: nothing to erase |
//! | `accounts`, `webhook_endpoints` | hold nothing of customers |
//!
//! A table added later that holds per-customer rows must be added here.
//!
//! Row locks are taken in the order the outbox's `finish` takes them — jobs, then the
//! customer — so an erasure racing a mail worker that records an attempt waits for it
//! rather than deadlocking with it on PostgreSQL.

use diesel::prelude::*;
use ports::{CustomerErasure, KeyState, RepositoryError};

use super::changes::{settled, version_moved};
use super::events::write_events;
use super::schema::{
    customer_tombstones, customers, idempotency_keys, kyc_submissions, outbox_jobs, webhook_events,
};
use super::sql_types::{Id, Json, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

/// A customer's tombstone.
#[derive(Insertable)]
#[diesel(table_name = customer_tombstones)]
struct TombstoneRow {
    id: Id,
    account_id: Id,
    created_at: Timestamp,
    deleted_at: Timestamp,
}

/// What a stored answer keeps once the customer it showed is erased.
#[derive(AsChangeset)]
#[diesel(table_name = idempotency_keys, treat_none_as_null = true)]
struct ErasedKey {
    state: &'static str,
    locked_until: Option<Timestamp>,
    response_status: Option<i32>,
    response_content_type: Option<String>,
    response_location: Option<String>,
    response_body: Option<Vec<u8>>,
}

impl Store {
    /// [`ports::CustomerRepository::erase`].
    pub(super) async fn write_erasure(
        &self,
        erasure: &CustomerErasure,
    ) -> Result<(), RepositoryError> {
        let id = Id(erasure.customer_id.0);
        let account = Id(erasure.account_id.0);
        let expected = erasure.expected_version;
        let tombstone = TombstoneRow {
            id,
            account_id: account,
            created_at: Timestamp(erasure.created_at),
            deleted_at: Timestamp(erasure.erased_at),
        };
        let events = erasure.events.clone();
        let erased = self
            .run(move |conn| {
                per_backend!(conn => conn.write_transaction(|conn| {
                    let their_events = webhook_events::table
                        .filter(webhook_events::account_id.eq(account))
                        .filter(webhook_events::customer_id.eq(id))
                        .select(webhook_events::id.nullable());
                    diesel::delete(
                        outbox_jobs::table.filter(
                            outbox_jobs::customer_id
                                .eq(id)
                                .or(outbox_jobs::event_id.eq_any(their_events)),
                        ),
                    )
                    .execute(conn)?;
                    diesel::delete(
                        webhook_events::table
                            .filter(webhook_events::account_id.eq(account))
                            .filter(webhook_events::customer_id.eq(id)),
                    )
                    .execute(conn)?;
                    // The submissions keep what says nothing about the person.
                    let submissions: Vec<(Id, Json)> = kyc_submissions::table
                        .filter(kyc_submissions::customer_id.eq(id))
                        .select((kyc_submissions::id, kyc_submissions::identity_documents))
                        .load(conn)?;
                    for (submission, documents) in submissions {
                        diesel::update(kyc_submissions::table.find(submission))
                            .set((
                                kyc_submissions::identity_documents
                                    .eq(without_number_digits(documents)),
                                kyc_submissions::provider_reference.eq(None::<String>),
                            ))
                            .execute(conn)?;
                    }
                    let deleted = diesel::delete(
                        customers::table
                            .filter(customers::id.eq(id))
                            .filter(customers::account_id.eq(account))
                            .filter(customers::version.eq(expected)),
                    )
                    .execute(conn)?;
                    if deleted != 1 {
                        return Err(version_moved());
                    }
                    diesel::insert_into(customer_tombstones::table)
                        .values(&tombstone)
                        .execute(conn)?;
                    // A key that reserved the id is the request that created the customer,
                    // whether or not its answer names it.
                    diesel::update(
                        idempotency_keys::table
                            .filter(idempotency_keys::account_id.eq(account))
                            .filter(
                                idempotency_keys::customer_id
                                    .eq(id)
                                    .or(idempotency_keys::reserved_id.eq(id)),
                            ),
                    )
                    .set(ErasedKey {
                        state: KeyState::Erased.as_str(),
                        locked_until: None,
                        response_status: None,
                        response_content_type: None,
                        response_location: None,
                        response_body: None,
                    })
                    .execute(conn)?;
                    write_events!(conn, &events)
                }))
            })
            .await;
        settled(erased)
    }
}

/// A submission's identity documents without the last characters of their numbers.
fn without_number_digits(documents: Json) -> Json {
    let mut documents = documents.0;
    if let Some(items) = documents.as_array_mut() {
        for item in items {
            if let Some(item) = item.as_object_mut() {
                if item.contains_key("number_last_four") {
                    item.insert("number_last_four".into(), serde_json::Value::Null);
                }
            }
        }
    }
    Json(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digits_of_identity_numbers_are_cleared_and_the_rest_kept() {
        let kept = without_number_digits(Json(serde_json::json!([
            {"path": "identifying_information[0]", "type": "ssn", "number_last_four": "6789", "image_front": null},
            {"path": "identifying_information[1]", "type": "passport", "number_last_four": null, "image_front": "image/jpeg"}
        ])));
        assert_eq!(
            kept.0,
            serde_json::json!([
                {"path": "identifying_information[0]", "type": "ssn", "number_last_four": null, "image_front": null},
                {"path": "identifying_information[1]", "type": "passport", "number_last_four": null, "image_front": "image/jpeg"}
            ])
        );
    }
}
