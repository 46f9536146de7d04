//! The KYC submission store contract, run against PostgreSQL and SQLite: claims that keep
//! one submission in flight per customer, outcomes written with the customer's change in
//! one compare-and-set with its history and events, masked listings, and terms-of-service
//! acceptances (likewise with their history and events). Claims in `claims`, outcomes and
//! their history in `finish`, acceptances in `terms`; here, what they share.

mod claims;
mod finish;
mod terms;

use std::sync::Arc;

use chrono::{DurationRound, TimeDelta, Utc};
use domain::{
    AccountId, Customer, CustomerId, KycHistoryEntry, KycOrder, KycSource, KycState, KycStatus,
    KycSubmissionRecord, SignedAgreementId, SubmissionId, SubmissionOutcome, TosStatus,
    WebhookEventType,
};
use ports::{ClaimOutcome, Events, KycChange, NewEvent, SubmissionClaim, SubmissionFinish};
use testkit::{registration, sample_customer};

use crate::lifecycle_contract::TypePresenter;
use crate::stores::Store;

pub(super) fn now() -> chrono::DateTime<Utc> {
    Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap()
}

pub(crate) async fn customer(store: &Store, status: KycStatus) -> Customer {
    let mut customer = sample_customer(store.account().await, "ada@example.com");
    customer.kyc_state.kyc_status = status;
    store
        .customers
        .insert(&registration(&customer))
        .await
        .unwrap();
    customer
}

pub(crate) fn claim(customer: &Customer) -> SubmissionClaim {
    let submitted_at = now();
    SubmissionClaim {
        id: SubmissionId::new_random(),
        account_id: customer.account_id,
        customer_id: customer.id,
        customer_type: customer.customer_type,
        submitted_at,
        summary: testkit::individual_submission().summary(),
        blocking_statuses: vec![KycStatus::UnderReview],
        abandon_before: submitted_at - TimeDelta::minutes(5),
    }
}

/// The change, history entry (applied) and `customer.kyc.updated` event of `before`
/// becoming `after` through a report of `source` at `at`.
pub(super) fn kyc_change(
    before: &Customer,
    after: Customer,
    source: KycSource,
    at: chrono::DateTime<Utc>,
) -> (KycChange, KycHistoryEntry, NewEvent) {
    let history = KycHistoryEntry {
        customer_id: before.id,
        from: before.kyc_state.kyc_status,
        to: after.kyc_state.kyc_status,
        tos_status: after.kyc_state.tos_status,
        source,
        event_id: None,
        at,
        recorded_at: now(),
        applied: true,
    };
    let event = Events::new(Arc::new(TypePresenter)).about(
        WebhookEventType::CustomerKycUpdated,
        &after,
        Some((before.kyc_state.kyc_status, before.kyc_state.tos_status)),
        now(),
    );
    let change = KycChange {
        expected_version: before.version,
        expected_as_of: before.kyc_as_of,
        customer: after,
    };
    (change, history, event)
}

pub(crate) fn accepted(claim: &SubmissionClaim, customer: &Customer) -> SubmissionFinish {
    let mut changed = customer.clone();
    changed.kyc.provider_customer_id = Some("cust_new".into());
    changed.kyc_state = KycState {
        kyc_status: KycStatus::UnderReview,
        tos_status: TosStatus::Approved,
        rejection_reasons: Vec::new(),
    };
    changed.kyc_as_of = KycOrder::at(claim.submitted_at);
    changed.version = customer.version + 1;
    changed.updated_at = Some(now());
    let (change, history, event) =
        kyc_change(customer, changed, KycSource::Api, claim.submitted_at);
    SubmissionFinish {
        id: claim.id,
        outcome: SubmissionOutcome::Accepted,
        kyc_status: Some(KycStatus::UnderReview),
        provider_reference: Some("cust_new".into()),
        refused_fields: Vec::new(),
        finished_at: now(),
        customer: Some(change),
        history: Some(history),
        events: vec![event],
        idempotency: None,
    }
}

/// How many `customer.kyc.updated` events of `customer` were written.
pub(super) fn kyc_updated_events(store: &Store, customer: &Customer) -> i64 {
    store.raw.count(&format!(
        "SELECT count(*) FROM webhook_events WHERE customer_id = '{}' \
         AND event_type = 'customer.kyc.updated'",
        customer.id
    ))
}

/// How many deliveries of `customer`'s events were queued.
pub(super) fn deliveries(store: &Store, customer: &Customer) -> i64 {
    store.raw.count(&format!(
        "SELECT count(*) FROM outbox_jobs j JOIN webhook_events e ON j.event_id = e.id \
         WHERE e.customer_id = '{}'",
        customer.id
    ))
}

pub(crate) async fn claimed(store: &Store, claim: &SubmissionClaim) -> Customer {
    match store.submissions.claim_submission(claim).await.unwrap() {
        ClaimOutcome::Claimed(customer) => *customer,
        other => panic!("expected a claim, got {other:?}"),
    }
}

/// `customer` as the store holds it now.
pub(super) async fn stored_customer(store: &Store, customer: &Customer) -> Customer {
    store
        .customers
        .find(customer.account_id, customer.id)
        .await
        .unwrap()
        .unwrap()
}

/// The submissions of `customer`, newest first (ten at most).
pub(super) async fn submissions_of(store: &Store, customer: &Customer) -> Vec<KycSubmissionRecord> {
    store
        .submissions
        .list_submissions(customer.account_id, customer.id, 10)
        .await
        .unwrap()
        .unwrap()
}

/// The signed agreement stored for `customer_id` as seen by `account`.
pub(super) async fn signed_agreement(
    store: &Store,
    account: AccountId,
    customer_id: CustomerId,
) -> Option<SignedAgreementId> {
    store
        .submissions
        .signed_agreement_id(account, customer_id)
        .await
        .unwrap()
}
