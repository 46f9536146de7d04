//! Unit tests of the KYC-by-API and terms-of-service use cases, with mocks of every port.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use domain::submission::{
    AddressInput, IdentityInput, IndividualInput, PersonInput, SubmissionInput,
};
use domain::{
    AccountId, CountryCode, Customer, CustomerEmail, CustomerId, CustomerName, CustomerType,
    KycLink, KycMailStatus, KycOrder, KycState, KycStatus, KycSubmission, PhoneNumber,
    SignedAgreementId, SubmissionOutcome, TosStatus, ValidationErrors,
};
use uuid::Uuid;

use super::*;
use crate::lifecycle::fixtures::events;
use crate::{MockCustomerDirectory, MockCustomerRepository, MockKycProvider};

mod accepted;
mod races;
mod refusals;
mod reserved;
mod terms;

fn account() -> AccountId {
    AccountId(Uuid::from_u128(7))
}

fn customer_id() -> CustomerId {
    CustomerId(Uuid::from_u128(8))
}

fn customer(status: KycStatus) -> Customer {
    let created_at = Utc::now() - chrono::TimeDelta::hours(1);
    Customer {
        id: customer_id(),
        account_id: account(),
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
            kyc_link: "https://kyc.example".into(),
            tos_link: "https://tos.example".into(),
            provider_customer_id: Some("cust_1".into()),
            persona_inquiry_type: None,
        },
        kyc_state: KycState {
            kyc_status: status,
            ..KycState::not_started()
        },
        kyc_as_of: KycOrder::at(created_at),
        last_synced_at: None,
        version: 3,
        created_at,
        updated_at: None,
    }
}

fn submission(agreement: Option<&str>) -> KycSubmission {
    let s = |v: &str| Some(v.to_owned());
    let input = IndividualInput {
        person: PersonInput {
            first_name: s("Ada"),
            last_name: s("Lovelace"),
            birth_date: s("1990-05-17"),
            residential_address: Some(AddressInput {
                street_line_1: s("1 Market Street"),
                city: s("San Francisco"),
                subdivision: s("CA"),
                postal_code: s("94105"),
                country: s("USA"),
                ..AddressInput::default()
            }),
            identifying_information: Some(vec![IdentityInput {
                id_type: s("ssn"),
                issuing_country: s("USA"),
                number: s("123456789"),
                ..IdentityInput::default()
            }]),
            ..PersonInput::default()
        },
        signed_agreement_id: agreement.map(str::to_owned),
        ..IndividualInput::default()
    };
    KycSubmission::validate(
        SubmissionInput::Individual(input),
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        ValidationErrors::new(),
    )
    .unwrap()
}

fn accepted() -> SubmissionAccepted {
    SubmissionAccepted {
        provider_customer_id: "cust_1".into(),
        state: KycState {
            kyc_status: KycStatus::UnderReview,
            tos_status: TosStatus::Approved,
            rejection_reasons: Vec::new(),
        },
    }
}

fn finding(status: KycStatus) -> MockCustomerRepository {
    let mut customers = MockCustomerRepository::new();
    customers
        .expect_find()
        .returning(move |_, _| Ok(Some(customer(status))));
    customers
}

fn claiming(finishes: Arc<Mutex<Vec<SubmissionFinish>>>) -> MockKycSubmissionRepository {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_claim_submission()
        .times(1)
        .returning(|_| {
            Ok(ClaimOutcome::Claimed(Box::new(customer(
                KycStatus::NotStarted,
            ))))
        });
    submissions.expect_finish_submission().returning(move |f| {
        finishes.lock().unwrap().push(f.clone());
        Ok(())
    });
    submissions
}

fn providing(
    result: impl Fn() -> Result<SubmissionAccepted, KycSubmitError> + Send + Sync + 'static,
) -> MockKycProvider {
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc()
        .times(1)
        .returning(move |_| result());
    kyc
}

fn service(
    customers: MockCustomerRepository,
    submissions: MockKycSubmissionRepository,
    kyc: MockKycProvider,
) -> KycSubmissionService {
    with_directory(customers, MockCustomerDirectory::new(), submissions, kyc)
}

fn with_directory(
    customers: MockCustomerRepository,
    directory: MockCustomerDirectory,
    submissions: MockKycSubmissionRepository,
    kyc: MockKycProvider,
) -> KycSubmissionService {
    KycSubmissionService::new(
        Arc::new(customers),
        Arc::new(directory),
        Arc::new(submissions),
        Arc::new(kyc),
        events(),
        SubmissionPolicy {
            abandon_after: Duration::from_secs(300),
        },
    )
}
