//! The terms-of-service use cases and the listing of submissions.

use super::*;

#[tokio::test]
async fn terms_links_are_for_the_accounts_customers_and_acceptances_need_one() {
    let mut customers = MockCustomerRepository::new();
    customers.expect_find().times(1).returning(|_, _| Ok(None));
    customers
        .expect_find()
        .times(1)
        .returning(|_, _| Ok(Some(customer(KycStatus::NotStarted))));
    let mut kyc = MockKycProvider::new();
    kyc.expect_create_tos_link()
        .times(1)
        .withf(|r| {
            r.provider_customer_id.as_deref() == Some("cust_1")
                && r.redirect_uri == "https://svc.example/tos/complete?state=s"
        })
        .returning(|_| Ok("https://tos.example/accept".into()));
    let mut submissions = MockKycSubmissionRepository::new();
    submissions.expect_record_signed_agreement().never();
    let mut directory = MockCustomerDirectory::new();
    directory
        .expect_customer_by_id()
        .times(1)
        .returning(|_| Ok(None));
    let service = with_directory(customers, directory, submissions, kyc);
    let redirect = "https://svc.example/tos/complete?state=s".to_owned();
    assert!(matches!(
        service
            .tos_link(account(), customer_id(), redirect.clone())
            .await,
        Err(CustomerKycError::NotFound)
    ));
    assert_eq!(
        service
            .tos_link(account(), customer_id(), redirect)
            .await
            .unwrap(),
        "https://tos.example/accept"
    );
    assert!(matches!(
        service
            .accept_terms(customer_id(), SignedAgreementId::parse("a").unwrap())
            .await,
        Err(CustomerKycError::NotFound)
    ));
}

/// A directory that finds the customer with its terms `tos`.
fn directory_with(tos: TosStatus) -> MockCustomerDirectory {
    let mut directory = MockCustomerDirectory::new();
    directory.expect_customer_by_id().returning(move |id| {
        assert_eq!(id, customer_id());
        let mut c = customer(KycStatus::NotStarted);
        c.kyc_state.tos_status = tos;
        Ok(Some(c))
    });
    directory
}

/// A store without an acceptance yet, that records each one.
fn accepting(recorded: Arc<Mutex<Vec<AgreementAcceptance>>>) -> MockKycSubmissionRepository {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_signed_agreement_id()
        .withf(|account_id, id| *account_id == account() && *id == customer_id())
        .returning(|_, _| Ok(None));
    submissions
        .expect_record_signed_agreement()
        .returning(move |a| {
            recorded.lock().unwrap().push(a.clone());
            Ok(true)
        });
    submissions
}

#[tokio::test]
async fn a_terms_acceptance_is_stored_with_its_history_and_kyc_updated_event() {
    let recorded = Arc::new(Mutex::new(Vec::new()));
    with_directory(
        MockCustomerRepository::new(),
        directory_with(TosStatus::Pending),
        accepting(recorded.clone()),
        MockKycProvider::new(),
    )
    .accept_terms(customer_id(), SignedAgreementId::parse("agr-1").unwrap())
    .await
    .unwrap();
    let recorded = recorded.lock().unwrap();
    let [acceptance] = recorded.as_slice() else {
        panic!("{recorded:?}")
    };
    assert_eq!(acceptance.customer_id, customer_id());
    assert_eq!(acceptance.agreement.as_str(), "agr-1");
    let change = acceptance.change.as_ref().expect("the customer's change");
    assert_eq!(change.expected_version, 3);
    assert_eq!(change.customer.version, 4);
    assert_eq!(change.customer.kyc_state.tos_status, TosStatus::Approved);
    assert_eq!(change.customer.kyc_state.kyc_status, KycStatus::NotStarted);
    // The watermark stays: the acceptance must not make an older verification report
    // that arrives later look stale.
    assert_eq!(change.customer.kyc_as_of, change.expected_as_of);
    assert_ne!(change.customer.kyc_as_of, KycOrder::at(acceptance.at));
    assert_eq!(change.customer.updated_at, Some(acceptance.at));
    let history = acceptance.history.as_ref().expect("a history entry");
    assert_eq!(history.source, domain::KycSource::TosRedirect);
    assert_eq!(history.from, KycStatus::NotStarted);
    assert_eq!(history.to, KycStatus::NotStarted);
    assert_eq!(history.tos_status, TosStatus::Approved);
    assert!(history.applied);
    assert_eq!(history.at, acceptance.at);
    let [event] = acceptance.events.as_slice() else {
        panic!("{:?}", acceptance.events)
    };
    assert_eq!(
        event.event_type,
        domain::WebhookEventType::CustomerKycUpdated
    );
    assert_eq!(
        event.body,
        "customer.kyc.updated not_started Some((NotStarted, Pending))"
    );
}

#[tokio::test]
async fn a_replayed_terms_acceptance_writes_nothing() {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_signed_agreement_id()
        .returning(|_, _| Ok(Some(SignedAgreementId::parse("agr-1").unwrap())));
    submissions.expect_record_signed_agreement().never();
    with_directory(
        MockCustomerRepository::new(),
        directory_with(TosStatus::Approved),
        submissions,
        MockKycProvider::new(),
    )
    .accept_terms(customer_id(), SignedAgreementId::parse("agr-2").unwrap())
    .await
    .unwrap();
}

#[tokio::test]
async fn terms_a_provider_approved_already_keep_only_the_acceptance() {
    let recorded = Arc::new(Mutex::new(Vec::new()));
    with_directory(
        MockCustomerRepository::new(),
        directory_with(TosStatus::Approved),
        accepting(recorded.clone()),
        MockKycProvider::new(),
    )
    .accept_terms(customer_id(), SignedAgreementId::parse("agr-1").unwrap())
    .await
    .unwrap();
    let recorded = recorded.lock().unwrap();
    let [acceptance] = recorded.as_slice() else {
        panic!("{recorded:?}")
    };
    assert_eq!(acceptance.change, None);
    assert_eq!(acceptance.history, None);
    assert!(acceptance.events.is_empty());
}

#[tokio::test]
async fn a_terms_acceptance_that_lost_a_race_is_decided_again() {
    let mut directory = MockCustomerDirectory::new();
    let mut reads = 0;
    directory
        .expect_customer_by_id()
        .times(2)
        .returning(move |_| {
            reads += 1;
            let mut c = customer(KycStatus::NotStarted);
            c.version = if reads == 1 { 3 } else { 5 };
            Ok(Some(c))
        });
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_signed_agreement_id()
        .returning(|_, _| Ok(None));
    let versions = Arc::new(Mutex::new(Vec::new()));
    let seen = versions.clone();
    submissions
        .expect_record_signed_agreement()
        .times(2)
        .returning(move |a| {
            let expected = a.change.as_ref().unwrap().expected_version;
            seen.lock().unwrap().push(expected);
            if expected == 3 {
                Err(RepositoryError::Conflict)
            } else {
                Ok(true)
            }
        });
    with_directory(
        MockCustomerRepository::new(),
        directory,
        submissions,
        MockKycProvider::new(),
    )
    .accept_terms(customer_id(), SignedAgreementId::parse("agr-1").unwrap())
    .await
    .unwrap();
    assert_eq!(*versions.lock().unwrap(), [3, 5]);
}

#[tokio::test]
async fn listing_another_accounts_customers_submissions_is_not_found() {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_list_submissions()
        .withf(|_, _, limit| *limit == MAX_LISTED_SUBMISSIONS)
        .returning(|_, _, _| Ok(None));
    let err = service(
        MockCustomerRepository::new(),
        submissions,
        MockKycProvider::new(),
    )
    .list_submissions(account(), customer_id())
    .await
    .unwrap_err();
    assert!(matches!(err, CustomerKycError::NotFound), "{err:?}");
}
