//! The update use case: every rule and every failure branch, with mocks of every port.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::*;
use crate::{kyc_message_id_for_version, CustomerChange, Precondition, UpdateCustomer};
use domain::CustomerUpdate;

/// A customer whose verification has not started, so its address may still change.
fn fresh() -> Customer {
    let mut customer = sample();
    customer.kyc_state = KycState::not_started();
    customer.version = 3;
    customer.last_synced_at = Some(Utc::now());
    customer
}

fn new_address() -> CustomerUpdate {
    CustomerUpdate {
        email: Some(CustomerEmail::parse("new.address@example.org").unwrap()),
        ..CustomerUpdate::default()
    }
}

fn new_name() -> CustomerUpdate {
    CustomerUpdate {
        name: Some(CustomerName::parse("Ada Lovelace").unwrap()),
        ..CustomerUpdate::default()
    }
}

/// The new address's link, as the provider issues it.
fn relink() -> IssuedKycLink {
    IssuedKycLink {
        link: KycLink {
            provider_link_id: Some("kyc_link_new".into()),
            kyc_link: "https://kyc.example/new".into(),
            tos_link: "https://tos.example/new".into(),
            provider_customer_id: None,
            persona_inquiry_type: None,
        },
        state: KycState::not_started(),
    }
}

/// A repository that finds `customers` in turn (the last one from then on).
fn repo_finding(customers: Vec<Customer>) -> MockCustomerRepository {
    let mut repo = MockCustomerRepository::new();
    let calls = AtomicUsize::new(0);
    repo.expect_find().returning(move |_, _| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        Ok(Some(customers[n.min(customers.len() - 1)].clone()))
    });
    repo
}

/// Records the changes the store is asked to write, answering each with `answer`.
fn recording(
    repo: &mut MockCustomerRepository,
    answer: impl Fn(usize) -> Result<(), RepositoryError> + Send + 'static,
) -> Arc<Mutex<Vec<CustomerChange>>> {
    let written = Arc::new(Mutex::new(Vec::new()));
    let sink = written.clone();
    repo.expect_update().returning(move |change| {
        let mut all = sink.lock().unwrap();
        all.push(change.clone());
        answer(all.len())
    });
    written
}

fn no_provider() -> MockKycProvider {
    let mut kyc = MockKycProvider::new();
    kyc.expect_create_kyc_link().never();
    kyc
}

async fn update(
    repo: MockCustomerRepository,
    kyc: MockKycProvider,
    update: CustomerUpdate,
    precondition: Precondition,
) -> Result<Customer, UpdateCustomerError> {
    service(repo, kyc)
        .update_customer(account(), fresh().id, update, precondition)
        .await
}

#[tokio::test]
async fn an_update_changes_the_named_fields_bumps_the_version_and_writes_customer_updated() {
    let current = fresh();
    let mut repo = repo_finding(vec![current.clone()]);
    let written = recording(&mut repo, |_| Ok(()));
    let changes = CustomerUpdate {
        name: Some(CustomerName::parse("Ada Lovelace").unwrap()),
        phone: Some(PhoneNumber::parse("+14155552671", None).unwrap()),
        country: Some(CountryCode::parse("GB").unwrap()),
        email: None,
    };

    let updated = update(repo, no_provider(), changes, Precondition::Any)
        .await
        .unwrap();

    assert_eq!(updated.name.as_str(), "Ada Lovelace");
    assert_eq!(updated.phone.as_str(), "+14155552671");
    assert_eq!(updated.country.alpha3(), "GBR");
    assert_eq!(updated.email, current.email);
    assert_eq!(updated.version, current.version + 1);
    let at = updated.updated_at.expect("a change sets updated_at");
    assert_eq!(at.timestamp_subsec_micros() % 1000, 0);
    // The links, the verification and the mail are untouched by other details.
    assert_eq!(updated.kyc, current.kyc);
    assert_eq!(updated.kyc_state, current.kyc_state);
    assert_eq!(updated.last_synced_at, current.last_synced_at);
    assert_eq!(updated.kyc_mail_status, current.kyc_mail_status);
    let written = written.lock().unwrap();
    let [change] = written.as_slice() else {
        panic!("one write expected: {written:?}")
    };
    assert_eq!(change.new, updated);
    assert_eq!(change.expected_version, current.version);
    assert_eq!(change.kyc_mail, None);
    let [event] = change.events.as_slice() else {
        panic!("one event expected")
    };
    assert_eq!(event.event_type, WebhookEventType::CustomerUpdated);
    assert_eq!(event.body, format!("customer.updated {}", current.id));
    assert_eq!(event.created_at, at);
}

#[tokio::test]
async fn an_update_that_changes_nothing_writes_nothing_and_answers_the_customer_as_it_is() {
    let current = fresh();
    let mut repo = repo_finding(vec![current.clone()]);
    repo.expect_update().never();
    let same = CustomerUpdate {
        name: Some(current.name.clone()),
        email: Some(current.email.clone()),
        phone: Some(current.phone.clone()),
        country: Some(current.country),
    };
    let answer = update(repo, no_provider(), same, Precondition::Any)
        .await
        .unwrap();
    assert_eq!(answer, current);
}

#[tokio::test]
async fn an_update_of_no_customer_of_the_account_is_not_found() {
    let mut repo = MockCustomerRepository::new();
    repo.expect_find()
        .withf(|a, _| *a == account())
        .returning(|_, _| Ok(None));
    repo.expect_update().never();
    let err = update(repo, no_provider(), new_name(), Precondition::Any)
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateCustomerError::NotFound), "{err:?}");
}

#[tokio::test]
async fn an_update_naming_another_version_fails_its_precondition_and_writes_nothing() {
    let mut repo = repo_finding(vec![fresh()]);
    repo.expect_update().never();
    let err = update(
        repo,
        no_provider(),
        new_name(),
        Precondition::OneOf(vec![1, 2]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, UpdateCustomerError::PreconditionFailed),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_update_naming_the_current_version_is_written_against_that_version() {
    let mut repo = repo_finding(vec![fresh()]);
    let written = recording(&mut repo, |_| Ok(()));
    update(
        repo,
        no_provider(),
        new_name(),
        Precondition::OneOf(vec![2, 3]),
    )
    .await
    .unwrap();
    assert_eq!(written.lock().unwrap()[0].expected_version, 3);
}

#[tokio::test]
async fn an_update_naming_a_version_that_loses_the_race_is_refused_not_redone() {
    let mut repo = repo_finding(vec![fresh()]);
    let written = recording(&mut repo, |_| Err(RepositoryError::Conflict));
    let err = update(
        repo,
        no_provider(),
        new_name(),
        Precondition::OneOf(vec![3]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, UpdateCustomerError::PreconditionFailed),
        "{err:?}"
    );
    assert_eq!(written.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_update_without_a_precondition_that_loses_the_race_is_decided_again_on_the_newer_version(
) {
    let mut newer = fresh();
    newer.version = 4;
    newer.phone = PhoneNumber::parse("+14155552671", None).unwrap();
    let mut repo = repo_finding(vec![fresh(), newer.clone()]);
    let written = recording(&mut repo, |n| {
        if n == 1 {
            Err(RepositoryError::Conflict)
        } else {
            Ok(())
        }
    });
    let updated = update(repo, no_provider(), new_name(), Precondition::Any)
        .await
        .unwrap();
    // The last write wins, over the other change rather than instead of it.
    assert_eq!(updated.version, 5);
    assert_eq!(updated.phone, newer.phone);
    assert_eq!(updated.name.as_str(), "Ada Lovelace");
    let written = written.lock().unwrap();
    assert_eq!(
        written
            .iter()
            .map(|c| c.expected_version)
            .collect::<Vec<_>>(),
        [3, 4]
    );
}

#[tokio::test]
async fn an_update_that_keeps_losing_races_gives_up_without_writing() {
    let mut repo = repo_finding(vec![fresh()]);
    let written = recording(&mut repo, |_| Err(RepositoryError::Conflict));
    let err = update(repo, no_provider(), new_name(), Precondition::Any)
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateCustomerError::Contended), "{err:?}");
    assert_eq!(written.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn a_duplicate_found_by_the_store_in_a_race_is_a_duplicate() {
    let mut repo = repo_finding(vec![fresh()]);
    recording(&mut repo, |_| Err(RepositoryError::Duplicate));
    let err = update(repo, no_provider(), new_name(), Precondition::Any)
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateCustomerError::Duplicate), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_store_is_reported_as_unavailable() {
    let mut repo = MockCustomerRepository::new();
    repo.expect_find()
        .returning(|_, _| Err(RepositoryError::Unavailable(anyhow::anyhow!("down"))));
    let err = update(repo, no_provider(), new_name(), Precondition::Any)
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpdateCustomerError::StoreUnavailable(_)),
        "{err:?}"
    );

    let mut repo = repo_finding(vec![fresh()]);
    recording(&mut repo, |_| {
        Err(RepositoryError::Unavailable(anyhow::anyhow!("down")))
    });
    let err = update(repo, no_provider(), new_name(), Precondition::Any)
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpdateCustomerError::StoreUnavailable(_)),
        "{err:?}"
    );
}

mod relink;
