//! The delete (erasure) use case, with mocks of every port.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::*;
use crate::{CustomerErasure, DeleteCustomer, DeleteCustomerError, Precondition};

fn no_provider() -> MockKycProvider {
    let mut kyc = MockKycProvider::new();
    kyc.expect_create_kyc_link().never();
    kyc
}

/// A repository that finds `found` in turn (the last one from then on) and records the
/// erasures it is asked to write, answering each with `answer`.
fn repo(
    found: Vec<Option<Customer>>,
    answer: impl Fn(usize) -> Result<(), RepositoryError> + Send + 'static,
) -> (MockCustomerRepository, Arc<Mutex<Vec<CustomerErasure>>>) {
    let mut repo = MockCustomerRepository::new();
    let calls = AtomicUsize::new(0);
    repo.expect_find().returning(move |_, _| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        Ok(found[n.min(found.len() - 1)].clone())
    });
    let written = Arc::new(Mutex::new(Vec::new()));
    let sink = written.clone();
    repo.expect_erase().returning(move |erasure| {
        let mut all = sink.lock().unwrap();
        all.push(erasure.clone());
        answer(all.len())
    });
    (repo, written)
}

async fn delete(
    repo: MockCustomerRepository,
    id: CustomerId,
    precondition: Precondition,
) -> Result<(), DeleteCustomerError> {
    service(repo, no_provider())
        .delete_customer(account(), id, precondition)
        .await
}

#[tokio::test]
async fn a_delete_erases_the_customer_at_the_version_read_and_writes_customer_deleted() {
    let customer = sample();
    let (repo, written) = repo(vec![Some(customer.clone())], |_| Ok(()));

    delete(repo, customer.id, Precondition::Any).await.unwrap();

    let written = written.lock().unwrap();
    let [erasure] = written.as_slice() else {
        panic!("one erasure expected: {written:?}")
    };
    assert_eq!(erasure.account_id, account());
    assert_eq!(erasure.customer_id, customer.id);
    assert_eq!(erasure.expected_version, customer.version);
    assert_eq!(erasure.created_at, customer.created_at);
    assert_eq!(erasure.erased_at.timestamp_subsec_micros() % 1000, 0);
    let [event] = erasure.events.as_slice() else {
        panic!("one event expected")
    };
    assert_eq!(event.event_type, WebhookEventType::CustomerDeleted);
    assert_eq!(event.customer_id, Some(customer.id));
    assert_eq!(event.created_at, erasure.erased_at);
    // Rendered from the id alone (see the presenter double).
    assert_eq!(event.body, format!("customer.deleted {}", customer.id));
}

#[tokio::test]
async fn a_delete_of_no_customer_of_the_account_is_not_found() {
    let (repo, written) = repo(vec![None], |_| Ok(()));
    let err = delete(repo, CustomerId::new_random(), Precondition::Any)
        .await
        .unwrap_err();
    assert!(matches!(err, DeleteCustomerError::NotFound), "{err:?}");
    assert!(written.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_delete_naming_another_version_fails_its_precondition_and_erases_nothing() {
    let customer = sample();
    let (repo, written) = repo(vec![Some(customer.clone())], |_| Ok(()));
    let err = delete(repo, customer.id, Precondition::OneOf(vec![7]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeleteCustomerError::PreconditionFailed),
        "{err:?}"
    );
    assert!(written.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_delete_naming_a_version_that_loses_a_race_is_refused() {
    let customer = sample();
    let (repo, written) = repo(vec![Some(customer.clone())], |_| {
        Err(RepositoryError::Conflict)
    });
    let err = delete(repo, customer.id, Precondition::OneOf(vec![1]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeleteCustomerError::PreconditionFailed),
        "{err:?}"
    );
    assert_eq!(written.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_delete_without_a_precondition_that_loses_a_race_erases_the_newer_version() {
    let customer = sample();
    let mut newer = customer.clone();
    newer.version = 2;
    let (repo, written) = repo(vec![Some(customer.clone()), Some(newer)], |n| {
        if n == 1 {
            Err(RepositoryError::Conflict)
        } else {
            Ok(())
        }
    });
    delete(repo, customer.id, Precondition::Any).await.unwrap();
    let versions: Vec<i64> = written
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.expected_version)
        .collect();
    assert_eq!(versions, [1, 2]);
}

#[tokio::test]
async fn a_delete_that_loses_a_race_to_another_delete_is_not_found() {
    let customer = sample();
    let (repo, _) = repo(vec![Some(customer.clone()), None], |_| {
        Err(RepositoryError::Conflict)
    });
    let err = delete(repo, customer.id, Precondition::Any)
        .await
        .unwrap_err();
    assert!(matches!(err, DeleteCustomerError::NotFound), "{err:?}");
}

#[tokio::test]
async fn a_delete_that_keeps_losing_races_gives_up() {
    let customer = sample();
    let (repo, written) = repo(vec![Some(customer.clone())], |_| {
        Err(RepositoryError::Conflict)
    });
    let err = delete(repo, customer.id, Precondition::Any)
        .await
        .unwrap_err();
    assert!(matches!(err, DeleteCustomerError::Contended), "{err:?}");
    assert_eq!(written.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn an_unreachable_store_is_reported_as_unavailable() {
    let customer = sample();
    let (repo, _) = repo(vec![Some(customer.clone())], |_| {
        Err(RepositoryError::Unavailable(anyhow::anyhow!("down")))
    });
    let err = delete(repo, customer.id, Precondition::Any)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeleteCustomerError::StoreUnavailable(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_create_under_an_erased_customers_id_is_refused_as_erased() {
    let mut repo = repo_with_free_email();
    repo.expect_insert()
        .times(1)
        .returning(|_| Err(RepositoryError::Erased));
    let err = service(repo, provider_answering(|| Ok(link())))
        .create_customer(account(), input())
        .await
        .unwrap_err();
    assert!(matches!(err, CreateCustomerError::Erased), "{err:?}");
}
