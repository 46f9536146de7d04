//! The outbox contract — claiming KYC mail jobs with leases, outcomes and their effects, the
//! backlog, racing workers (`mail`); events fanned out to endpoints in the writer's
//! transaction, each endpoint's share of the leases (`deliveries`) — written once and run
//! against both stores. Here: what both use.

mod deliveries;
mod mail;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::{Customer, KycMailStatus};
use ports::{
    AttemptReport, ClaimRequest, EventDraft, Events, JobEnd, JobKind, OutboxJob, Presenter,
};
use testkit::{registration, sample_customer};
use uuid::Uuid;

use crate::stores::Store;

pub(super) const LEASE: Duration = Duration::from_secs(60);

pub(super) fn mails(limit: u32, lease: Duration) -> ClaimRequest {
    ClaimRequest {
        kind: JobKind::KycMail,
        limit,
        lease,
        per_endpoint: None,
    }
}

pub(super) fn deliveries(limit: u32, per_endpoint: Option<u32>) -> ClaimRequest {
    ClaimRequest {
        kind: JobKind::Webhook,
        limit,
        lease: LEASE,
        per_endpoint,
    }
}

pub(super) fn report(end: JobEnd, error: Option<&str>) -> AttemptReport {
    AttemptReport {
        end,
        error: error.map(str::to_owned),
        http_status: None,
        at: Utc::now(),
    }
}

pub(super) async fn insert(store: &Store, email: &str, send_kyc_mail: bool) -> Customer {
    let mut customer = sample_customer(store.account().await, email);
    customer.send_kyc_mail = send_kyc_mail;
    customer.kyc_mail_status = KycMailStatus::initial(send_kyc_mail);
    store
        .customers
        .insert(&registration(&customer))
        .await
        .unwrap();
    customer
}

pub(super) async fn reread(store: &Store, customer: &Customer) -> Customer {
    store
        .directory
        .customer_by_id(customer.id)
        .await
        .unwrap()
        .unwrap()
}

/// Registers a webhook endpoint for `account` with `filter` (JSON array of type names).
pub(crate) fn endpoint(
    store: &Store,
    account: domain::AccountId,
    filter: &str,
    enabled: bool,
) -> Uuid {
    let id = Uuid::new_v4();
    store.raw.execute(&format!(
        "INSERT INTO webhook_endpoints (id, account_id, url, events, enabled, \
         secret_ciphertext, created_at) VALUES ('{id}', '{account}', \
         'https://receiver.example/hook', '{filter}', {enabled}, 'sealed', \
         '2026-01-01T00:00:00.000Z')"
    ));
    id
}

/// Renders an event as its type, so tests can see what was written.
pub(super) struct TypePresenter;

impl Presenter for TypePresenter {
    fn event_body(&self, draft: &EventDraft) -> String {
        format!("{{\"type\":\"{}\"}}", draft.event_type)
    }
}

pub(super) fn events() -> Events {
    Events::new(Arc::new(TypePresenter))
}

/// What one claim of `request` leases.
pub(super) async fn claim(store: &Store, request: &ClaimRequest) -> Vec<OutboxJob> {
    store.outbox.claim(request).await.unwrap()
}
