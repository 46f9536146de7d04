//! The KYC mail handler's branches, with mockall mocks of the mailer, the customer lookup
//! and the presenter.

use chrono::{DateTime, Utc};
use domain::{
    AccountId, CountryCode, Customer, CustomerEmail, CustomerId, CustomerName, CustomerType,
    KycLink, KycMailStatus, KycOrder, KycState, PhoneNumber, WebhookEventType,
};
use uuid::Uuid;

use super::*;
use crate::outbox::JobId;
use crate::{kyc_message_id, EventSubject, MockCustomerDirectory, MockMailer, MockPresenter};

fn customer() -> Customer {
    let at: DateTime<Utc> = "2026-01-02T03:04:05.678Z".parse().unwrap();
    Customer {
        id: CustomerId(Uuid::from_u128(1)),
        account_id: AccountId(Uuid::from_u128(9)),
        name: CustomerName::parse("<script>alert(1)</script> & Co").unwrap(),
        email: CustomerEmail::parse("ada@example.com").unwrap(),
        phone: PhoneNumber::parse("+14155552671", None).unwrap(),
        country: CountryCode::parse("USA").unwrap(),
        customer_type: CustomerType::Individual,
        send_kyc_mail: true,
        kyc_mail_status: KycMailStatus::Queued,
        kyc_provider: "sandbox".into(),
        kyc: KycLink {
            provider_link_id: None,
            kyc_link: "https://kyc.example/verify?a=1&b=2".into(),
            tos_link: "https://tos.example/accept?c=3&d=4".into(),
            provider_customer_id: None,
            persona_inquiry_type: None,
        },
        kyc_state: KycState::not_started(),
        kyc_as_of: KycOrder::at(at),
        last_synced_at: None,
        version: 3,
        created_at: at,
        updated_at: None,
    }
}

fn job() -> OutboxJob {
    let id = customer().id;
    OutboxJob {
        id: JobId(Uuid::from_u128(5)),
        attempt: 1,
        work: JobWork::KycMail {
            customer_id: id,
            message_id: kyc_message_id(id),
        },
    }
}

fn directory(found: Option<Customer>) -> MockCustomerDirectory {
    let mut customers = MockCustomerDirectory::new();
    customers
        .expect_customer_by_id()
        .returning(move |_| Ok(found.clone()));
    customers
}

fn presenter() -> MockPresenter {
    let mut presenter = MockPresenter::new();
    presenter
        .expect_event_body()
        .returning(|d| match &d.subject {
            EventSubject::Customer(c) => format!(
                "{} {} v{} {}",
                d.event_type,
                c.kyc_mail_status.as_str(),
                c.version,
                c.updated_at.is_some()
            ),
            EventSubject::Erased(id) => id.to_string(),
        });
    presenter
}

fn handler(mailer: MockMailer, customers: MockCustomerDirectory) -> KycMailHandler {
    KycMailHandler::new(
        Arc::new(mailer),
        Arc::new(customers),
        Events::new(Arc::new(presenter())),
    )
}

#[tokio::test]
async fn the_mail_goes_to_the_customer_with_the_current_links_and_the_stable_message_id() {
    let mut mailer = MockMailer::new();
    mailer.expect_name().return_const("test");
    mailer
        .expect_send()
        .times(1)
        .withf(|mail| {
            mail.to == "ada@example.com"
                && mail.message_id
                    == "<kyc.00000000-0000-0000-0000-000000000001@customer-onboarding>"
                && mail.content
                    == MailContent::KycLinks {
                        full_name: "<script>alert(1)</script> & Co".into(),
                        kyc_link: "https://kyc.example/verify?a=1&b=2".into(),
                        tos_link: "https://tos.example/accept?c=3&d=4".into(),
                    }
        })
        .returning(|_| Ok(()));
    let attempted = handler(mailer, directory(Some(customer())))
        .attempt(&job())
        .await;
    assert_eq!(attempted, Attempted::Delivered { http_status: None });
}

#[tokio::test]
async fn a_refused_recipient_is_permanent_and_an_unreachable_server_is_not() {
    for (error, permanent) in [
        (MailError::Rejected("550 no such user".into()), true),
        (
            MailError::Unavailable(anyhow::anyhow!("connection refused")),
            false,
        ),
    ] {
        let mut mailer = MockMailer::new();
        let error = std::sync::Mutex::new(Some(error));
        mailer
            .expect_send()
            .times(1)
            .returning(move |_| Err(error.lock().unwrap().take().unwrap()));
        let attempted = handler(mailer, directory(Some(customer())))
            .attempt(&job())
            .await;
        assert!(
            matches!(&attempted, Attempted::Failed { permanent: p, .. } if *p == permanent),
            "{attempted:?}"
        );
    }
}

#[tokio::test]
async fn a_job_whose_customer_is_gone_fails_for_good_without_sending() {
    let mut mailer = MockMailer::new();
    mailer.expect_send().never();
    let attempted = handler(mailer, directory(None)).attempt(&job()).await;
    assert!(matches!(
        attempted,
        Attempted::Failed {
            permanent: true,
            ..
        }
    ));
}

#[tokio::test]
async fn a_delivered_mail_marks_the_customer_sent_without_an_event() {
    let effects = handler(MockMailer::new(), MockCustomerDirectory::new())
        .on_end(&job(), true, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        effects.kyc_mail_status,
        Some((customer().id, KycMailStatus::Sent))
    );
    assert!(effects.events.is_empty());
}

#[tokio::test]
async fn a_mail_given_up_marks_the_customer_failed_and_tells_the_account() {
    let at = Utc::now();
    let effects = handler(MockMailer::new(), directory(Some(customer())))
        .on_end(&job(), false, at)
        .await
        .unwrap();
    assert_eq!(
        effects.kyc_mail_status,
        Some((customer().id, KycMailStatus::Failed))
    );
    let [event] = effects.events.as_slice() else {
        panic!("one event expected: {:?}", effects.events)
    };
    assert_eq!(event.event_type, WebhookEventType::CustomerKycMailFailed);
    assert_eq!(event.account_id, customer().account_id);
    assert_eq!(event.created_at, at);
    // The event shows the customer as it is after the change.
    assert_eq!(event.body, "customer.kyc_mail.failed failed v4 true");
}
