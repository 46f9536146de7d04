//! Answers that race other changes: a concurrent change re-read, a newer report kept, a
//! stale answer dropped.
use super::*;

#[tokio::test]
async fn a_concurrent_change_is_re_read_and_the_change_recomputed() {
    let mut customers = MockCustomerRepository::new();
    customers
        .expect_find()
        .times(1)
        .returning(|_, _| Ok(Some(customer(KycStatus::NotStarted))));
    customers.expect_find().times(1).returning(|_, _| {
        let mut moved = customer(KycStatus::NotStarted);
        moved.version = 9;
        Ok(Some(moved))
    });
    let mut submissions = MockKycSubmissionRepository::new();
    submissions.expect_claim_submission().returning(|_| {
        Ok(ClaimOutcome::Claimed(Box::new(customer(
            KycStatus::NotStarted,
        ))))
    });
    let versions = Arc::new(Mutex::new(Vec::new()));
    let seen = versions.clone();
    submissions
        .expect_finish_submission()
        .times(2)
        .returning(move |f| {
            let expected = f.customer.as_ref().unwrap().expected_version;
            seen.lock().unwrap().push(expected);
            if expected == 3 {
                Err(RepositoryError::Conflict)
            } else {
                Ok(())
            }
        });
    let customer = service(customers, submissions, providing(|| Ok(accepted())))
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap();
    assert_eq!(*versions.lock().unwrap(), [3, 9]);
    assert_eq!(customer.version, 10);
}

#[tokio::test]
async fn a_report_newer_than_the_submission_keeps_its_state() {
    let mut newer = customer(KycStatus::Approved);
    newer.kyc_as_of = KycOrder::at(Utc::now() + chrono::TimeDelta::minutes(5));
    let update = service::submission_update(&accepted(), Utc::now());
    let events = events();

    // The provider's customer id it brings is kept; nothing else changes.
    let mut without_id = newer.clone();
    without_id.kyc.provider_customer_id = None;
    let decision = crate::lifecycle::decide(&without_id, &update, Utc::now(), &events);
    assert_eq!(decision.outcome, crate::ApplyOutcome::Stale);
    let changed = decision.change.unwrap().customer;
    assert_eq!(changed.kyc_state.kyc_status, KycStatus::Approved);
    assert_eq!(changed.kyc_as_of, newer.kyc_as_of);
    assert_eq!(changed.kyc.provider_customer_id.as_deref(), Some("cust_1"));
    assert_eq!(changed.version, newer.version + 1);
    assert!(decision.events.is_empty());
    // Kept in the history, not applied: it said something else.
    let history = decision.history.unwrap();
    assert!(!history.applied);
    assert_eq!(history.source, domain::KycSource::Api);

    // With the id known already, nothing is written to the customer.
    let decision = crate::lifecycle::decide(&newer, &update, Utc::now(), &events);
    assert_eq!(decision.change, None);
    assert!(decision.events.is_empty());
}

#[tokio::test]
async fn a_stale_answer_leaves_the_customer_as_it_was_and_sends_nothing() {
    let mut newer = customer(KycStatus::Approved);
    newer.kyc_as_of = KycOrder::at(Utc::now() + chrono::TimeDelta::minutes(5));
    let claimed = newer.clone();
    let finishes = Arc::new(Mutex::new(Vec::new()));
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_claim_submission()
        .returning(move |_| Ok(ClaimOutcome::Claimed(Box::new(claimed.clone()))));
    let seen = finishes.clone();
    submissions.expect_finish_submission().returning(move |f| {
        seen.lock().unwrap().push(f.clone());
        Ok(())
    });
    let mut customers = MockCustomerRepository::new();
    let found = newer.clone();
    customers
        .expect_find()
        .returning(move |_, _| Ok(Some(found.clone())));
    let answered = service(customers, submissions, providing(|| Ok(accepted())))
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap();
    assert_eq!(answered, newer);
    let finishes = finishes.lock().unwrap();
    assert_eq!(finishes[0].customer, None);
    assert!(finishes[0].events.is_empty());
    assert!(!finishes[0].history.as_ref().unwrap().applied);
}
