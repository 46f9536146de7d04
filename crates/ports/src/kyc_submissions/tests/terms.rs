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
    submissions
        .expect_record_signed_agreement()
        .times(1)
        .returning(|_, _, _| Ok(false));
    let service = service(customers, submissions, kyc);
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
