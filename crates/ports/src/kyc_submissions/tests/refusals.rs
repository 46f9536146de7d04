//! What is refused or fails: claims blocked during review, other accounts' customers, the
//! wrong customer type, a missing terms acceptance, a provider's refusal, timeout or outage.
use super::*;

#[tokio::test]
async fn the_claim_keeps_only_the_masked_summary_and_blocks_during_review() {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_claim_submission()
        .times(1)
        .withf(|c| {
            let text = format!("{:?}", c.summary);
            c.blocking_statuses == [KycStatus::UnderReview]
                && c.abandon_before < c.submitted_at
                && c.summary.identity_documents[0].number_last_four.as_deref() == Some("6789")
                && !text.contains("123456789")
                && !text.contains("1990")
        })
        .returning(|_| Ok(ClaimOutcome::InProgress));
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc().never();
    let err = service(finding(KycStatus::NotStarted), submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap_err();
    assert!(matches!(err, SubmitKycError::InProgress), "{err:?}");
}

#[tokio::test]
async fn a_customer_under_review_cannot_submit_again_but_a_rejected_one_can() {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions.expect_claim_submission().never();
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc().never();
    let err = service(finding(KycStatus::UnderReview), submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap_err();
    assert!(matches!(err, SubmitKycError::InProgress), "{err:?}");

    let finishes = Arc::new(Mutex::new(Vec::new()));
    service(
        finding(KycStatus::Rejected),
        claiming(finishes),
        providing(|| Ok(accepted())),
    )
    .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
    .await
    .unwrap();
}

#[tokio::test]
async fn another_accounts_customer_is_not_found_and_nothing_is_sent() {
    let mut customers = MockCustomerRepository::new();
    customers.expect_find().returning(|_, _| Ok(None));
    let mut submissions = MockKycSubmissionRepository::new();
    submissions.expect_claim_submission().never();
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc().never();
    let err = service(customers, submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap_err();
    assert!(matches!(err, SubmitKycError::NotFound), "{err:?}");
}

#[tokio::test]
async fn a_business_submission_for_an_individual_is_refused() {
    let mut customers = MockCustomerRepository::new();
    customers.expect_find().returning(|_, _| {
        let mut c = customer(KycStatus::NotStarted);
        c.customer_type = CustomerType::Business;
        Ok(Some(c))
    });
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc().never();
    let err = service(customers, MockKycSubmissionRepository::new(), kyc)
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SubmitKycError::TypeMismatch {
                expected: CustomerType::Business
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn without_any_terms_acceptance_nothing_is_sent_and_a_stored_one_is_used() {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_signed_agreement_id()
        .returning(|_, _| Ok(None));
    submissions.expect_claim_submission().never();
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc().never();
    let err = service(finding(KycStatus::NotStarted), submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(None))
        .await
        .unwrap_err();
    assert!(matches!(err, SubmitKycError::TermsNotAccepted), "{err:?}");

    let finishes = Arc::new(Mutex::new(Vec::new()));
    let mut submissions = claiming(finishes);
    submissions
        .expect_signed_agreement_id()
        .returning(|_, _| Ok(Some(SignedAgreementId::parse("stored-agreement").unwrap())));
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc()
        .times(1)
        .withf(|r| r.signed_agreement_id.as_str() == "stored-agreement")
        .returning(|_| Ok(accepted()));
    service(finding(KycStatus::NotStarted), submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(None))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refusal_is_recorded_with_the_refused_paths_only() {
    let finishes = Arc::new(Mutex::new(Vec::new()));
    let kyc = providing(|| {
        Err(KycSubmitError::Rejected {
            field_errors: vec![(
                "identifying_information".into(),
                "ssn 123456789 is invalid".into(),
            )],
            message: "bad".into(),
        })
    });
    let err = service(
        finding(KycStatus::NotStarted),
        claiming(finishes.clone()),
        kyc,
    )
    .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
    .await
    .unwrap_err();
    let SubmitKycError::Rejected { field_errors, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(field_errors[0].0, "identifying_information");
    let finishes = finishes.lock().unwrap();
    assert_eq!(finishes[0].outcome, SubmissionOutcome::Refused);
    assert_eq!(finishes[0].refused_fields, ["identifying_information"]);
    assert!(finishes[0].customer.is_none());
}

#[tokio::test]
async fn a_timeout_or_an_outage_is_recorded_as_failed_and_reported() {
    for (error, timeout) in [
        ((|| KycSubmitError::Timeout) as fn() -> KycSubmitError, true),
        (
            || KycSubmitError::Unavailable(anyhow::anyhow!("HTTP 503")),
            false,
        ),
    ] {
        let finishes = Arc::new(Mutex::new(Vec::new()));
        let err = service(
            finding(KycStatus::NotStarted),
            claiming(finishes.clone()),
            providing(move || Err(error())),
        )
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap_err();
        if timeout {
            assert!(matches!(err, SubmitKycError::KycTimeout), "{err:?}");
        } else {
            assert!(matches!(err, SubmitKycError::KycUnavailable(_)), "{err:?}");
        }
        assert_eq!(
            finishes.lock().unwrap()[0].outcome,
            SubmissionOutcome::Failed
        );
    }
}
