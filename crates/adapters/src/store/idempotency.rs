//! Idempotency keys: claiming a key (race-safe: one transaction inserts the record if it is
//! new, else reads it locked and applies the core's verdict), finishing it with its outcome
//! — alone, or inside the transaction that creates the request's row — releasing it, and
//! purging expired records. How a record is locked against concurrent claims is each
//! backend's own (`StoreConnection::lock_idempotency_key`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use ports::{
    Begun, Fingerprint, HeldKey, IdempotencyCompletion, IdempotencyScope, IdempotencyStore,
    KeyClaim, KeyState, RecordedKey, RepositoryError, StoredResponse, Verdict,
};

use super::schema::idempotency_keys;
use super::sql_types::{Id, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

/// An idempotency key record. As a changeset it rewrites every column but the key's own.
#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = idempotency_keys)]
#[diesel(primary_key(account_id, method, path, idempotency_key))]
// Inserted with `None` as a bound NULL, one prepared statement (see `CustomerRow`).
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct KeyRow {
    account_id: Id,
    method: String,
    path: String,
    idempotency_key: String,
    fingerprint: String,
    state: String,
    reserved_id: Id,
    locked_until: Option<Timestamp>,
    response_status: Option<i32>,
    response_content_type: Option<String>,
    response_location: Option<String>,
    response_body: Option<Vec<u8>>,
    customer_id: Option<Id>,
    created_at: Timestamp,
    expires_at: Timestamp,
}

impl KeyRow {
    /// The record of a new key: in progress under the claim's lease, its candidate id
    /// reserved.
    fn claimed(claim: &KeyClaim) -> Self {
        Self {
            account_id: Id(claim.scope.account.0),
            method: claim.scope.method.clone(),
            path: claim.scope.path.clone(),
            idempotency_key: claim.scope.key.as_str().to_owned(),
            fingerprint: claim.fingerprint.as_str().to_owned(),
            state: KeyState::InProgress.as_str().to_owned(),
            reserved_id: Id(claim.candidate_id),
            locked_until: Some(Timestamp(claim.lease_until)),
            response_status: None,
            response_content_type: None,
            response_location: None,
            response_body: None,
            customer_id: None,
            created_at: Timestamp(claim.now),
            expires_at: Timestamp(claim.expires_at),
        }
    }

    /// What the verdict is drawn from.
    fn recorded(&self) -> QueryResult<RecordedKey> {
        Ok(RecordedKey {
            fingerprint: Fingerprint::from_stored(&self.fingerprint)
                .ok_or_else(|| unreadable("fingerprint is not 64 hex digits".into()))?,
            state: self.state.parse().map_err(unreadable)?,
            locked_until: self.locked_until.map(|t| t.0),
            expires_at: self.expires_at.0,
        })
    }

    /// The stored outcome of a completed key.
    fn into_response(self) -> QueryResult<StoredResponse> {
        let (Some(status), Some(body)) = (self.response_status, self.response_body) else {
            return Err(unreadable("completed key without a response".into()));
        };
        Ok(StoredResponse {
            status: u16::try_from(status).map_err(|e| unreadable(e.to_string()))?,
            content_type: self.response_content_type,
            location: self.response_location,
            body,
        })
    }
}

/// A stored record that does not read back as one.
fn unreadable(message: String) -> DieselError {
    DieselError::DeserializationError(
        format!("unreadable idempotency key record: {message}").into(),
    )
}

/// A key's outcome, as written over its record.
#[derive(AsChangeset)]
#[diesel(table_name = idempotency_keys)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct CompletedKey {
    state: &'static str,
    locked_until: Option<Timestamp>,
    response_status: Option<i32>,
    response_content_type: Option<String>,
    response_location: Option<String>,
    response_body: Option<Vec<u8>>,
    customer_id: Option<Id>,
    expires_at: Timestamp,
}

/// A released key: no lease, no outcome.
#[derive(AsChangeset)]
#[diesel(table_name = idempotency_keys)]
#[diesel(treat_none_as_null = true)]
struct ReleasedKey {
    state: &'static str,
    locked_until: Option<Timestamp>,
}

/// The record of one key.
#[diesel::dsl::auto_type]
pub(crate) fn key_record(account: Id, method: String, path: String, key: String) -> _ {
    idempotency_keys::table
        .filter(idempotency_keys::account_id.eq(account))
        .filter(idempotency_keys::method.eq(method))
        .filter(idempotency_keys::path.eq(path))
        .filter(idempotency_keys::idempotency_key.eq(key))
}

fn scoped(scope: &IdempotencyScope) -> key_record {
    key_record(
        Id(scope.account.0),
        scope.method.clone(),
        scope.path.clone(),
        scope.key.as_str().to_owned(),
    )
}

/// The record of `key` while the request that claimed it under `lease_until` still holds
/// it: the lease end fences writes by a request that outlived its lease.
#[diesel::dsl::auto_type]
fn held_record(record: key_record, lease_until: Timestamp) -> _ {
    record
        .filter(idempotency_keys::state.eq("in_progress"))
        .filter(idempotency_keys::locked_until.eq(lease_until))
}

fn held(key: &HeldKey) -> held_record {
    held_record(scoped(&key.scope), Timestamp(key.lease_until))
}

/// The statement that writes a key's outcome; it changes one row, or none when the key is
/// no longer held under the completion's lease.
pub(crate) type CompleteKey = diesel::dsl::Update<held_record, CompletedKey>;

/// Writes `completion` over its key's record, if the key is still held.
pub(crate) fn complete_key(completion: &IdempotencyCompletion) -> CompleteKey {
    let response = &completion.response;
    diesel::update(held(&completion.key)).set(CompletedKey {
        state: KeyState::Completed.as_str(),
        locked_until: None,
        response_status: Some(i32::from(response.status)),
        response_content_type: response.content_type.clone(),
        response_location: response.location.clone(),
        response_body: Some(response.body.clone()),
        customer_id: completion.customer_id.map(|id| Id(id.0)),
        expires_at: Timestamp(completion.expires_at),
    })
}

/// The error that undoes a registration whose key is no longer held: its row must not be
/// written without its key's outcome.
pub(crate) fn key_no_longer_held() -> DieselError {
    DieselError::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(
            "the request's idempotency key is no longer held (its lease ran out and another request took it over)"
                .to_owned(),
        ),
    )
}

#[async_trait]
impl IdempotencyStore for Store {
    #[tracing::instrument(name = "store.begin_idempotency_key", skip_all, fields(db.backend = self.backend()))]
    async fn begin(&self, claim: &KeyClaim) -> Result<Begun, RepositoryError> {
        let claim = claim.clone();
        self.run(move |conn| {
            per_backend!(conn => conn.write_transaction(|conn| {
                // A record can vanish between a conflicting insert and the locked read (the
                // purge deleted it); the second insert then succeeds.
                for _ in 0..2 {
                    let inserted = diesel::insert_into(idempotency_keys::table)
                        .values(KeyRow::claimed(&claim))
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                    if inserted == 1 {
                        return Ok(Begun::Fresh { reserved_id: claim.candidate_id });
                    }
                    let Some(row) = conn.lock_idempotency_key(scoped(&claim.scope))? else {
                        continue;
                    };
                    return Ok(match claim.verdict(&row.recorded()?) {
                        Verdict::Replace => {
                            diesel::update(scoped(&claim.scope))
                                .set(KeyRow::claimed(&claim))
                                .execute(conn)?;
                            Begun::Fresh { reserved_id: claim.candidate_id }
                        }
                        Verdict::TakeOver => {
                            diesel::update(scoped(&claim.scope))
                                .set((
                                    idempotency_keys::state.eq(KeyState::InProgress.as_str()),
                                    idempotency_keys::locked_until
                                        .eq(Some(Timestamp(claim.lease_until))),
                                ))
                                .execute(conn)?;
                            Begun::Resume { reserved_id: row.reserved_id.0 }
                        }
                        Verdict::Replay => Begun::Replay(row.into_response()?),
                        Verdict::Gone => Begun::Gone,
                        Verdict::Mismatch => Begun::Mismatch,
                        Verdict::InProgress => Begun::InProgress,
                    });
                }
                Err(unreadable("the record kept vanishing while being claimed".into()))
            }))
        })
        .await
    }

    #[tracing::instrument(name = "store.complete_idempotency_key", skip_all, fields(db.backend = self.backend()))]
    async fn complete(&self, completion: &IdempotencyCompletion) -> Result<bool, RepositoryError> {
        let update = complete_key(completion);
        self.run(move |conn| per_backend!(conn => update.execute(conn).map(|n| n == 1)))
            .await
    }

    #[tracing::instrument(name = "store.release_idempotency_key", skip_all, fields(db.backend = self.backend()))]
    async fn release(&self, key: &HeldKey) -> Result<bool, RepositoryError> {
        let update = diesel::update(held(key)).set(ReleasedKey {
            state: KeyState::Released.as_str(),
            locked_until: None,
        });
        self.run(move |conn| per_backend!(conn => update.execute(conn).map(|n| n == 1)))
            .await
    }

    #[tracing::instrument(name = "store.purge_idempotency_keys", skip_all, fields(db.backend = self.backend()))]
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError> {
        // Exactly `RecordedKey::is_expired`: past expiry, and no lease still running.
        let now = Timestamp(now);
        let delete = diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::expires_at.le(now))
                .filter(
                    idempotency_keys::locked_until
                        .is_null()
                        .or(idempotency_keys::locked_until.le(now)),
                ),
        );
        let purged = self
            .run(move |conn| per_backend!(conn => delete.execute(conn)))
            .await?;
        Ok(u64::try_from(purged).unwrap_or(0))
    }
}
