//! Claims: one submission in flight per customer, a new one after a refusal or failure, a
//! stale pending one abandoned, racing claims, and nothing across accounts.

use std::sync::Arc;

use chrono::TimeDelta;
use domain::{KycStatus, SubmissionOutcome};
use ports::{ClaimOutcome, SubmissionFinish};

use super::{claim, claimed, customer, now, signed_agreement, stored_customer, submissions_of};
use crate::stores::Store;

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
    // One millisecond apart: the listing is newest first, and claims made within the same
    // millisecond would tie (then ordered by their random ids).
    let first = now();
    let at = |n: i64| first + TimeDelta::milliseconds(n);
    for (n, outcome) in [
        (0, SubmissionOutcome::Refused),
        (1, SubmissionOutcome::Failed),
    ] {
        let mut claim = claim(&customer);
        claim.submitted_at = at(n);
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
    let mut last = claim(&customer);
    last.submitted_at = at(2);
    claimed(&store, &last).await;
    let listed = submissions_of(&store, &customer).await;
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
    let stored = stored_customer(&store, &customer).await;
    assert_eq!(stored, customer);
}

pub async fn a_pending_claim_older_than_the_limit_is_abandoned(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    let mut old = claim(&customer);
    old.submitted_at -= TimeDelta::minutes(10);
    claimed(&store, &old).await;
    let fresh = claim(&customer);
    claimed(&store, &fresh).await;
    let listed = submissions_of(&store, &customer).await;
    assert_eq!(listed[0].id, fresh.id);
    assert_eq!(listed[1].outcome, SubmissionOutcome::Abandoned);
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
    assert_eq!(signed_agreement(&store, stranger, customer.id).await, None);
    assert_eq!(
        store
            .submissions
            .list_submissions(customer.account_id, customer.id, 10)
            .await
            .unwrap(),
        Some(Vec::new())
    );
}

crate::stores::contract_suite!(
    a_second_claim_while_one_is_pending_or_under_review_is_in_progress,
    after_a_refusal_or_a_failure_a_new_claim_is_allowed,
    a_pending_claim_older_than_the_limit_is_abandoned,
    concurrent_claims_for_one_customer_take_exactly_one,
    nothing_crosses_accounts,
);
