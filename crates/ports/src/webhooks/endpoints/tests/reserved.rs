//! Registering an endpoint under an idempotency key: the reserved id, and the key's outcome
//! handed to the store with the endpoint (and only when the endpoint is written).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{account, new_endpoint, open_sender, service, tagging_box};
use crate::idempotency::{HeldKey, IdempotencyKey, IdempotencyScope, Reservation};
use crate::webhooks::{
    CreatedEndpoint, EndpointError, InsertEndpointError, ManageWebhookEndpoints,
    MockWebhookEndpointRepository,
};
use crate::{IdempotencyCompletion, StoredResponse};
use chrono::Utc;
use domain::EndpointId;
use uuid::Uuid;

const RESERVED: Uuid = Uuid::from_u128(0xe5);

/// A reservation whose stored answer names the endpoint and withholds its secret, as the
/// HTTP layer's renderer does.
fn reservation() -> Reservation<CreatedEndpoint> {
    let key = HeldKey {
        scope: IdempotencyScope {
            account: account(),
            method: "POST".into(),
            path: "/webhook-endpoints".into(),
            key: IdempotencyKey::parse("k").unwrap(),
        },
        reserved_id: RESERVED,
        lease_until: Utc::now() + chrono::TimeDelta::seconds(60),
    };
    Reservation::new(
        key,
        Duration::from_secs(3600),
        Arc::new(|created: &CreatedEndpoint| StoredResponse {
            status: 201,
            content_type: None,
            location: None,
            body: format!("{} secret=null", created.endpoint.id).into_bytes(),
        }),
    )
}

#[tokio::test]
async fn a_reserved_registration_stores_the_endpoint_under_the_reserved_id_with_its_keys_outcome() {
    let written: Arc<Mutex<Vec<IdempotencyCompletion>>> = Arc::default();
    let record = written.clone();
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_insert_endpoint()
        .times(1)
        .withf(|endpoint, sealed, _, _| {
            endpoint.id == EndpointId(RESERVED)
                && sealed.0.starts_with(&format!("{RESERVED}:whsec_"))
        })
        .returning(move |_, _, _, completion| {
            record.lock().unwrap().extend(completion);
            Ok(())
        });
    let created = service(repo, tagging_box(), open_sender())
        .create_endpoint_reserved(account(), new_endpoint(), reservation())
        .await
        .unwrap();
    assert_eq!(created.endpoint.id, EndpointId(RESERVED));
    assert!(created.secret.expose().starts_with("whsec_"));
    let written = written.lock().unwrap();
    let [completion] = written.as_slice() else {
        panic!("{written:?}")
    };
    assert_eq!(completion.key.reserved_id, RESERVED);
    assert_eq!(
        completion.response.body,
        format!("{RESERVED} secret=null").into_bytes()
    );
    assert_eq!(completion.customer_id, None);
    assert!(completion.expires_at > created.endpoint.created_at);
}

#[tokio::test]
async fn a_reserved_registration_over_the_limit_is_refused_and_the_key_left_to_the_caller() {
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_insert_endpoint()
        .times(1)
        .returning(|_, _, _, _| Err(InsertEndpointError::LimitReached));
    let err = service(repo, tagging_box(), open_sender())
        .create_endpoint_reserved(account(), new_endpoint(), reservation())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EndpointError::LimitReached { limit: 10 }),
        "{err:?}"
    );
}
