//! The KYC submission store contract, run against PostgreSQL and SQLite: claims that keep
//! one submission in flight per customer, outcomes written with the customer's change in
//! one compare-and-set with its history and events, masked listings, and terms-of-service
//! acceptances (likewise with their history and events).

use std::sync::Arc;

use chrono::{DurationRound, TimeDelta, Utc};
use domain::{
    Customer, CustomerId, KycHistoryEntry, KycOrder, KycSource, KycState, KycStatus,
    SignedAgreementId, SubmissionId, SubmissionOutcome, TosStatus, WebhookEventType,
};
use ports::{
    AgreementAcceptance, ClaimOutcome, Events, KycChange, NewEvent, RepositoryError,
    SubmissionClaim, SubmissionFinish,
};
use testkit::{registration, sample_customer};

use crate::lifecycle_contract::{endpoint, TypePresenter};
use crate::stores::Store;

fn now() -> chrono::DateTime<Utc> {
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
fn kyc_change(
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

/// The first terms-of-service acceptance of `customer` at `at`, with its change.
fn acceptance(
    customer: &Customer,
    agreement: &SignedAgreementId,
    at: chrono::DateTime<Utc>,
) -> AgreementAcceptance {
    let mut changed = customer.clone();
    changed.kyc_state.tos_status = TosStatus::Approved;
    changed.kyc_as_of = KycOrder::at(at);
    changed.version = customer.version + 1;
    changed.updated_at = Some(at);
    let (change, history, event) = kyc_change(customer, changed, KycSource::TosRedirect, at);
    AgreementAcceptance {
        customer_id: customer.id,
        agreement: agreement.clone(),
        at,
        change: Some(change),
        history: Some(history),
        events: vec![event],
    }
}

/// How many `customer.kyc.updated` events of `customer` were written.
fn kyc_updated_events(store: &Store, customer: &Customer) -> i64 {
    store.raw.count(&format!(
        "SELECT count(*) FROM webhook_events WHERE customer_id = '{}' \
         AND event_type = 'customer.kyc.updated'",
        customer.id
    ))
}

/// How many deliveries of `customer`'s events were queued.
fn deliveries(store: &Store, customer: &Customer) -> i64 {
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

pub async fn an_accepted_submission_changes_the_customer_and_is_listed_masked(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    endpoint(&store, customer.account_id);
    let claim = claim(&customer);
    assert_eq!(claimed(&store, &claim).await, customer);
    let finish = accepted(&claim, &customer);
    store.submissions.finish_submission(&finish).await.unwrap();

    let stored = store
        .customers
        .find(customer.account_id, customer.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, finish.customer.clone().unwrap().customer);
    assert_eq!(stored.version, customer.version + 1);

    // The change's history entry and its event, written with it.
    let history = store.kyc.history(customer.id).await.unwrap();
    assert_eq!(history, [finish.history.clone().unwrap()]);
    assert_eq!(history[0].source, KycSource::Api);
    assert_eq!(
        (history[0].from, history[0].to),
        (KycStatus::NotStarted, KycStatus::UnderReview)
    );
    assert_eq!(kyc_updated_events(&store, &customer), 1);
    assert_eq!(deliveries(&store, &customer), 1);

    let listed = store
        .submissions
        .list_submissions(customer.account_id, customer.id, 10)
        .await
        .unwrap()
        .unwrap();
    let [record] = listed.as_slice() else {
        panic!("{listed:?}")
    };
    assert_eq!(record.id, claim.id);
    assert_eq!(record.outcome, SubmissionOutcome::Accepted);
    assert_eq!(record.kyc_status, Some(KycStatus::UnderReview));
    assert_eq!(record.provider_reference.as_deref(), Some("cust_new"));
    assert_eq!(record.summary, claim.summary);
    assert_eq!(record.submitted_at, claim.submitted_at);
    assert!(record.finished_at.is_some());
    let shown = format!("{record:?}");
    for secret in [
        testkit::SUBMITTED_SSN,
        testkit::SUBMITTED_BIRTH_DATE,
        "Lovelace",
    ] {
        assert!(!shown.contains(secret), "{secret} kept in {shown}");
    }
}

pub async fn a_second_claim_while_one_is_pending_or_under_review_is_in_progress(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    claimed(&store, &claim(&customer)).await;
    assert_eq!(
        store
            .submissions
            .claim_submission(&claim(&customer))
            .await
            .unwrap(),
        ClaimOutcome::InProgress
    );
    let reviewed = crate::kyc_submission_contract::customer(&store, KycStatus::UnderReview).await;
    assert_eq!(
        store
            .submissions
            .claim_submission(&claim(&reviewed))
            .await
            .unwrap(),
        ClaimOutcome::InProgress
    );
}

pub async fn after_a_refusal_or_a_failure_a_new_claim_is_allowed(store: Store) {
    let customer = customer(&store, KycStatus::Rejected).await;
    for outcome in [SubmissionOutcome::Refused, SubmissionOutcome::Failed] {
        let claim = claim(&customer);
        claimed(&store, &claim).await;
        store
            .submissions
            .finish_submission(&SubmissionFinish {
                id: claim.id,
                outcome,
                kyc_status: None,
                provider_reference: None,
                refused_fields: vec!["identifying_information[0].number".into()],
                finished_at: now(),
                customer: None,
                history: None,
                events: Vec::new(),
                idempotency: None,
            })
            .await
            .unwrap();
    }
    claimed(&store, &claim(&customer)).await;
    let listed = store
        .submissions
        .list_submissions(customer.account_id, customer.id, 10)
        .await
        .unwrap()
        .unwrap();
    let outcomes: Vec<_> = listed.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            SubmissionOutcome::Pending,
            SubmissionOutcome::Failed,
            SubmissionOutcome::Refused
        ]
    );
    assert_eq!(
        listed[2].refused_fields,
        ["identifying_information[0].number"]
    );
    // The customer itself did not change.
    let stored = store
        .customers
        .find(customer.account_id, customer.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, customer);
}

pub async fn a_pending_claim_older_than_the_limit_is_abandoned(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    let mut old = claim(&customer);
    old.submitted_at -= TimeDelta::minutes(10);
    claimed(&store, &old).await;
    let fresh = claim(&customer);
    claimed(&store, &fresh).await;
    let listed = store
        .submissions
        .list_submissions(customer.account_id, customer.id, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed[0].id, fresh.id);
    assert_eq!(listed[1].outcome, SubmissionOutcome::Abandoned);
}

pub async fn a_moved_version_is_a_conflict_and_nothing_is_written(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    endpoint(&store, customer.account_id);
    let claim = claim(&customer);
    claimed(&store, &claim).await;
    let mut finish = accepted(&claim, &customer);
    if let Some(change) = finish.customer.as_mut() {
        change.expected_version += 7;
    }
    let err = store
        .submissions
        .finish_submission(&finish)
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Conflict), "{err:?}");
    assert!(store.kyc.history(customer.id).await.unwrap().is_empty());
    assert_eq!(kyc_updated_events(&store, &customer), 0);
    let stored = store
        .customers
        .find(customer.account_id, customer.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, customer);
    let listed = store
        .submissions
        .list_submissions(customer.account_id, customer.id, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed[0].outcome, SubmissionOutcome::Pending);
}

pub async fn concurrent_claims_for_one_customer_take_exactly_one(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (store, claim) = (store.clone(), claim(&customer));
            tokio::spawn(async move { store.submissions.claim_submission(&claim).await })
        })
        .collect();
    let mut claimed = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            ClaimOutcome::Claimed(_) => claimed += 1,
            ClaimOutcome::InProgress => {}
            ClaimOutcome::NotFound => panic!("the customer exists"),
        }
    }
    assert_eq!(claimed, 1);
}

pub async fn nothing_crosses_accounts(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    let stranger = store.account().await;
    let mut foreign = claim(&customer);
    foreign.account_id = stranger;
    assert_eq!(
        store.submissions.claim_submission(&foreign).await.unwrap(),
        ClaimOutcome::NotFound
    );
    assert_eq!(
        store
            .submissions
            .list_submissions(stranger, customer.id, 10)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .submissions
            .signed_agreement_id(stranger, customer.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .submissions
            .list_submissions(customer.account_id, customer.id, 10)
            .await
            .unwrap(),
        Some(Vec::new())
    );
}

pub async fn only_the_first_terms_acceptance_is_stored_as_a_change(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    endpoint(&store, customer.account_id);
    let (account, id) = (customer.account_id, customer.id);
    assert_eq!(
        store
            .submissions
            .signed_agreement_id(account, id)
            .await
            .unwrap(),
        None
    );
    let agreement = SignedAgreementId::parse("4d5d8c45-9feb-422a-bb5e-0fd32e3b3c53").unwrap();
    let at = now();
    let first = acceptance(&customer, &agreement, at);
    assert!(store
        .submissions
        .record_signed_agreement(&first)
        .await
        .unwrap());
    assert_eq!(
        store
            .submissions
            .signed_agreement_id(account, id)
            .await
            .unwrap(),
        Some(agreement.clone())
    );
    let stored = store.customers.find(account, id).await.unwrap().unwrap();
    assert_eq!(stored, first.change.clone().unwrap().customer);
    assert_eq!(stored.kyc_state.tos_status, TosStatus::Approved);
    assert_eq!(stored.version, customer.version + 1);
    assert_eq!(stored.updated_at, Some(at));
    // Its history entry and its event, written with it.
    let history = store.kyc.history(id).await.unwrap();
    assert_eq!(history, [first.history.clone().unwrap()]);
    assert_eq!(history[0].source, KycSource::TosRedirect);
    assert_eq!(history[0].tos_status, TosStatus::Approved);
    assert_eq!(kyc_updated_events(&store, &customer), 1);
    assert_eq!(deliveries(&store, &customer), 1);

    // A later acceptance (a replayed ToS state) is answered as done and writes nothing,
    // whatever change it brings.
    let replayed = SignedAgreementId::parse("replayed-agreement").unwrap();
    assert!(store
        .submissions
        .record_signed_agreement(&acceptance(&stored, &replayed, at + TimeDelta::seconds(1)))
        .await
        .unwrap());
    assert_eq!(
        store
            .submissions
            .signed_agreement_id(account, id)
            .await
            .unwrap(),
        Some(agreement.clone())
    );
    let again = store.customers.find(account, id).await.unwrap().unwrap();
    assert_eq!(again, stored);
    assert_eq!(store.kyc.history(id).await.unwrap().len(), 1);
    assert_eq!(kyc_updated_events(&store, &customer), 1);

    let mut stranger = customer.clone();
    stranger.id = CustomerId::new_random();
    assert!(!store
        .submissions
        .record_signed_agreement(&acceptance(&stranger, &agreement, at))
        .await
        .unwrap());
}

pub async fn a_terms_acceptance_on_a_moved_customer_is_a_conflict_and_nothing_is_written(
    store: Store,
) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    endpoint(&store, customer.account_id);
    let agreement = SignedAgreementId::parse("agr-1").unwrap();
    let mut moved = acceptance(&customer, &agreement, now());
    if let Some(change) = moved.change.as_mut() {
        change.expected_version += 1;
    }
    let err = store
        .submissions
        .record_signed_agreement(&moved)
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Conflict), "{err:?}");
    assert_eq!(
        store
            .submissions
            .signed_agreement_id(customer.account_id, customer.id)
            .await
            .unwrap(),
        None
    );
    let stored = store
        .customers
        .find(customer.account_id, customer.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, customer);
    assert!(store.kyc.history(customer.id).await.unwrap().is_empty());
    assert_eq!(kyc_updated_events(&store, &customer), 0);

    // Terms a provider report approved already: only the acceptance is stored.
    let unchanged = AgreementAcceptance {
        change: None,
        history: None,
        events: Vec::new(),
        ..moved
    };
    assert!(store
        .submissions
        .record_signed_agreement(&unchanged)
        .await
        .unwrap());
    assert_eq!(
        store
            .submissions
            .signed_agreement_id(customer.account_id, customer.id)
            .await
            .unwrap(),
        Some(agreement)
    );
    let stored = store
        .customers
        .find(customer.account_id, customer.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, customer);
    assert_eq!(kyc_updated_events(&store, &customer), 0);
}

crate::stores::contract_suite!(
    an_accepted_submission_changes_the_customer_and_is_listed_masked,
    a_second_claim_while_one_is_pending_or_under_review_is_in_progress,
    after_a_refusal_or_a_failure_a_new_claim_is_allowed,
    a_pending_claim_older_than_the_limit_is_abandoned,
    a_moved_version_is_a_conflict_and_nothing_is_written,
    concurrent_claims_for_one_customer_take_exactly_one,
    nothing_crosses_accounts,
    only_the_first_terms_acceptance_is_stored_as_a_change,
    a_terms_acceptance_on_a_moved_customer_is_a_conflict_and_nothing_is_written,
);
