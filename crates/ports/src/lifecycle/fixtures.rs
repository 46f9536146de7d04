//! Shared fixtures of the lifecycle's unit tests.

use std::sync::Arc;

use chrono::{DateTime, TimeZone as _, Utc};
use domain::{
    AccountId, CountryCode, Customer, CustomerEmail, CustomerId, CustomerName, CustomerType,
    KycLink, KycMailStatus, KycOrder, KycSource, KycState, KycStatus, KycUpdate, PhoneNumber,
    ProviderRef,
};
use uuid::Uuid;

use crate::{EventSubject, Events, MockPresenter};

/// A fixed moment, `secs` after a base.
pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_760_000_000 + secs, 0).unwrap()
}

/// A customer with `kyc_link_1`, not started, as of `at(0)`, version 3.
pub fn customer(n: u128) -> Customer {
    Customer {
        id: CustomerId(Uuid::from_u128(n)),
        account_id: AccountId(Uuid::from_u128(1000 + n)),
        name: CustomerName::parse("Ada Lovelace").unwrap(),
        email: CustomerEmail::parse("ada@example.com").unwrap(),
        phone: PhoneNumber::parse("+14155552671", None).unwrap(),
        country: CountryCode::parse("USA").unwrap(),
        customer_type: CustomerType::Individual,
        send_kyc_mail: false,
        kyc_mail_status: KycMailStatus::NotRequested,
        kyc_provider: "bridge".into(),
        kyc: KycLink {
            provider_link_id: Some("kyc_link_1".into()),
            kyc_link: "https://kyc.example/verify".into(),
            tos_link: "https://tos.example/accept".into(),
            provider_customer_id: None,
            persona_inquiry_type: None,
        },
        kyc_state: KycState::not_started(),
        kyc_as_of: KycOrder::at(at(0)),
        last_synced_at: None,
        version: 3,
        created_at: at(-100),
        updated_at: None,
    }
}

/// A webhook report about `kyc_link_1` saying `status`, as of `order`.
pub fn report(event: &str, status: KycStatus, order: KycOrder) -> KycUpdate {
    KycUpdate {
        source: KycSource::Webhook,
        event_id: Some(event.into()),
        target: ProviderRef::KycLink("kyc_link_1".into()),
        kyc_status: Some(status),
        tos_status: None,
        rejection_reasons: None,
        provider_customer_id: None,
        order,
    }
}

/// Events whose bodies name their type, the customer's status and the previous statuses.
pub fn events() -> Events {
    let mut presenter = MockPresenter::new();
    presenter.expect_event_body().returning(|d| {
        let status = match &d.subject {
            EventSubject::Customer(c) => c.kyc_state.kyc_status.as_str(),
            EventSubject::Erased(_) => "erased",
        };
        format!("{} {status} {:?}", d.event_type, d.previous)
    });
    Events::new(Arc::new(presenter))
}
