//! Unit tests of the customer use cases, with mockall mocks of every port.

use super::*;
use crate::{EventSubject, IssuedKycLink, MockCustomerRepository, MockKycProvider, MockPresenter};
use domain::{
    CountryCode, CustomerEmail, CustomerName, CustomerType, KycLink, KycState, KycStatus,
    PhoneNumber,
};
use uuid::Uuid;

fn input() -> NewCustomer {
    NewCustomer {
        name: CustomerName::parse("Emmanuel A Towoju").unwrap(),
        email: CustomerEmail::parse("tbash7676@gmail.com").unwrap(),
        phone: PhoneNumber::parse("+2349039395114", None).unwrap(),
        country: CountryCode::parse("USA").unwrap(),
        customer_type: CustomerType::Business,
        send_kyc_mail: true,
    }
}

fn link() -> IssuedKycLink {
    IssuedKycLink {
        link: KycLink {
            provider_link_id: Some("kyc_link_123".into()),
            kyc_link: "https://kyc.example/verify?a=1&b=2".into(),
            tos_link: "https://tos.example/accept".into(),
            provider_customer_id: None,
            persona_inquiry_type: None,
        },
        state: KycState {
            kyc_status: KycStatus::Incomplete,
            ..KycState::not_started()
        },
    }
}

fn account() -> AccountId {
    AccountId(Uuid::from_u128(7))
}

/// Renders an event as its type and the customer's id, so tests can see what was written.
fn presenter() -> MockPresenter {
    let mut presenter = MockPresenter::new();
    presenter
        .expect_event_body()
        .returning(|d| match &d.subject {
            EventSubject::Customer(c) => format!("{} {}", d.event_type, c.id),
            EventSubject::Erased(id) => format!("{} {id}", d.event_type),
        });
    presenter
}

fn service(repo: MockCustomerRepository, kyc: MockKycProvider) -> CustomerService {
    CustomerService::new(
        Arc::new(repo),
        Arc::new(kyc),
        Events::new(Arc::new(presenter())),
    )
}

fn provider_answering(
    result: impl Fn() -> Result<IssuedKycLink, KycProviderError> + Send + Sync + 'static,
) -> MockKycProvider {
    let mut kyc = MockKycProvider::new();
    kyc.expect_name().return_const("bridge");
    kyc.expect_create_kyc_link()
        .times(1)
        .returning(move |_| result());
    kyc
}

fn repo_with_free_email() -> MockCustomerRepository {
    let mut repo = MockCustomerRepository::new();
    repo.expect_email_exists().returning(|_, _| Ok(false));
    repo
}

#[tokio::test]
async fn create_stores_the_customer_with_the_providers_link() {
    let mut repo = repo_with_free_email();
    repo.expect_insert()
        .times(1)
        .withf(|r| {
            r.customer.account_id == account() && r.customer.kyc.kyc_link.ends_with("a=1&b=2")
        })
        .returning(|_| Ok(()));
    let mut kyc = MockKycProvider::new();
    kyc.expect_name().return_const("bridge");
    kyc.expect_create_kyc_link()
        .times(1)
        .withf(|r| {
            r.idempotency_key.starts_with("customer-")
                && r.full_name == "Emmanuel A Towoju"
                && r.email == "tbash7676@gmail.com"
                && r.customer_type == CustomerType::Business
        })
        .returning(|_| Ok(link()));

    let customer = service(repo, kyc)
        .create_customer(account(), input())
        .await
        .unwrap();

    assert_eq!(customer.account_id, account());
    assert_eq!(customer.kyc, link().link);
    // The provider's state is the customer's first state, as of its creation, version 1.
    assert_eq!(customer.kyc_state, link().state);
    assert_eq!(customer.kyc_as_of, KycOrder::at(customer.created_at));
    assert_eq!(customer.version, 1);
    assert_eq!(customer.updated_at, None);
    assert_eq!(customer.kyc_provider, "bridge");
    assert_eq!(customer.kyc_mail_status, KycMailStatus::Queued);
    assert_eq!(customer.created_at.timestamp_subsec_micros() % 1000, 0);
}

#[tokio::test]
async fn create_uses_the_customer_id_as_idempotency_key() {
    let mut repo = repo_with_free_email();
    let (tx, rx) = std::sync::mpsc::channel();
    repo.expect_insert().returning(move |r| {
        tx.send(r.customer.id).unwrap();
        Ok(())
    });
    let (ktx, krx) = std::sync::mpsc::channel();
    let mut kyc = MockKycProvider::new();
    kyc.expect_name().return_const("bridge");
    kyc.expect_create_kyc_link().returning(move |r| {
        ktx.send(r.idempotency_key.clone()).unwrap();
        Ok(link())
    });
    service(repo, kyc)
        .create_customer(account(), input())
        .await
        .unwrap();
    assert_eq!(krx.recv().unwrap(), kyc_idempotency_key(rx.recv().unwrap()));
}

#[tokio::test]
async fn create_without_kyc_mail_marks_the_mail_not_requested() {
    let mut repo = repo_with_free_email();
    repo.expect_insert()
        .times(1)
        .withf(|r| {
            !r.customer.send_kyc_mail && r.customer.kyc_mail_status == KycMailStatus::NotRequested
        })
        .returning(|_| Ok(()));
    let mut no_mail = input();
    no_mail.send_kyc_mail = false;
    let customer = service(repo, provider_answering(|| Ok(link())))
        .create_customer(account(), no_mail)
        .await
        .unwrap();
    assert_eq!(customer.kyc_mail_status, KycMailStatus::NotRequested);
}

#[tokio::test]
async fn create_queues_the_kyc_mail_with_the_customer_when_it_is_requested() {
    let mut repo = repo_with_free_email();
    let (tx, rx) = std::sync::mpsc::channel();
    repo.expect_insert().times(1).returning(move |r| {
        tx.send(r.clone()).unwrap();
        Ok(())
    });
    let customer = service(repo, provider_answering(|| Ok(link())))
        .create_customer(account(), input())
        .await
        .unwrap();
    let record = rx.recv().unwrap();
    assert_eq!(record.customer, customer);
    assert_eq!(
        record.kyc_mail,
        Some(QueuedKycMail {
            message_id: kyc_message_id(customer.id),
            due_at: customer.created_at,
        })
    );
}

#[tokio::test]
async fn create_queues_no_kyc_mail_when_it_is_not_requested() {
    let mut repo = repo_with_free_email();
    repo.expect_insert()
        .times(1)
        .withf(|r| r.kyc_mail.is_none())
        .returning(|_| Ok(()));
    let mut no_mail = input();
    no_mail.send_kyc_mail = false;
    service(repo, provider_answering(|| Ok(link())))
        .create_customer(account(), no_mail)
        .await
        .unwrap();
}

#[tokio::test]
async fn list_fetches_one_extra_to_know_whether_more_follow() {
    let mut repo = MockCustomerRepository::new();
    repo.expect_list()
        .times(1)
        .withf(|_, _, after, limit| after.is_none() && *limit == 3)
        .returning(|_, _, _, _| Ok(vec![sample(), sample(), sample()]));
    let page = service(repo, MockKycProvider::new())
        .list_customers(
            account(),
            ListCustomers {
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.customers.len(), 2);
    assert!(page.has_more);
}

#[tokio::test]
async fn list_continues_after_the_cursor_customer() {
    let cursor = sample();
    let expected = CustomerCursor {
        created_at: cursor.created_at,
        id: cursor.id,
    };
    let mut repo = MockCustomerRepository::new();
    repo.expect_find()
        .returning(move |_, _| Ok(Some(cursor.clone())));
    repo.expect_list()
        .withf(move |_, _, after, _| *after == Some(expected))
        .returning(|_, _, _, _| Ok(vec![]));
    let page = service(repo, MockKycProvider::new())
        .list_customers(
            account(),
            ListCustomers {
                limit: 20,
                starting_after: Some(expected.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!page.has_more);
}

#[tokio::test]
async fn list_rejects_a_cursor_of_another_account() {
    let mut repo = MockCustomerRepository::new();
    repo.expect_find().returning(|_, _| Ok(None));
    repo.expect_list().never();
    let err = service(repo, MockKycProvider::new())
        .list_customers(
            account(),
            ListCustomers {
                limit: 20,
                starting_after: Some(CustomerId::new_random()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ReadCustomersError::UnknownCursor), "{err:?}");
}

fn sample() -> Customer {
    Customer {
        id: CustomerId::new_random(),
        account_id: account(),
        name: input().name,
        email: input().email,
        phone: input().phone,
        country: input().country,
        customer_type: CustomerType::Individual,
        send_kyc_mail: true,
        kyc_mail_status: KycMailStatus::Queued,
        kyc_provider: "bridge".into(),
        kyc: link().link,
        kyc_state: link().state,
        kyc_as_of: KycOrder::at(Utc::now()),
        last_synced_at: None,
        version: 1,
        created_at: Utc::now(),
        updated_at: None,
    }
}

#[tokio::test]
async fn create_fails_with_duplicate_before_calling_the_provider() {
    let mut repo = MockCustomerRepository::new();
    repo.expect_email_exists().returning(|_, _| Ok(true));
    repo.expect_insert().never();
    let mut kyc = MockKycProvider::new();
    kyc.expect_create_kyc_link().never();

    let err = service(repo, kyc)
        .create_customer(account(), input())
        .await
        .unwrap_err();
    assert!(matches!(err, CreateCustomerError::Duplicate), "{err:?}");
}

#[tokio::test]
async fn create_fails_with_duplicate_when_the_store_reports_a_race() {
    let mut repo = repo_with_free_email();
    repo.expect_insert()
        .times(1)
        .returning(|_| Err(RepositoryError::Duplicate));
    let err = service(repo, provider_answering(|| Ok(link())))
        .create_customer(account(), input())
        .await
        .unwrap_err();
    assert!(matches!(err, CreateCustomerError::Duplicate), "{err:?}");
}

#[tokio::test]
async fn create_stores_nothing_when_the_provider_rejects() {
    let mut repo = repo_with_free_email();
    repo.expect_insert().never();
    let kyc = provider_answering(|| {
        Err(KycProviderError::Rejected {
            code: Some("invalid".into()),
            message: "email is invalid".into(),
        })
    });
    let err = service(repo, kyc)
        .create_customer(account(), input())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CreateCustomerError::KycRejected { message } if message == "email is invalid"),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_stores_nothing_when_the_provider_times_out() {
    let mut repo = repo_with_free_email();
    repo.expect_insert().never();
    let err = service(repo, provider_answering(|| Err(KycProviderError::Timeout)))
        .create_customer(account(), input())
        .await
        .unwrap_err();
    assert!(matches!(err, CreateCustomerError::KycTimeout), "{err:?}");
}

#[tokio::test]
async fn create_stores_nothing_when_the_provider_is_unavailable() {
    let mut repo = repo_with_free_email();
    repo.expect_insert().never();
    let kyc = provider_answering(|| Err(KycProviderError::Unavailable(anyhow::anyhow!("503"))));
    let err = service(repo, kyc)
        .create_customer(account(), input())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CreateCustomerError::KycUnavailable(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_reports_store_unavailable_when_the_duplicate_check_cannot_run() {
    let mut repo = MockCustomerRepository::new();
    repo.expect_email_exists().returning(|_, _| {
        Err(RepositoryError::Unavailable(anyhow::anyhow!(
            "pool timeout"
        )))
    });
    let mut kyc = MockKycProvider::new();
    kyc.expect_create_kyc_link().never();
    let err = service(repo, kyc)
        .create_customer(account(), input())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CreateCustomerError::StoreUnavailable(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_reports_unexpected_when_the_insert_fails() {
    let mut repo = repo_with_free_email();
    repo.expect_insert()
        .returning(|_| Err(RepositoryError::Unexpected(anyhow::anyhow!("disk full"))));
    let err = service(repo, provider_answering(|| Ok(link())))
        .create_customer(account(), input())
        .await
        .unwrap_err();
    assert!(matches!(err, CreateCustomerError::Unexpected(_)), "{err:?}");
}

#[tokio::test]
async fn create_writes_one_customer_created_event_with_the_customer() {
    let mut repo = repo_with_free_email();
    repo.expect_insert()
        .times(1)
        .withf(|r| {
            let [event] = r.events.as_slice() else {
                return false;
            };
            event.event_type == domain::WebhookEventType::CustomerCreated
                && event.account_id == account()
                && event.customer_id == Some(r.customer.id)
                && event.created_at == r.customer.created_at
                && event.body == format!("customer.created {}", r.customer.id)
                && event.id.as_str().starts_with("evt_")
        })
        .returning(|_| Ok(()));
    service(repo, provider_answering(|| Ok(link())))
        .create_customer(account(), input())
        .await
        .unwrap();
}

mod erase;
mod reserved;
mod update;
