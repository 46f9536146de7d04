//! Endpoints: registration under the limit, reads scoped to the account, partial changes,
//! rotation and deletion.

use std::time::Duration;

use chrono::TimeDelta;
use domain::{
    EndpointDescription, EventFilter, UrlRules, WebhookEndpoint, WebhookEventType, WebhookUrl,
};
use ports::webhooks::{EndpointChange, InsertEndpointError, SealedSecret};

use super::{customer_created, deliveries, endpoint_of, now, register, sealed};
use crate::stores::Store;

pub async fn an_endpoint_reads_back_as_registered_and_only_for_its_account(store: Store) {
    let account = store.account().await;
    let other = store.account().await;
    let mut endpoint = endpoint_of(
        account,
        EventFilter::new([
            WebhookEventType::CustomerKycApproved,
            WebhookEventType::CustomerCreated,
        ]),
    );
    endpoint.enabled = false;
    store
        .endpoints
        .insert_endpoint(&endpoint, &sealed(&endpoint), 10, None)
        .await
        .unwrap();
    // Oldest first: a later millisecond, so the order does not fall to the ids.
    tokio::time::sleep(Duration::from_millis(3)).await;
    let second = register(&store, account).await;

    assert_eq!(
        store
            .endpoints
            .find_endpoint(account, endpoint.id)
            .await
            .unwrap(),
        Some(endpoint.clone())
    );
    assert_eq!(
        store.endpoints.list_endpoints(account).await.unwrap(),
        vec![endpoint.clone(), second]
    );
    assert_eq!(
        store
            .endpoints
            .find_endpoint(other, endpoint.id)
            .await
            .unwrap(),
        None
    );
    assert!(store
        .endpoints
        .list_endpoints(other)
        .await
        .unwrap()
        .is_empty());
    // The secret is kept exactly as sealed: the store never sees it in the clear.
    assert_eq!(
        store.raw.count(&format!(
            "SELECT count(*) FROM webhook_endpoints WHERE secret_ciphertext = '{}'",
            sealed(&endpoint).0
        )),
        1
    );
}

pub async fn no_account_passes_the_endpoint_limit_even_registering_concurrently(store: Store) {
    let account = store.account().await;
    let attempts: Vec<_> = (0..25)
        .map(|_| {
            let endpoints = store.endpoints.clone();
            tokio::spawn(async move {
                let endpoint = endpoint_of(account, EventFilter::all());
                endpoints
                    .insert_endpoint(&endpoint, &sealed(&endpoint), 10, None)
                    .await
            })
        })
        .collect();
    let (mut stored, mut refused) = (0, 0);
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => stored += 1,
            Err(InsertEndpointError::LimitReached) => refused += 1,
            Err(e) => panic!("unexpected failure: {e:?}"),
        }
    }
    assert_eq!((stored, refused), (10, 15));
    assert_eq!(
        store.endpoints.list_endpoints(account).await.unwrap().len(),
        10
    );
    // The limit is per account.
    register(&store, store.account().await).await;
}

pub async fn a_change_sets_only_what_it_names(store: Store) {
    let account = store.account().await;
    let endpoint = register(&store, account).await;
    let new_url = WebhookUrl::parse("https://elsewhere.example/in", UrlRules::default()).unwrap();
    let at = now();
    let changed = store
        .endpoints
        .update_endpoint(
            account,
            endpoint.id,
            &EndpointChange {
                url: Some(new_url.clone()),
                ..EndpointChange::default()
            },
            at,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        changed,
        WebhookEndpoint {
            url: new_url.clone(),
            updated_at: Some(at),
            ..endpoint.clone()
        }
    );
    let filter = EventFilter::new([WebhookEventType::CustomerKycRejected]);
    let changed = store
        .endpoints
        .update_endpoint(
            account,
            endpoint.id,
            &EndpointChange {
                enabled: Some(false),
                filter: Some(filter.clone()),
                description: Some(EndpointDescription::default()),
                ..EndpointChange::default()
            },
            at,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.url, new_url);
    assert_eq!(changed.filter, filter);
    assert!(!changed.enabled);
    assert_eq!(changed.description.as_str(), "");
    let other = store.account().await;
    let change = EndpointChange {
        enabled: Some(true),
        ..EndpointChange::default()
    };
    assert_eq!(
        store
            .endpoints
            .update_endpoint(other, endpoint.id, &change, at)
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .endpoints
            .find_endpoint(account, endpoint.id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
}

pub async fn rotation_keeps_the_previous_secret_until_its_time(store: Store) {
    let account = store.account().await;
    let endpoint = register(&store, account).await;
    let at = now();
    let until = at + TimeDelta::hours(24);
    let rotated = store
        .endpoints
        .rotate_secret(
            account,
            endpoint.id,
            &SealedSecret("v1:second".into()),
            until,
            at,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rotated.updated_at, Some(at));

    let event = customer_created(&store, account, 1).await;
    let target = store
        .deliveries
        .delivery_target(endpoint.id, &event.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(target.secrets.current, SealedSecret("v1:second".into()));
    assert_eq!(target.secrets.previous, Some((sealed(&endpoint), until)));
    assert_eq!(target.body, event.body);
    assert_eq!(target.url, endpoint.url);
    assert!(target.enabled);

    // A second rotation: the secret it replaces is the one that keeps signing.
    store
        .endpoints
        .rotate_secret(
            account,
            endpoint.id,
            &SealedSecret("v1:third".into()),
            until,
            at,
        )
        .await
        .unwrap()
        .unwrap();
    let target = store
        .deliveries
        .delivery_target(endpoint.id, &event.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(target.secrets.current, SealedSecret("v1:third".into()));
    assert_eq!(
        target.secrets.previous,
        Some((SealedSecret("v1:second".into()), until))
    );

    let other = store.account().await;
    assert_eq!(
        store
            .endpoints
            .rotate_secret(other, endpoint.id, &SealedSecret("v1:x".into()), until, at)
            .await
            .unwrap(),
        None
    );
}

pub async fn deleting_an_endpoint_takes_its_deliveries_and_nothing_else(store: Store) {
    let account = store.account().await;
    let doomed = register(&store, account).await;
    let kept = register(&store, account).await;
    let event = customer_created(&store, account, 1).await;
    let other = store.account().await;

    assert!(!store
        .endpoints
        .delete_endpoint(other, doomed.id)
        .await
        .unwrap());
    assert!(store
        .endpoints
        .delete_endpoint(account, doomed.id)
        .await
        .unwrap());
    assert!(!store
        .endpoints
        .delete_endpoint(account, doomed.id)
        .await
        .unwrap());

    assert_eq!(
        store
            .deliveries
            .delivery_target(doomed.id, &event.id)
            .await
            .unwrap(),
        None
    );
    let left = store
        .outbox
        .claim(&deliveries(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert!(store
        .deliveries
        .delivery_target(kept.id, &event.id)
        .await
        .unwrap()
        .is_some());
}

crate::stores::contract_suite!(
    an_endpoint_reads_back_as_registered_and_only_for_its_account,
    no_account_passes_the_endpoint_limit_even_registering_concurrently,
    a_change_sets_only_what_it_names,
    rotation_keeps_the_previous_secret_until_its_time,
    deleting_an_endpoint_takes_its_deliveries_and_nothing_else,
);
