//! A KYC submission under a key on each store: the acceptance, the customer's change and the
//! key's outcome are written in one transaction, or none of them; the submission takes the
//! key's reserved id, and a retry of the request claims that same record again.

use domain::{AccountId, Customer, KycStatus, SubmissionId, SubmissionOutcome};
use ports::{
    Begun, ClaimOutcome, HeldKey, IdempotencyCompletion, RepositoryError, SubmissionClaim,
    SubmissionFinish,
};

use super::{base, claim, completion, fresh, response, scope_at, secs};
use crate::kyc_submission_contract::{accepted, claimed, customer};
use crate::stores::Store;

/// A customer and a key held for a submission about it; the claim takes the reserved id.
async fn keyed_claim(store: &Store) -> (Customer, HeldKey, SubmissionClaim) {
    let customer = customer(store, KycStatus::NotStarted).await;
    let scope = scope_at(
        customer.account_id,
        &format!("/customer/{}/kyc", customer.id),
        "k1",
    );
    let key = fresh(store, &claim(&scope, 1, base())).await;
    let submission = SubmissionClaim {
        id: SubmissionId(key.reserved_id),
        ..crate::kyc_submission_contract::claim(&customer)
    };
    (customer, key, submission)
}

/// The outcome a failed attempt records.
fn failed(claim: &SubmissionClaim) -> SubmissionFinish {
    SubmissionFinish {
        id: claim.id,
        outcome: SubmissionOutcome::Failed,
        kyc_status: None,
        provider_reference: None,
        refused_fields: Vec::new(),
        finished_at: base(),
        customer: None,
        history: None,
        events: Vec::new(),
        idempotency: None,
    }
}

async fn outcome_of(store: &Store, customer: &Customer, id: SubmissionId) -> SubmissionOutcome {
    store
        .submissions
        .find_submission(customer.account_id, customer.id, id)
        .await
        .unwrap()
        .unwrap()
        .outcome
}

pub async fn an_acceptance_finishes_its_key_in_its_own_transaction(store: Store) {
    let (customer, key, submission) = keyed_claim(&store).await;
    claimed(&store, &submission).await;
    let scope = key.scope.clone();
    let finish = SubmissionFinish {
        idempotency: Some(IdempotencyCompletion {
            customer_id: Some(customer.id),
            ..completion(key, base())
        }),
        ..accepted(&submission, &customer)
    };
    store.submissions.finish_submission(&finish).await.unwrap();

    assert_eq!(
        store
            .idempotency
            .begin(&claim(&scope, 1, base() + secs(1)))
            .await
            .unwrap(),
        Begun::Replay(response())
    );
    assert_eq!(
        store
            .customers
            .find(customer.account_id, customer.id)
            .await
            .unwrap(),
        finish.customer.map(|c| c.customer)
    );
    assert_eq!(
        outcome_of(&store, &customer, submission.id).await,
        SubmissionOutcome::Accepted
    );
}

pub async fn an_acceptance_whose_key_was_taken_over_writes_nothing(store: Store) {
    let (customer, stale, submission) = keyed_claim(&store).await;
    claimed(&store, &submission).await;
    // The lease ran out and a retry took the key over.
    let taken = store
        .idempotency
        .begin(&claim(&stale.scope, 1, base() + secs(61)))
        .await
        .unwrap();
    assert_eq!(
        taken,
        Begun::Resume {
            reserved_id: stale.reserved_id
        }
    );
    let finish = SubmissionFinish {
        idempotency: Some(completion(stale, base())),
        ..accepted(&submission, &customer)
    };
    let err = store
        .submissions
        .finish_submission(&finish)
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Unexpected(_)), "{err:?}");
    assert_eq!(
        store
            .customers
            .find(customer.account_id, customer.id)
            .await
            .unwrap(),
        Some(customer.clone()),
        "the customer is unchanged"
    );
    assert_eq!(
        outcome_of(&store, &customer, submission.id).await,
        SubmissionOutcome::Pending
    );
}

pub async fn a_retry_claims_the_same_record_again_until_it_is_accepted(store: Store) {
    let (customer, _key, submission) = keyed_claim(&store).await;
    claimed(&store, &submission).await;
    // The first attempt failed (a 502): the retry runs as the same submission.
    store
        .submissions
        .finish_submission(&failed(&submission))
        .await
        .unwrap();
    let again = SubmissionClaim {
        submitted_at: base() + secs(1),
        ..submission.clone()
    };
    claimed(&store, &again).await;
    assert_eq!(
        outcome_of(&store, &customer, submission.id).await,
        SubmissionOutcome::Pending
    );
    // Its sender stopped with the record pending: a takeover claims it again, while any
    // other submission is still held off by it.
    claimed(&store, &again).await;
    assert_eq!(
        store
            .submissions
            .claim_submission(&crate::kyc_submission_contract::claim(&customer))
            .await
            .unwrap(),
        ClaimOutcome::InProgress
    );
    let listed = store
        .submissions
        .list_submissions(customer.account_id, customer.id, 10)
        .await
        .unwrap()
        .unwrap();
    let [record] = listed.as_slice() else {
        panic!("one record per request: {listed:?}")
    };
    assert_eq!(
        (
            record.id,
            record.outcome,
            record.submitted_at,
            record.finished_at
        ),
        (
            submission.id,
            SubmissionOutcome::Pending,
            again.submitted_at,
            None
        )
    );

    // Once accepted, the record is never claimed again (here the provider approved at
    // once, so no status of the customer's holds the claim off first).
    let mut approved = accepted(&again, &customer);
    if let Some(change) = approved.customer.as_mut() {
        change.customer.kyc_state.kyc_status = KycStatus::Approved;
    }
    store
        .submissions
        .finish_submission(&approved)
        .await
        .unwrap();
    let err = store
        .submissions
        .claim_submission(&again)
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Duplicate), "{err:?}");
}

pub async fn a_submission_is_found_only_by_its_own_account_and_customer(store: Store) {
    let (customer, _key, submission) = keyed_claim(&store).await;
    claimed(&store, &submission).await;
    let found = store
        .submissions
        .find_submission(customer.account_id, customer.id, submission.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.customer_id, found.summary),
        (submission.id, customer.id, submission.summary.clone())
    );
    let stranger = AccountId(uuid::Uuid::new_v4());
    let other = crate::kyc_submission_contract::customer(&store, KycStatus::NotStarted).await;
    for (account, id) in [
        (stranger, customer.id),
        (other.account_id, other.id),
        (customer.account_id, other.id),
    ] {
        assert_eq!(
            store
                .submissions
                .find_submission(account, id, submission.id)
                .await
                .unwrap(),
            None
        );
    }
    // A claim of another customer's submission id takes nothing.
    let err = store
        .submissions
        .claim_submission(&SubmissionClaim {
            id: submission.id,
            ..crate::kyc_submission_contract::claim(&other)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Duplicate), "{err:?}");
}

crate::stores::contract_suite!(
    an_acceptance_finishes_its_key_in_its_own_transaction,
    an_acceptance_whose_key_was_taken_over_writes_nothing,
    a_retry_claims_the_same_record_again_until_it_is_accepted,
    a_submission_is_found_only_by_its_own_account_and_customer,
);
