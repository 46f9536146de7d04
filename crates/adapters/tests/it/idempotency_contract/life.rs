//! A key's life on each store: claim, replay, mismatch, release, lease, expiry, the fence
//! on a taken-over key, the purge, and racing claims.

use ports::{Begun, IdempotencyScope};
use uuid::Uuid;

use super::{base, claim, completion, fresh, futures_join_all, held, response, scope, secs};
use crate::stores::Store;

pub async fn a_new_key_is_held_under_its_candidate_id_and_a_second_claim_finds_it_in_progress(
    store: Store,
) {
    let scope = scope(store.account().await, "k1");
    let now = base();
    fresh(&store, &claim(&scope, 1, now)).await;
    let again = store
        .idempotency
        .begin(&claim(&scope, 1, now + secs(59)))
        .await
        .unwrap();
    assert_eq!(again, Begun::InProgress);
}

pub async fn a_completed_key_replays_its_response_byte_for_byte(store: Store) {
    let scope = scope(store.account().await, "k1");
    let now = base();
    let first = claim(&scope, 1, now);
    let key = fresh(&store, &first).await;
    assert!(store
        .idempotency
        .complete(&completion(key, now))
        .await
        .unwrap());
    let replay = store
        .idempotency
        .begin(&claim(&scope, 1, now + secs(1)))
        .await
        .unwrap();
    assert_eq!(replay, Begun::Replay(response()));
}

pub async fn other_content_under_a_key_is_a_mismatch_in_every_state(store: Store) {
    let account = store.account().await;
    let now = base();
    let in_progress = scope(account, "a");
    fresh(&store, &claim(&in_progress, 1, now)).await;
    let completed = scope(account, "b");
    let key = fresh(&store, &claim(&completed, 1, now)).await;
    store
        .idempotency
        .complete(&completion(key, now))
        .await
        .unwrap();
    let released = scope(account, "c");
    let key = fresh(&store, &claim(&released, 1, now)).await;
    assert!(store.idempotency.release(&key).await.unwrap());
    for scope in [in_progress, completed, released] {
        let other = store
            .idempotency
            .begin(&claim(&scope, 2, now + secs(1)))
            .await
            .unwrap();
        assert_eq!(other, Begun::Mismatch, "{:?}", scope.key);
    }
}

pub async fn a_released_key_is_resumed_under_the_same_reserved_id(store: Store) {
    let scope = scope(store.account().await, "k1");
    let now = base();
    let first = claim(&scope, 1, now);
    let key = fresh(&store, &first).await;
    assert!(store.idempotency.release(&key).await.unwrap());
    let retry = claim(&scope, 1, now + secs(1));
    assert_eq!(
        store.idempotency.begin(&retry).await.unwrap(),
        Begun::Resume {
            reserved_id: first.candidate_id
        }
    );
    // Resumed, the key is held again under the retry's lease.
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&scope, 1, now + secs(2)))
            .await
            .unwrap(),
        Begun::InProgress
    );
    assert!(store
        .idempotency
        .complete(&completion(held(&retry, first.candidate_id), now))
        .await
        .unwrap());
}

pub async fn a_key_whose_lease_ran_out_is_resumed_under_the_same_reserved_id(store: Store) {
    let scope = scope(store.account().await, "k1");
    let now = base();
    let first = claim(&scope, 1, now);
    fresh(&store, &first).await;
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&scope, 1, now + secs(60)))
            .await
            .unwrap(),
        Begun::Resume {
            reserved_id: first.candidate_id
        }
    );
}

pub async fn a_taken_over_key_cannot_be_finished_or_released_by_its_former_holder(store: Store) {
    let scope = scope(store.account().await, "k1");
    let now = base();
    let first = claim(&scope, 1, now);
    let stale = fresh(&store, &first).await;
    let takeover = claim(&scope, 1, now + secs(61));
    store.idempotency.begin(&takeover).await.unwrap();
    assert!(!store.idempotency.release(&stale).await.unwrap());
    assert!(!store
        .idempotency
        .complete(&completion(stale, now))
        .await
        .unwrap());
    // The key is still the new holder's.
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&scope, 1, now + secs(62)))
            .await
            .unwrap(),
        Begun::InProgress
    );
    let current = held(&takeover, first.candidate_id);
    assert!(store
        .idempotency
        .complete(&completion(current.clone(), now))
        .await
        .unwrap());
    // A finished key is not finished or released again.
    assert!(!store.idempotency.release(&current).await.unwrap());
    assert!(!store
        .idempotency
        .complete(&completion(current, now))
        .await
        .unwrap());
}

pub async fn an_expired_key_counts_as_new(store: Store) {
    let scope = scope(store.account().await, "k1");
    let now = base();
    let first = claim(&scope, 1, now);
    let key = fresh(&store, &first).await;
    store
        .idempotency
        .complete(&completion(key, now))
        .await
        .unwrap();
    // Past its expiry the key is new: other content is no mismatch, and a new id is reserved.
    let later = claim(&scope, 2, now + secs(3601));
    let key = fresh(&store, &later).await;
    assert_ne!(key.reserved_id, first.candidate_id);
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&scope, 2, now + secs(3602)))
            .await
            .unwrap(),
        Begun::InProgress
    );
}

pub async fn the_same_key_in_another_account_method_or_path_is_another_request(store: Store) {
    let now = base();
    let first = scope(store.account().await, "shared");
    fresh(&store, &claim(&first, 1, now)).await;
    let other_account = scope(store.account().await, "shared");
    let other_path = IdempotencyScope {
        path: format!("/customer/{}/kyc", Uuid::new_v4()),
        ..first.clone()
    };
    let other_method = IdempotencyScope {
        method: "PUT".into(),
        ..first.clone()
    };
    for scope in [other_account, other_path, other_method] {
        fresh(&store, &claim(&scope, 2, now)).await;
    }
}

pub async fn the_purge_deletes_expired_keys_only(store: Store) {
    let account = store.account().await;
    let now = base();
    let done = claim(&scope(account, "done"), 1, now);
    let key = fresh(&store, &done).await;
    store
        .idempotency
        .complete(&completion(key, now))
        .await
        .unwrap();
    let released = claim(&scope(account, "released"), 1, now);
    let key = fresh(&store, &released).await;
    store.idempotency.release(&key).await.unwrap();
    // Still leased when its lifetime ends: kept until the lease ends too.
    let mut long = claim(&scope(account, "long"), 1, now);
    long.lease_until = now + secs(7200);
    fresh(&store, &long).await;
    let young = claim(&scope(account, "young"), 1, now + secs(1800));
    fresh(&store, &young).await;

    assert_eq!(
        store
            .idempotency
            .purge_expired(now + secs(3599))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .idempotency
            .purge_expired(now + secs(3600))
            .await
            .unwrap(),
        2
    );
    // The purged keys are new; the others are still recorded.
    let at = now + secs(3601);
    fresh(&store, &claim(&done.scope, 1, at)).await;
    fresh(&store, &claim(&released.scope, 1, at)).await;
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&long.scope, 1, at))
            .await
            .unwrap(),
        Begun::InProgress
    );
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&young.scope, 1, at))
            .await
            .unwrap(),
        Begun::Resume {
            reserved_id: young.candidate_id
        }
    );
    assert_eq!(
        store
            .idempotency
            .purge_expired(now + secs(7200))
            .await
            .unwrap(),
        2,
        "the long-leased key once its lease is over, and the young one once expired"
    );
}

pub async fn concurrent_claims_on_one_key_give_exactly_one_holder(store: Store) {
    let scope = scope(store.account().await, "raced");
    let now = base();
    let claims: Vec<_> = (0..10).map(|_| claim(&scope, 1, now)).collect();
    let results = futures_join_all(claims.iter().map(|c| {
        let store = store.clone();
        let c = c.clone();
        async move { store.idempotency.begin(&c).await.unwrap() }
    }))
    .await;
    let fresh = results
        .iter()
        .filter(|r| matches!(r, Begun::Fresh { .. }))
        .count();
    let in_progress = results.iter().filter(|r| **r == Begun::InProgress).count();
    assert_eq!((fresh, in_progress), (1, 9), "{results:?}");
}

pub async fn concurrent_retries_of_a_released_key_give_exactly_one_holder(store: Store) {
    let scope = scope(store.account().await, "raced");
    let now = base();
    let first = claim(&scope, 1, now);
    let key = fresh(&store, &first).await;
    store.idempotency.release(&key).await.unwrap();
    let retries: Vec<_> = (0..10).map(|_| claim(&scope, 1, now + secs(1))).collect();
    let results = futures_join_all(retries.into_iter().map(|c| {
        let store = store.clone();
        async move { store.idempotency.begin(&c).await.unwrap() }
    }))
    .await;
    let resumed: Vec<_> = results
        .iter()
        .filter_map(|r| match r {
            Begun::Resume { reserved_id } => Some(*reserved_id),
            _ => None,
        })
        .collect();
    assert_eq!(resumed, vec![first.candidate_id], "{results:?}");
    assert_eq!(
        results.iter().filter(|r| **r == Begun::InProgress).count(),
        9
    );
}

crate::stores::contract_suite!(
    a_new_key_is_held_under_its_candidate_id_and_a_second_claim_finds_it_in_progress,
    a_completed_key_replays_its_response_byte_for_byte,
    other_content_under_a_key_is_a_mismatch_in_every_state,
    a_released_key_is_resumed_under_the_same_reserved_id,
    a_key_whose_lease_ran_out_is_resumed_under_the_same_reserved_id,
    a_taken_over_key_cannot_be_finished_or_released_by_its_former_holder,
    an_expired_key_counts_as_new,
    the_same_key_in_another_account_method_or_path_is_another_request,
    the_purge_deletes_expired_keys_only,
    concurrent_claims_on_one_key_give_exactly_one_holder,
    concurrent_retries_of_a_released_key_give_exactly_one_holder,
);
