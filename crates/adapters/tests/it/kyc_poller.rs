//! Polling against a local HTTP server playing Bridge: the Bridge adapter's read-back
//! (`GET /v0/kyc_links/{id}`, `GET /v0/customers/{id}`), the poller over a real store, and two
//! instances polling one PostgreSQL database.

use std::sync::Arc;
use std::time::Duration;

use adapters::bridge::BridgeKycProvider;
use domain::{Customer, KycStatus, ProviderRef, TosStatus};
use ports::{
    EventDraft, Events, KycLifecycleService, KycProvider, KycProviderError, KycSyncWorker,
    NoSyncObserver, Presenter, SyncRound, SyncSettings,
};
use serde_json::json;
use testkit::{registration, sample_customer, TestPostgres};
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::bridge::settings;
use crate::stores::{open_postgres, Store};

fn bridge(server: &MockServer) -> Arc<dyn KycProvider> {
    Arc::new(BridgeKycProvider::new(settings(&server.uri())).unwrap())
}

/// Bridge with timeouts no busy test machine reaches, for tests that count every call.
fn patient_bridge(server: &MockServer) -> Arc<dyn KycProvider> {
    Arc::new(
        BridgeKycProvider::new(adapters::bridge::BridgeSettings {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(20),
            ..settings(&server.uri())
        })
        .unwrap(),
    )
}

fn link_answer(id: &str, status: &str) -> serde_json::Value {
    json!({
        "id": id, "email": "ada@example.com", "type": "individual",
        "kyc_link": "https://bridge.withpersona.com/verify?x", "tos_link": "https://dashboard.bridge.xyz/tos",
        "kyc_status": status, "tos_status": "approved", "rejection_reasons": [],
        "customer_id": "cust_from_bridge", "created_at": "2024-12-01T18:46:15.392Z"
    })
}

#[tokio::test]
async fn bridge_reads_a_kyc_link_back_with_its_api_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v0/kyc_links/kyc_link_123"))
        .and(header("Api-Key", "sk-test-123"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(link_answer("kyc_link_123", "under_review")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let state = bridge(&server)
        .fetch_kyc_state(&ProviderRef::KycLink("kyc_link_123".into()))
        .await
        .unwrap();
    assert_eq!(state.kyc_status, Some(KycStatus::UnderReview));
    assert_eq!(state.tos_status, Some(TosStatus::Approved));
    assert_eq!(state.rejection_reasons, Some(vec![]));
    assert_eq!(
        state.provider_customer_id.as_deref(),
        Some("cust_from_bridge")
    );
}

#[tokio::test]
async fn bridge_reads_a_customer_back_by_its_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v0/customers/cust_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cust_1", "first_name": "Ada", "status": "active",
            "has_accepted_terms_of_service": true, "rejection_reasons": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let state = bridge(&server)
        .fetch_kyc_state(&ProviderRef::ProviderCustomer("cust_1".into()))
        .await
        .unwrap();
    assert_eq!(state.kyc_status, Some(KycStatus::Approved));
    assert_eq!(state.tos_status, Some(TosStatus::Approved));
}

#[tokio::test]
async fn an_id_is_one_path_segment_whatever_it_holds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v0/kyc_links/a%2F..%2Fb%3Fc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(link_answer("x", "incomplete")))
        .expect(1)
        .mount(&server)
        .await;
    let state = bridge(&server)
        .fetch_kyc_state(&ProviderRef::KycLink("a/../b?c".into()))
        .await
        .unwrap();
    assert_eq!(state.kyc_status, Some(KycStatus::Incomplete));
}

#[tokio::test]
async fn bridge_failures_and_unknown_values_are_errors_not_states() {
    let server = MockServer::start().await;
    for (id, answer) in [
        (
            "gone",
            ResponseTemplate::new(404).set_body_json(json!({"code": "not_found"})),
        ),
        ("down", ResponseTemplate::new(500)),
        ("busy", ResponseTemplate::new(429)),
        ("forbidden", ResponseTemplate::new(401)),
        (
            "garbled",
            ResponseTemplate::new(200).set_body_string("<html>"),
        ),
        (
            "novel",
            ResponseTemplate::new(200).set_body_json(link_answer("novel", "pending_magic")),
        ),
        (
            "slow",
            ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v0/kyc_links/{id}")))
            .respond_with(answer)
            .mount(&server)
            .await;
    }
    let provider = bridge(&server);
    for id in ["gone", "down", "busy", "forbidden", "garbled", "novel"] {
        let err = provider
            .fetch_kyc_state(&ProviderRef::KycLink(id.into()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, KycProviderError::Unavailable(_)),
            "{id}: {err:?}"
        );
    }
    let err = provider
        .fetch_kyc_state(&ProviderRef::KycLink("slow".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, KycProviderError::Timeout), "{err:?}");
}

/// Renders an event as its type.
struct TypePresenter;

impl Presenter for TypePresenter {
    fn event_body(&self, draft: &EventDraft) -> String {
        format!("{{\"type\":\"{}\"}}", draft.event_type)
    }
}

fn worker(store: &Store, provider: Arc<dyn KycProvider>, batch: u32) -> KycSyncWorker {
    let lifecycle = KycLifecycleService::new(
        store.kyc.clone(),
        store.customers.clone(),
        Events::new(Arc::new(TypePresenter)),
    );
    KycSyncWorker::new(
        store.sync.clone(),
        provider,
        Arc::new(lifecycle),
        Arc::new(NoSyncObserver),
        SyncSettings {
            interval: Duration::ZERO,
            batch,
            lease: Duration::from_secs(60),
            concurrency: 4,
            pause: Duration::from_millis(10),
        },
    )
}

/// A Bridge customer with link `link`, not started.
async fn insert(store: &Store, email: &str, link: &str) -> Customer {
    let mut customer = sample_customer(store.account().await, email);
    customer.kyc.provider_link_id = Some(link.to_owned());
    customer.kyc.provider_customer_id = None;
    customer.kyc_state = domain::KycState::not_started();
    store
        .customers
        .insert(&registration(&customer))
        .await
        .unwrap();
    customer
}

async fn reread(store: &Store, customer: &Customer) -> Customer {
    store
        .directory
        .customer_by_id(customer.id)
        .await
        .unwrap()
        .unwrap()
}

pub async fn the_poller_applies_what_bridge_reports_and_leaves_failures_untouched(store: Store) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v0/kyc_links/link_ok"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(link_answer("link_ok", "under_review")),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v0/kyc_links/link_down"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let ok = insert(&store, "ok@example.com", "link_ok").await;
    let down = insert(&store, "down@example.com", "link_down").await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let round = worker(&store, patient_bridge(&server), 10)
        .run_round()
        .await
        .unwrap();
    assert_eq!(
        round,
        SyncRound {
            claimed: 2,
            changed: 1,
            provider_errors: 1,
            ..SyncRound::default()
        }
    );
    let polled = reread(&store, &ok).await;
    assert_eq!(polled.kyc_state.kyc_status, KycStatus::UnderReview);
    assert_eq!(polled.kyc_state.tos_status, TosStatus::Approved);
    assert_eq!(
        polled.kyc.provider_customer_id.as_deref(),
        Some("cust_from_bridge")
    );
    assert!(polled.last_synced_at.is_some());
    let history = store.kyc.history(ok.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].source, domain::KycSource::Poll);
    assert_eq!(history[0].event_id, None);
    // The failure touched nothing, and its lease keeps it out of the next round.
    assert_eq!(reread(&store, &down).await, down);
    let next = worker(&store, patient_bridge(&server), 10)
        .run_round()
        .await
        .unwrap();
    assert_eq!(
        next.claimed, 1,
        "only the synced customer is due again at once"
    );
    assert_eq!(next.unchanged, 1);
    assert_eq!(store.kyc.history(ok.id).await.unwrap().len(), 1);
}

crate::stores::contract_suite!(
    the_poller_applies_what_bridge_reports_and_leaves_failures_untouched
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_polling_one_postgres_database_never_double_apply() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v0/kyc_links/link_\d+$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(link_answer("any", "approved"))
                .set_delay(Duration::from_millis(20)),
        )
        .mount(&server)
        .await;
    // Two instances: two stores (two pools) on one database.
    let first = crate::stores::store_on(open_postgres(&db), &db);
    let second = crate::stores::store_on(open_postgres(&db), &db);
    let mut customers = Vec::new();
    for i in 0..40 {
        customers.push(insert(&first, &format!("c{i}@example.com"), &format!("link_{i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(5)).await;

    let run = |store: Store, provider: Arc<dyn KycProvider>| {
        tokio::spawn(async move {
            let worker = worker(&store, provider, 5);
            let mut claimed = 0;
            loop {
                let round = worker.run_round().await.unwrap();
                if round.claimed == 0 {
                    return claimed;
                }
                claimed += round.claimed;
            }
        })
    };
    let a = run(first.clone(), patient_bridge(&server));
    let b = run(second, patient_bridge(&server));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a + b, 40, "instances leased {a} and {b}");
    assert!(a > 0 && b > 0, "both instances took part ({a}, {b})");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        40,
        "Bridge was asked once per customer, not {} times",
        requests.len()
    );
    assert_eq!(
        first
            .raw
            .count("SELECT count(*) FROM kyc_history WHERE applied"),
        40
    );
    for customer in &customers {
        let after = reread(&first, customer).await;
        assert_eq!(after.kyc_state.kyc_status, KycStatus::Approved);
        assert_eq!(after.version, customer.version + 1);
    }
}
