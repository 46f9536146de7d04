//! A webhook endpoint registered under a key on each store: the endpoint and the key's
//! outcome are written in one transaction, or neither; a refusal leaves the key held for the
//! request to release.

use domain::{AccountId, EndpointId, EventFilter};
use ports::webhooks::InsertEndpointError;
use ports::{Begun, HeldKey, RepositoryError};

use super::{base, claim, completion, fresh, response, scope_at, secs};
use crate::stores::Store;
use crate::webhook_contract::{endpoint_of, sealed};

async fn held_key(store: &Store, account: AccountId) -> HeldKey {
    let scope = scope_at(account, "/webhook-endpoints", "k1");
    fresh(store, &claim(&scope, 1, base())).await
}

pub async fn a_registration_finishes_its_key_in_its_own_transaction(store: Store) {
    let account = store.account().await;
    let key = held_key(&store, account).await;
    let scope = key.scope.clone();
    let endpoint = ports_endpoint(account, &key);
    store
        .endpoints
        .insert_endpoint(
            &endpoint,
            &sealed(&endpoint),
            10,
            Some(completion(key, base())),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .endpoints
            .find_endpoint(account, endpoint.id)
            .await
            .unwrap(),
        Some(endpoint)
    );
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&scope, 1, base() + secs(1)))
            .await
            .unwrap(),
        Begun::Replay(response())
    );
}

pub async fn a_registration_whose_key_was_taken_over_writes_nothing(store: Store) {
    let account = store.account().await;
    let stale = held_key(&store, account).await;
    store
        .idempotency
        .begin(&claim(&stale.scope, 1, base() + secs(61)))
        .await
        .unwrap();
    let endpoint = ports_endpoint(account, &stale);
    let err = store
        .endpoints
        .insert_endpoint(
            &endpoint,
            &sealed(&endpoint),
            10,
            Some(completion(stale, base())),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            InsertEndpointError::Store(RepositoryError::Unexpected(_))
        ),
        "{err:?}"
    );
    assert!(store
        .endpoints
        .list_endpoints(account)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_registration_over_the_limit_leaves_its_key_held_and_unfinished(store: Store) {
    let account = store.account().await;
    crate::webhook_contract::register(&store, account).await;
    let key = held_key(&store, account).await;
    let scope = key.scope.clone();
    let endpoint = ports_endpoint(account, &key);
    let err = store
        .endpoints
        .insert_endpoint(
            &endpoint,
            &sealed(&endpoint),
            1,
            Some(completion(key, base())),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, InsertEndpointError::LimitReached), "{err:?}");
    assert_eq!(
        store.endpoints.list_endpoints(account).await.unwrap().len(),
        1
    );
    // Still the request's to release: a retry meanwhile is told it is in progress.
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&scope, 1, base() + secs(1)))
            .await
            .unwrap(),
        Begun::InProgress
    );
}

/// An endpoint under the key's reserved id.
fn ports_endpoint(account: AccountId, key: &HeldKey) -> domain::WebhookEndpoint {
    domain::WebhookEndpoint {
        id: EndpointId(key.reserved_id),
        ..endpoint_of(account, EventFilter::all())
    }
}

crate::stores::contract_suite!(
    a_registration_finishes_its_key_in_its_own_transaction,
    a_registration_whose_key_was_taken_over_writes_nothing,
    a_registration_over_the_limit_leaves_its_key_held_and_unfinished,
);
