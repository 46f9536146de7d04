//! Sample data: an account to own customers, a valid customer, and the record the create
//! use case would hand the store for it.

use chrono::{DurationRound, TimeDelta, Utc};
use domain::{
    AccountId, CountryCode, Customer, CustomerEmail, CustomerId, CustomerName, CustomerType,
    KycLink, KycMailStatus, KycOrder, KycState, KycStatus, PhoneNumber, RejectionReason, TosStatus,
};
use ports::{NewCustomerRecord, QueuedKycMail};
use uuid::Uuid;

/// Registers a new account that cannot log in (its hash matches no secret): enough for
/// tests that need customers to have an owner.
pub async fn register_account(repo: &dyn ports::AccountRepository) -> AccountId {
    let account = domain::Account {
        id: AccountId(Uuid::new_v4()),
        name: domain::AccountName::parse("test account").expect("valid name"),
        secret_hash: "!".into(),
        disabled: false,
        created_at: Utc::now()
            .duration_trunc(TimeDelta::milliseconds(1))
            .expect("truncating now to milliseconds"),
    };
    repo.insert_account(&account)
        .await
        .expect("could not register a test account");
    account.id
}

/// A valid customer of `account` with `email`, with non-trivial provider data.
pub fn sample_customer(account: AccountId, email: &str) -> Customer {
    let created_at = Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .expect("truncating now to milliseconds");
    Customer {
        id: CustomerId::new_random(),
        account_id: account,
        name: CustomerName::parse("Emmanuel A Towoju").expect("valid name"),
        email: CustomerEmail::parse(email).expect("valid email"),
        phone: PhoneNumber::parse("+2349039395114", None).expect("valid phone"),
        country: CountryCode::parse("USA").expect("valid country"),
        customer_type: CustomerType::Individual,
        send_kyc_mail: true,
        kyc_mail_status: KycMailStatus::Queued,
        kyc_provider: "bridge".into(),
        kyc: KycLink {
            provider_link_id: Some("kyc_link_123".into()),
            kyc_link: "https://bridge.withpersona.com/verify?inquiry-template-id=itmpl_1&fields[x]=1&reference-id=7d5b".into(),
            tos_link: "https://dashboard.bridge.xyz/accept-terms-of-service?customer_id=7d5b".into(),
            provider_customer_id: Some("7d5b9315-796e-4d4d-b771-1ee5997e4abf".into()),
            persona_inquiry_type: Some("gov_id_db".into()),
        },
        kyc_state: KycState {
            kyc_status: KycStatus::Rejected,
            tos_status: TosStatus::Pending,
            rejection_reasons: vec![RejectionReason {
                reason: "Your ID has expired".into(),
                developer_reason: Some("Document expired".into()),
                created_at: "2024-12-01T18:46:15.392Z"
                    .parse()
                    .expect("a valid time"),
            }],
        },
        kyc_as_of: KycOrder::at(created_at),
        last_synced_at: None,
        version: 1,
        created_at,
        updated_at: None,
    }
}

/// The record the create use case writes for `customer`: the KYC mail job, due at once,
/// exactly when the customer asked for the mail.
pub fn registration(customer: &Customer) -> NewCustomerRecord {
    let record = NewCustomerRecord::new(customer.clone());
    if !customer.send_kyc_mail {
        return record;
    }
    record.with_kyc_mail(QueuedKycMail {
        message_id: ports::kyc_message_id(customer.id),
        due_at: customer.created_at,
    })
}
