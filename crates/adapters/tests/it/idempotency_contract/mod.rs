//! The idempotency key store's contract, written once and run against both stores: a key's
//! life (`life`: claim, replay, mismatch, release, lease, expiry, the fence on a taken-over
//! key, the purge, race-safe claims) and each creating write that finishes its key in its
//! own transaction: a registration (`writes`), a KYC submission's acceptance
//! (`submissions`), a webhook endpoint (`endpoints`).

mod endpoints;
mod life;
mod submissions;
mod writes;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use domain::AccountId;
use ports::{
    Begun, Fingerprint, HeldKey, IdempotencyCompletion, IdempotencyKey, IdempotencyScope, KeyClaim,
    StoredResponse,
};
use uuid::Uuid;

use crate::stores::Store;

pub(super) fn base() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap()
}

pub(super) fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

pub(super) fn scope(account: AccountId, key: &str) -> IdempotencyScope {
    scope_at(account, "/customer", key)
}

/// The key `key` of `account` on `POST path`.
pub(super) fn scope_at(account: AccountId, path: &str, key: &str) -> IdempotencyScope {
    IdempotencyScope {
        account,
        method: "POST".into(),
        path: path.into(),
        key: IdempotencyKey::parse(key).unwrap(),
    }
}

/// A claim at `now` with a 60 s lease and a one-hour lifetime.
pub(super) fn claim(scope: &IdempotencyScope, content: u8, now: DateTime<Utc>) -> KeyClaim {
    KeyClaim {
        scope: scope.clone(),
        fingerprint: Fingerprint::from_sha256([content; 32]),
        candidate_id: Uuid::new_v4(),
        now,
        lease_until: now + secs(60),
        expires_at: now + secs(3600),
    }
}

pub(super) fn held(claim: &KeyClaim, reserved_id: Uuid) -> HeldKey {
    HeldKey {
        scope: claim.scope.clone(),
        reserved_id,
        lease_until: claim.lease_until,
    }
}

/// An answer whose body is not even UTF-8: it must come back byte for byte.
pub(super) fn response() -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: Some("application/json".into()),
        location: Some("/customer/0b5e".into()),
        body: vec![b'{', 0, 0x9f, 0x92, 0x96, 0xff, b'}'],
    }
}

pub(super) fn completion(key: HeldKey, at: DateTime<Utc>) -> IdempotencyCompletion {
    IdempotencyCompletion {
        key,
        response: response(),
        customer_id: None,
        expires_at: at + secs(3600),
    }
}

pub(super) async fn fresh(store: &Store, claim: &KeyClaim) -> HeldKey {
    match store.idempotency.begin(claim).await.unwrap() {
        Begun::Fresh { reserved_id } => {
            assert_eq!(reserved_id, claim.candidate_id);
            held(claim, reserved_id)
        }
        other => panic!("expected a fresh key, got {other:?}"),
    }
}

/// Runs `futures` at once, each on its own task.
pub(super) async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}
