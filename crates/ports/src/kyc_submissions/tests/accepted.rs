//! An accepted submission: recorded, written with the customer's change, its history
//! entry and its events.
use super::*;

#[tokio::test]
async fn an_accepted_submission_is_recorded_and_changes_the_customer_once() {
    let finishes = Arc::new(Mutex::new(Vec::new()));
    let mut submissions = claiming(finishes.clone());
    submissions.expect_signed_agreement_id().never();
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc()
        .times(1)
        .withf(|r| {
            r.provider_customer_id.as_deref() == Some("cust_1")
                && r.provider_link_id.as_deref() == Some("kyc_link_1")
                && r.email.as_str() == "ada@example.com"
                && r.signed_agreement_id.as_str() == "agr-1"
                && r.customer_id == customer_id()
        })
        .returning(|_| Ok(accepted()));
    let customer = service(finding(KycStatus::NotStarted), submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap();
    assert_eq!(customer.kyc_state.kyc_status, KycStatus::UnderReview);
    assert_eq!(customer.version, 4);
    assert!(customer.updated_at.is_some());
    let finishes = finishes.lock().unwrap();
    let [finish] = finishes.as_slice() else {
        panic!("{finishes:?}")
    };
    assert_eq!(finish.outcome, SubmissionOutcome::Accepted);
    assert_eq!(finish.kyc_status, Some(KycStatus::UnderReview));
    assert_eq!(finish.provider_reference.as_deref(), Some("cust_1"));
    let change = finish.customer.as_ref().unwrap();
    assert_eq!(change.expected_version, 3);
    assert_eq!(change.customer, customer);
}

#[tokio::test]
async fn an_accepted_submission_is_written_with_its_history_and_kyc_updated_event() {
    let finishes = Arc::new(Mutex::new(Vec::new()));
    let before = customer(KycStatus::NotStarted);
    let customer = service(
        finding(KycStatus::NotStarted),
        claiming(finishes.clone()),
        providing(|| Ok(accepted())),
    )
    .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
    .await
    .unwrap();
    let finishes = finishes.lock().unwrap();
    let [finish] = finishes.as_slice() else {
        panic!("{finishes:?}")
    };
    let history = finish.history.as_ref().expect("a history entry");
    assert_eq!(history.customer_id, customer_id());
    assert_eq!(history.source, domain::KycSource::Api);
    assert_eq!(history.from, KycStatus::NotStarted);
    assert_eq!(history.to, KycStatus::UnderReview);
    assert_eq!(history.tos_status, TosStatus::Approved);
    assert_eq!(history.event_id, None);
    assert!(history.applied);
    // As of the submission: a later report is newer.
    assert!(history.at <= finish.finished_at);
    assert!(history.at > before.kyc_as_of.at);
    assert_eq!(customer.kyc_as_of, KycOrder::at(history.at));

    let [event] = finish.events.as_slice() else {
        panic!("{:?}", finish.events)
    };
    assert_eq!(
        event.event_type,
        domain::WebhookEventType::CustomerKycUpdated
    );
    assert_eq!(event.account_id, account());
    assert_eq!(event.customer_id, Some(customer_id()));
    assert_eq!(
        event.body,
        "customer.kyc.updated under_review Some((NotStarted, Pending))"
    );
}

#[tokio::test]
async fn an_approving_answer_also_sends_customer_kyc_approved() {
    let finishes = Arc::new(Mutex::new(Vec::new()));
    service(
        finding(KycStatus::NotStarted),
        claiming(finishes.clone()),
        providing(|| {
            let mut approved = accepted();
            approved.state.kyc_status = KycStatus::Approved;
            Ok(approved)
        }),
    )
    .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
    .await
    .unwrap();
    let finishes = finishes.lock().unwrap();
    let types: Vec<_> = finishes[0].events.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [
            domain::WebhookEventType::CustomerKycUpdated,
            domain::WebhookEventType::CustomerKycApproved
        ]
    );
}
