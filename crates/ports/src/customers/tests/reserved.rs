//! The create use case under an idempotency key: the reserved id, and the key's outcome
//! written with the customer.

use super::*;

fn reservation(id: CustomerId) -> Reservation<Customer> {
    let key = crate::HeldKey {
        scope: crate::IdempotencyScope {
            account: account(),
            method: "POST".into(),
            path: "/customer".into(),
            key: crate::IdempotencyKey::parse("key-1").unwrap(),
        },
        reserved_id: id.0,
        lease_until: Utc::now() + TimeDelta::seconds(60),
    };
    let render: crate::Renderer<Customer> = Arc::new(|c: &Customer| crate::StoredResponse {
        status: 201,
        content_type: Some("application/json".into()),
        location: None,
        body: format!("{{\"id\":\"{}\"}}", c.id).into_bytes(),
    });
    Reservation::new(key, std::time::Duration::from_secs(3600), render)
}

#[tokio::test]
async fn a_reserved_create_uses_the_reserved_id_for_the_customer_and_the_provider_key() {
    let id = CustomerId(Uuid::from_u128(0xabc));
    let mut repo = repo_with_free_email();
    repo.expect_insert()
        .times(1)
        .withf(move |r| r.customer.id == id)
        .returning(|_| Ok(()));
    let mut kyc = MockKycProvider::new();
    kyc.expect_name().return_const("bridge");
    kyc.expect_create_kyc_link()
        .times(1)
        .withf(move |r| r.idempotency_key == kyc_idempotency_key(id))
        .returning(|_| Ok(link()));
    let customer = service(repo, kyc)
        .create_customer_reserved(account(), input(), reservation(id))
        .await
        .unwrap();
    assert_eq!(customer.id, id);
}

#[tokio::test]
async fn a_reserved_create_finishes_the_key_in_the_customers_own_write() {
    let id = CustomerId(Uuid::from_u128(0xabc));
    let reserved = reservation(id);
    let key = reserved.key().clone();
    let mut repo = repo_with_free_email();
    let (tx, rx) = std::sync::mpsc::channel();
    repo.expect_insert().times(1).returning(move |r| {
        tx.send(r.clone()).unwrap();
        Ok(())
    });
    let customer = service(repo, provider_answering(|| Ok(link())))
        .create_customer_reserved(account(), input(), reserved)
        .await
        .unwrap();
    let record = rx.recv().unwrap();
    let completion = record
        .idempotency
        .expect("the key's outcome is in the record");
    assert_eq!(completion.key, key);
    assert_eq!(completion.response.status, 201);
    assert_eq!(
        completion.response.body,
        format!("{{\"id\":\"{id}\"}}").into_bytes()
    );
    assert_eq!(completion.customer_id, Some(id));
    assert_eq!(
        completion.expires_at,
        customer.created_at + TimeDelta::seconds(3600)
    );
    // The mail is queued in the same write as before.
    assert!(record.kyc_mail.is_some());
}

#[tokio::test]
async fn a_create_without_a_key_finishes_no_key() {
    let mut repo = repo_with_free_email();
    repo.expect_insert()
        .times(1)
        .withf(|r| r.idempotency.is_none())
        .returning(|_| Ok(()));
    service(repo, provider_answering(|| Ok(link())))
        .create_customer(account(), input())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_reserved_create_writes_nothing_when_the_provider_fails() {
    let mut repo = repo_with_free_email();
    repo.expect_insert().never();
    let kyc = provider_answering(|| Err(KycProviderError::Unavailable(anyhow::anyhow!("502"))));
    let err = service(repo, kyc)
        .create_customer_reserved(
            account(),
            input(),
            reservation(CustomerId(Uuid::from_u128(1))),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CreateCustomerError::KycUnavailable(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_reserved_create_of_a_taken_address_is_a_duplicate_without_a_provider_call() {
    let mut repo = MockCustomerRepository::new();
    repo.expect_email_exists().returning(|_, _| Ok(true));
    repo.expect_insert().never();
    let mut kyc = MockKycProvider::new();
    kyc.expect_create_kyc_link().never();
    let err = service(repo, kyc)
        .create_customer_reserved(
            account(),
            input(),
            reservation(CustomerId(Uuid::from_u128(1))),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CreateCustomerError::Duplicate), "{err:?}");
}
