//! The KYC submission store contract, run against PostgreSQL and SQLite: claims that keep
//! one submission in flight per customer, outcomes written with the customer's change in
//! one compare-and-set, masked listings, and terms-of-service acceptances.

use std::sync::Arc;

use chrono::{DurationRound, TimeDelta, Utc};
use domain::{
    Customer, CustomerId, KycOrder, KycState, KycStatus, SignedAgreementId, SubmissionId,
    SubmissionOutcome, TosStatus,
};
use ports::{ClaimOutcome, CustomerKycChange, RepositoryError, SubmissionClaim, SubmissionFinish};
use testkit::{registration, sample_customer};

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
    SubmissionFinish {
        id: claim.id,
        outcome: SubmissionOutcome::Accepted,
        kyc_status: Some(KycStatus::UnderReview),
        provider_reference: Some("cust_new".into()),
        refused_fields: Vec::new(),
        finished_at: now(),
        customer: Some(CustomerKycChange {
            expected_version: customer.version,
            customer: changed,
        }),
        idempotency: None,
    }
}

pub(crate) async fn claimed(store: &Store, claim: &SubmissionClaim) -> Customer {
    match store.submissions.claim_submission(claim).await.unwrap() {
        ClaimOutcome::Claimed(customer) => *customer,
        other => panic!("expected a claim, got {other:?}"),
    }
}

pub async fn an_accepted_submission_changes_the_customer_and_is_listed_masked(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
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
    assert_eq!(stored, finish.customer.unwrap().customer);
    assert_eq!(stored.version, customer.version + 1);

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
    assert!(store
        .submissions
        .record_signed_agreement(id, &agreement, at)
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
    assert_eq!(stored.kyc_state.tos_status, TosStatus::Approved);
    assert_eq!(stored.version, customer.version + 1);
    assert_eq!(stored.updated_at, Some(at));

    // A later acceptance (a replayed ToS state) is answered as done and changes nothing.
    let replayed = SignedAgreementId::parse("replayed-agreement").unwrap();
    assert!(store
        .submissions
        .record_signed_agreement(id, &replayed, at + TimeDelta::seconds(1))
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
    assert_eq!(again.version, stored.version);
    assert_eq!(again.updated_at, Some(at));

    assert!(!store
        .submissions
        .record_signed_agreement(CustomerId::new_random(), &agreement, at)
        .await
        .unwrap());
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
);
