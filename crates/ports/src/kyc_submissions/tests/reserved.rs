//! The KYC submission under an idempotency key: the reserved id, the key's outcome written
//! with the acceptance (and only with it), and the look-up a takeover answers from.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use domain::{CustomerType, KycStatus, KycSubmissionRecord, SubmissionId, SubmissionOutcome};
use uuid::Uuid;

use super::{accepted, account, customer, customer_id, finding, providing, service, submission};
use crate::idempotency::{HeldKey, IdempotencyKey, IdempotencyScope, Reservation};
use crate::kyc_submissions::{
    ClaimOutcome, KycSubmitError, MockKycSubmissionRepository, SubmissionFinish, SubmitKyc,
    SubmitKycError,
};
use crate::{MockCustomerRepository, MockKycProvider, RepositoryError, StoredResponse};

const RESERVED: Uuid = Uuid::from_u128(0x5ab);

/// A reservation whose answer names the customer's version and KYC status, so a test can
/// tell which state of the customer it was rendered from.
fn reservation() -> Reservation<domain::Customer> {
    let key = HeldKey {
        scope: IdempotencyScope {
            account: account(),
            method: "POST".into(),
            path: format!("/customer/{}/kyc", customer_id()),
            key: IdempotencyKey::parse("k").unwrap(),
        },
        reserved_id: RESERVED,
        lease_until: Utc::now() + chrono::TimeDelta::seconds(60),
    };
    Reservation::new(
        key,
        Duration::from_secs(3600),
        Arc::new(|c: &domain::Customer| StoredResponse {
            status: 202,
            content_type: None,
            location: None,
            body: format!("v{} {}", c.version, c.kyc_state.kyc_status.as_str()).into_bytes(),
        }),
    )
}

/// A store that claims under the reserved id and records every finish.
fn claiming_reserved(finishes: Arc<Mutex<Vec<SubmissionFinish>>>) -> MockKycSubmissionRepository {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_claim_submission()
        .times(1)
        .withf(|claim| claim.id == SubmissionId(RESERVED))
        .returning(|_| {
            Ok(ClaimOutcome::Claimed(Box::new(customer(
                KycStatus::NotStarted,
            ))))
        });
    submissions.expect_finish_submission().returning(move |f| {
        finishes.lock().unwrap().push(f.clone());
        Ok(())
    });
    submissions
}

#[tokio::test]
async fn an_accepted_reserved_submission_finishes_its_key_with_the_acceptance() {
    let finishes = Arc::new(Mutex::new(Vec::new()));
    let customer = service(
        finding(KycStatus::NotStarted),
        claiming_reserved(finishes.clone()),
        providing(|| Ok(accepted())),
    )
    .submit_kyc_reserved(
        account(),
        customer_id(),
        submission(Some("agr-1")),
        reservation(),
    )
    .await
    .unwrap();
    let finishes = finishes.lock().unwrap();
    let [finish] = finishes.as_slice() else {
        panic!("{finishes:?}")
    };
    assert_eq!(finish.id, SubmissionId(RESERVED));
    let completion = finish.idempotency.as_ref().expect("the key's outcome");
    assert_eq!(completion.key.reserved_id, RESERVED);
    assert_eq!(completion.response.body, b"v4 under_review");
    assert_eq!(completion.customer_id, Some(customer_id()));
    assert_eq!(customer.version, 4);
}

#[tokio::test]
async fn a_lost_race_renders_the_keys_answer_from_the_customer_as_finally_changed() {
    let finishes = Arc::new(Mutex::new(Vec::new()));
    let mut customers = MockCustomerRepository::new();
    let mut reads = 0;
    customers.expect_find().returning(move |_, _| {
        reads += 1;
        let mut c = customer(KycStatus::NotStarted);
        // Someone changed the customer between the claim and the finish.
        c.version = if reads == 1 { 3 } else { 7 };
        Ok(Some(c))
    });
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_claim_submission()
        .times(1)
        .returning(|_| {
            Ok(ClaimOutcome::Claimed(Box::new(customer(
                KycStatus::NotStarted,
            ))))
        });
    let recorded = finishes.clone();
    submissions.expect_finish_submission().returning(move |f| {
        recorded.lock().unwrap().push(f.clone());
        if f.customer.as_ref().unwrap().expected_version == 3 {
            Err(RepositoryError::Conflict)
        } else {
            Ok(())
        }
    });
    let customer = service(customers, submissions, providing(|| Ok(accepted())))
        .submit_kyc_reserved(
            account(),
            customer_id(),
            submission(Some("agr-1")),
            reservation(),
        )
        .await
        .unwrap();
    assert_eq!(customer.version, 8);
    let finishes = finishes.lock().unwrap();
    let bodies: Vec<&[u8]> = finishes
        .iter()
        .map(|f| f.idempotency.as_ref().unwrap().response.body.as_slice())
        .collect();
    assert_eq!(bodies, [&b"v4 under_review"[..], &b"v8 under_review"[..]]);
}

#[tokio::test]
async fn a_refused_or_failed_reserved_submission_leaves_the_key_to_the_caller() {
    for (answer, outcome) in [
        (
            KycSubmitError::Rejected {
                field_errors: vec![("identifying_information".into(), "bad".into())],
                message: "no".into(),
            },
            SubmissionOutcome::Refused,
        ),
        (KycSubmitError::Timeout, SubmissionOutcome::Failed),
    ] {
        let finishes = Arc::new(Mutex::new(Vec::new()));
        let answer = Mutex::new(Some(answer));
        let mut kyc = MockKycProvider::new();
        kyc.expect_submit_kyc()
            .times(1)
            .returning(move |_| Err(answer.lock().unwrap().take().unwrap()));
        let err = service(
            finding(KycStatus::NotStarted),
            claiming_reserved(finishes.clone()),
            kyc,
        )
        .submit_kyc_reserved(
            account(),
            customer_id(),
            submission(Some("agr-1")),
            reservation(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                SubmitKycError::Rejected { .. } | SubmitKycError::KycTimeout
            ),
            "{err:?}"
        );
        let finishes = finishes.lock().unwrap();
        let [finish] = finishes.as_slice() else {
            panic!("{finishes:?}")
        };
        // Recorded under the reserved id, so a retry runs as this same submission; the
        // key's outcome (stored or released) is the HTTP layer's.
        assert_eq!(
            (finish.id, finish.outcome),
            (SubmissionId(RESERVED), outcome)
        );
        assert!(finish.idempotency.is_none());
    }
}

fn record(outcome: SubmissionOutcome) -> KycSubmissionRecord {
    KycSubmissionRecord {
        id: SubmissionId(RESERVED),
        customer_id: customer_id(),
        account_id: account(),
        customer_type: CustomerType::Individual,
        submitted_at: Utc::now(),
        summary: submission(Some("agr-1")).summary(),
        outcome,
        kyc_status: None,
        provider_reference: None,
        refused_fields: Vec::new(),
        finished_at: None,
    }
}

#[tokio::test]
async fn only_an_accepted_submission_answers_a_takeover_with_the_customer_as_it_is() {
    for (stored, answered) in [
        (Some(SubmissionOutcome::Accepted), true),
        (Some(SubmissionOutcome::Pending), false),
        (Some(SubmissionOutcome::Failed), false),
        (Some(SubmissionOutcome::Refused), false),
        (None, false),
    ] {
        let mut submissions = MockKycSubmissionRepository::new();
        submissions
            .expect_find_submission()
            .times(1)
            .withf(|a, c, id| (*a, *c, *id) == (account(), customer_id(), SubmissionId(RESERVED)))
            .returning(move |_, _, _| Ok(stored.map(record)));
        let mut customers = MockCustomerRepository::new();
        customers
            .expect_find()
            .times(usize::from(answered))
            .returning(|_, _| Ok(Some(customer(KycStatus::UnderReview))));
        let found = service(customers, submissions, MockKycProvider::new())
            .accepted_submission(account(), customer_id(), SubmissionId(RESERVED))
            .await
            .unwrap();
        assert_eq!(
            found.map(|c| c.kyc_state.kyc_status),
            answered.then_some(KycStatus::UnderReview),
            "{stored:?}"
        );
    }
}
