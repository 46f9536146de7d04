//! The webhook store contract — endpoints under the per-account limit, partial changes,
//! rotation, deletion (`endpoints`); deliveries newest first with a cursor, retries, what an
//! attempt reads, the retention clean-up (`deliveries`) — written once and run against both
//! stores. Here: what both use.

mod deliveries;
mod endpoints;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DurationRound, TimeDelta, Utc};
use domain::{
    AccountId, EndpointDescription, EndpointId, EventFilter, UrlRules, WebhookEndpoint,
    WebhookEventType, WebhookUrl,
};
use ports::webhooks::SealedSecret;
use ports::{ClaimRequest, EventDraft, Events, JobKind, NewEvent, Presenter};
use testkit::{registration, sample_customer};

use crate::stores::Store;

pub fn now() -> chrono::DateTime<Utc> {
    Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap()
}

pub fn endpoint_of(account: AccountId, filter: EventFilter) -> WebhookEndpoint {
    WebhookEndpoint {
        id: EndpointId::new_random(),
        account_id: account,
        url: WebhookUrl::parse("https://receiver.example/hook?x=1", UrlRules::default()).unwrap(),
        description: EndpointDescription::parse("orders service").unwrap(),
        filter,
        enabled: true,
        created_at: now(),
        updated_at: None,
    }
}

pub fn sealed(endpoint: &WebhookEndpoint) -> SealedSecret {
    SealedSecret(format!("v1:sealed-for-{}", endpoint.id))
}

pub async fn register(store: &Store, account: AccountId) -> WebhookEndpoint {
    let endpoint = endpoint_of(account, EventFilter::all());
    store
        .endpoints
        .insert_endpoint(&endpoint, &sealed(&endpoint), 10, None)
        .await
        .unwrap();
    endpoint
}

/// Renders an event as its id, so tests can find its body.
pub struct IdPresenter;

impl Presenter for IdPresenter {
    fn event_body(&self, draft: &EventDraft) -> String {
        format!("{{\"id\":\"{}\"}}", draft.id)
    }
}

/// A customer of `account` registered with its `customer.created` event.
pub async fn customer_created(store: &Store, account: AccountId, n: usize) -> NewEvent {
    let customer = sample_customer(account, &format!("c{n}@example.com"));
    let event = Events::new(Arc::new(IdPresenter)).about(
        WebhookEventType::CustomerCreated,
        &customer,
        None,
        customer.created_at,
    );
    store
        .customers
        .insert(&registration(&customer).with_event(event.clone()))
        .await
        .unwrap();
    event
}

pub fn deliveries(lease: Duration) -> ClaimRequest {
    ClaimRequest {
        kind: JobKind::Webhook,
        limit: 50,
        lease,
        per_endpoint: None,
    }
}
