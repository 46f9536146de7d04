//! The idempotency use case: claims a key under the configured lease and lifetime, hands a
//! held key to the create use case as a [`Reservation`], finishes or lets go of it, and
//! purges expired keys periodically.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use domain::CustomerId;
use uuid::Uuid;

use super::{
    Begun, Fingerprint, IdempotencyCompletion, IdempotencyScope, IdempotencyStore, KeyClaim,
    StoredResponse,
};
use crate::RepositoryError;

/// How keys are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyPolicy {
    /// How long a finished (or released) key is remembered.
    pub ttl: Duration,
    /// How long a request holds its key before another may take it over: longer than the
    /// longest request, so that only a crashed request loses it.
    pub lease: Duration,
    /// Whether creating requests must carry a key.
    pub key_required: bool,
}

/// A key held by the running request: its scope, the id reserved for the row it creates,
/// and the end of its lease, which fences every later write to the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldKey {
    /// The key.
    pub scope: IdempotencyScope,
    /// The id of the row the request creates.
    pub reserved_id: Uuid,
    /// The end of the request's lease on the key.
    pub lease_until: DateTime<Utc>,
}

/// What claiming a key came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new key, held: run the request.
    Fresh(HeldKey),
    /// A released or abandoned key, held again: the row it reserved may exist already
    /// (look it up and answer from it), else run the request again under the same id.
    Resume(HeldKey),
    /// Answer with the stored outcome.
    Replay(StoredResponse),
    /// The customer the earlier request created or changed was erased: answer "gone".
    Gone,
    /// The key was used for other content.
    Mismatch,
    /// Another request holds the key.
    InProgress,
}

/// Renders a result as the response to store with its key.
pub type Renderer<T> = Arc<dyn Fn(&T) -> StoredResponse + Send + Sync>;

/// What a use case needs to create its row under a held key: the reserved id, and how to
/// finish the key in the same transaction as the row.
pub struct Reservation<T> {
    key: HeldKey,
    ttl: TimeDelta,
    render: Renderer<T>,
}

impl<T> Reservation<T> {
    /// A reservation of `key`, whose outcome is kept for `ttl` after it is written.
    pub fn new(key: HeldKey, ttl: Duration, render: Renderer<T>) -> Self {
        Self {
            key,
            ttl: TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX),
            render,
        }
    }

    /// The id the created row must have.
    pub fn reserved_id(&self) -> Uuid {
        self.key.reserved_id
    }

    /// The key.
    pub fn key(&self) -> &HeldKey {
        &self.key
    }

    /// The key's outcome for `value`, written at `now`, naming `customer_id`: the use case
    /// writes it in the transaction that creates `value`.
    pub fn completion(
        &self,
        value: &T,
        customer_id: Option<CustomerId>,
        now: DateTime<Utc>,
    ) -> IdempotencyCompletion {
        IdempotencyCompletion {
            key: self.key.clone(),
            response: (self.render)(value),
            customer_id,
            expires_at: now
                .checked_add_signed(self.ttl)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }
}

impl<T> std::fmt::Debug for Reservation<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation")
            .field("key", &self.key)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The idempotency use case over a key store.
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    policy: IdempotencyPolicy,
}

impl Idempotency {
    /// The use case over `store`, keeping keys as `policy` says.
    pub fn new(store: Arc<dyn IdempotencyStore>, policy: IdempotencyPolicy) -> Self {
        Self { store, policy }
    }

    /// Whether creating requests must carry a key.
    pub fn key_required(&self) -> bool {
        self.policy.key_required
    }

    /// Claims the key for a request with content `fingerprint`.
    #[tracing::instrument(name = "idempotency.begin", skip_all, fields(account_id = %scope.account))]
    pub async fn begin(
        &self,
        scope: IdempotencyScope,
        fingerprint: Fingerprint,
    ) -> Result<Started, RepositoryError> {
        let now = now()?;
        let claim = KeyClaim {
            scope,
            fingerprint,
            candidate_id: Uuid::new_v4(),
            now,
            lease_until: later(now, self.policy.lease),
            expires_at: later(now, self.policy.ttl),
        };
        let held = |reserved_id| HeldKey {
            scope: claim.scope.clone(),
            reserved_id,
            lease_until: claim.lease_until,
        };
        Ok(match self.store.begin(&claim).await? {
            Begun::Fresh { reserved_id } => Started::Fresh(held(reserved_id)),
            Begun::Resume { reserved_id } => {
                tracing::info!(%reserved_id, "taking over an idempotency key released or abandoned by an earlier request");
                Started::Resume(held(reserved_id))
            }
            Begun::Replay(response) => Started::Replay(response),
            Begun::Gone => Started::Gone,
            Begun::Mismatch => Started::Mismatch,
            Begun::InProgress => Started::InProgress,
        })
    }

    /// A reservation of `key` for the use case that creates its row.
    pub fn reservation<T>(&self, key: HeldKey, render: Renderer<T>) -> Reservation<T> {
        Reservation::new(key, self.policy.ttl, render)
    }

    /// Stores an outcome that created no row (or was rebuilt from the row an earlier
    /// request created). `false`: the key was no longer held (see [`IdempotencyStore`]).
    pub async fn complete(
        &self,
        key: &HeldKey,
        response: StoredResponse,
        customer_id: Option<CustomerId>,
    ) -> Result<bool, RepositoryError> {
        let completion = IdempotencyCompletion {
            key: key.clone(),
            response,
            customer_id,
            expires_at: later(now()?, self.policy.ttl),
        };
        self.store.complete(&completion).await
    }

    /// Lets go of the key without storing an outcome.
    pub async fn release(&self, key: &HeldKey) -> Result<bool, RepositoryError> {
        self.store.release(key).await
    }

    /// Deletes expired keys once; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, RepositoryError> {
        self.store.purge_expired(now()?).await
    }

    /// Purges expired keys every `interval` until `shutdown` turns true, so that keys never
    /// grow without bound.
    pub async fn purge_periodically(
        self: Arc<Self>,
        interval: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        tracing::info!("idempotency key purge started");
        while !*shutdown.borrow() {
            match self.purge_expired().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired idempotency keys deleted"),
                Err(e) => tracing::warn!(error = %e, "could not purge expired idempotency keys"),
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                () = tokio::time::sleep(interval) => {}
            }
        }
        tracing::info!("idempotency key purge stopped");
    }
}

/// Now, to the millisecond: what every store keeps exactly, so that a lease end read back
/// compares equal to the one written (it fences writes to the key).
fn now() -> Result<DateTime<Utc>, RepositoryError> {
    Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .map_err(|e| RepositoryError::Unexpected(e.into()))
}

fn later(now: DateTime<Utc>, after: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(after)
        .ok()
        .and_then(|after| now.checked_add_signed(after))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
