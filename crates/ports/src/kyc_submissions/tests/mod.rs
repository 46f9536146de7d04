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

#[tokio::test]
async fn the_claim_keeps_only_the_masked_summary_and_blocks_during_review() {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_claim_submission()
        .times(1)
        .withf(|c| {
            let text = format!("{:?}", c.summary);
            c.blocking_statuses == [KycStatus::UnderReview]
                && c.abandon_before < c.submitted_at
                && c.summary.identity_documents[0].number_last_four.as_deref() == Some("6789")
                && !text.contains("123456789")
                && !text.contains("1990")
        })
        .returning(|_| Ok(ClaimOutcome::InProgress));
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc().never();
    let err = service(finding(KycStatus::NotStarted), submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap_err();
    assert!(matches!(err, SubmitKycError::InProgress), "{err:?}");
}

#[tokio::test]
async fn a_customer_under_review_cannot_submit_again_but_a_rejected_one_can() {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions.expect_claim_submission().never();
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc().never();
    let err = service(finding(KycStatus::UnderReview), submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap_err();
    assert!(matches!(err, SubmitKycError::InProgress), "{err:?}");

    let finishes = Arc::new(Mutex::new(Vec::new()));
    service(
        finding(KycStatus::Rejected),
        claiming(finishes),
        providing(|| Ok(accepted())),
    )
    .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
    .await
    .unwrap();
}

#[tokio::test]
async fn another_accounts_customer_is_not_found_and_nothing_is_sent() {
    let mut customers = MockCustomerRepository::new();
    customers.expect_find().returning(|_, _| Ok(None));
    let mut submissions = MockKycSubmissionRepository::new();
    submissions.expect_claim_submission().never();
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc().never();
    let err = service(customers, submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap_err();
    assert!(matches!(err, SubmitKycError::NotFound), "{err:?}");
}

#[tokio::test]
async fn a_business_submission_for_an_individual_is_refused() {
    let mut customers = MockCustomerRepository::new();
    customers.expect_find().returning(|_, _| {
        let mut c = customer(KycStatus::NotStarted);
        c.customer_type = CustomerType::Business;
        Ok(Some(c))
    });
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc().never();
    let err = service(customers, MockKycSubmissionRepository::new(), kyc)
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SubmitKycError::TypeMismatch {
                expected: CustomerType::Business
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn without_any_terms_acceptance_nothing_is_sent_and_a_stored_one_is_used() {
    let mut submissions = MockKycSubmissionRepository::new();
    submissions
        .expect_signed_agreement_id()
        .returning(|_, _| Ok(None));
    submissions.expect_claim_submission().never();
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc().never();
    let err = service(finding(KycStatus::NotStarted), submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(None))
        .await
        .unwrap_err();
    assert!(matches!(err, SubmitKycError::TermsNotAccepted), "{err:?}");

    let finishes = Arc::new(Mutex::new(Vec::new()));
    let mut submissions = claiming(finishes);
    submissions
        .expect_signed_agreement_id()
        .returning(|_, _| Ok(Some(SignedAgreementId::parse("stored-agreement").unwrap())));
    let mut kyc = MockKycProvider::new();
    kyc.expect_submit_kyc()
        .times(1)
        .withf(|r| r.signed_agreement_id.as_str() == "stored-agreement")
        .returning(|_| Ok(accepted()));
    service(finding(KycStatus::NotStarted), submissions, kyc)
        .submit_kyc(account(), customer_id(), submission(None))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refusal_is_recorded_with_the_refused_paths_only() {
    let finishes = Arc::new(Mutex::new(Vec::new()));
    let kyc = providing(|| {
        Err(KycSubmitError::Rejected {
            field_errors: vec![(
                "identifying_information".into(),
                "ssn 123456789 is invalid".into(),
            )],
            message: "bad".into(),
        })
    });
    let err = service(
        finding(KycStatus::NotStarted),
        claiming(finishes.clone()),
        kyc,
    )
    .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
    .await
    .unwrap_err();
    let SubmitKycError::Rejected { field_errors, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(field_errors[0].0, "identifying_information");
    let finishes = finishes.lock().unwrap();
    assert_eq!(finishes[0].outcome, SubmissionOutcome::Refused);
    assert_eq!(finishes[0].refused_fields, ["identifying_information"]);
    assert!(finishes[0].customer.is_none());
}

#[tokio::test]
async fn a_timeout_or_an_outage_is_recorded_as_failed_and_reported() {
    for (error, timeout) in [
        ((|| KycSubmitError::Timeout) as fn() -> KycSubmitError, true),
        (
            || KycSubmitError::Unavailable(anyhow::anyhow!("HTTP 503")),
            false,
        ),
    ] {
        let finishes = Arc::new(Mutex::new(Vec::new()));
        let err = service(
            finding(KycStatus::NotStarted),
            claiming(finishes.clone()),
            providing(move || Err(error())),
        )
        .submit_kyc(account(), customer_id(), submission(Some("agr-1")))
        .await
        .unwrap_err();
        if timeout {
            assert!(matches!(err, SubmitKycError::KycTimeout), "{err:?}");
        } else {
            assert!(matches!(err, SubmitKycError::KycUnavailable(_)), "{err:?}");
        }
        assert_eq!(
            finishes.lock().unwrap()[0].outcome,
            SubmissionOutcome::Failed
        );
    }
}

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
