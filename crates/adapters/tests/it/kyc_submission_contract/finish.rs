//! A submission's outcome: written with the customer's change in one compare-and-set, with
//! its history entry and events, and listed masked.

use domain::{KycSource, KycStatus, SubmissionOutcome};
use ports::RepositoryError;

use super::{
    accepted, claim, claimed, customer, deliveries, kyc_updated_events, stored_customer,
    submissions_of,
};
use crate::lifecycle_contract::endpoint;
use crate::stores::Store;

pub async fn an_accepted_submission_changes_the_customer_and_is_listed_masked(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    endpoint(&store, customer.account_id);
    let claim = claim(&customer);
    assert_eq!(claimed(&store, &claim).await, customer);
    let finish = accepted(&claim, &customer);
    store.submissions.finish_submission(&finish).await.unwrap();

    let stored = stored_customer(&store, &customer).await;
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

    let listed = submissions_of(&store, &customer).await;
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
    let stored = stored_customer(&store, &customer).await;
    assert_eq!(stored, customer);
    let listed = submissions_of(&store, &customer).await;
    assert_eq!(listed[0].outcome, SubmissionOutcome::Pending);
}

crate::stores::contract_suite!(
    an_accepted_submission_changes_the_customer_and_is_listed_masked,
    a_moved_version_is_a_conflict_and_nothing_is_written,
);
