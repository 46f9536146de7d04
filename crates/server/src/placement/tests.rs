use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use domain::{AccountId, CountryCode, CustomerEmail, CustomerName, CustomerType, PhoneNumber};
use uuid::Uuid;

use super::*;

/// What the fake registration does once it runs.
enum Then {
    Answer(Box<Result<Customer, CreateCustomerError>>),
    Panic,
    /// Waits for ever; records when it is dropped.
    Hang(Arc<AtomicBool>),
}

/// A registration that records the thread it ran on.
struct Fake {
    then: Mutex<Option<Then>>,
    ran_on: Mutex<Option<String>>,
}

impl Fake {
    fn new(then: Then) -> Arc<Self> {
        Arc::new(Self {
            then: Mutex::new(Some(then)),
            ran_on: Mutex::new(None),
        })
    }

    async fn register(&self) -> Result<Customer, CreateCustomerError> {
        *self.ran_on.lock().unwrap() = std::thread::current().name().map(str::to_owned);
        let then = self.then.lock().unwrap().take().expect("called once");
        match then {
            Then::Answer(answer) => *answer,
            Then::Panic => panic!("a bug in the registration"),
            Then::Hang(dropped) => {
                let _dropped = SetOnDrop(dropped);
                std::future::pending().await
            }
        }
    }
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl CreateCustomer for Fake {
    async fn create_customer(
        &self,
        _: AccountId,
        _: NewCustomer,
    ) -> Result<Customer, CreateCustomerError> {
        self.register().await
    }

    async fn create_customer_reserved(
        &self,
        _: AccountId,
        _: NewCustomer,
        _: Reservation<Customer>,
    ) -> Result<Customer, CreateCustomerError> {
        self.register().await
    }
}

fn input() -> NewCustomer {
    NewCustomer {
        name: CustomerName::parse("Ada Lovelace").unwrap(),
        email: CustomerEmail::parse("ada@example.com").unwrap(),
        phone: PhoneNumber::parse("+14155552671", None).unwrap(),
        country: CountryCode::parse("USA").unwrap(),
        customer_type: CustomerType::Individual,
        send_kyc_mail: false,
    }
}

/// A runtime of one thread named "application", as the application's own runtime is
/// apart from the HTTP workers'.
fn application_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("application")
        .enable_all()
        .build()
        .unwrap()
}

fn account() -> AccountId {
    AccountId(Uuid::new_v4())
}

#[test]
fn the_registration_runs_on_the_given_runtime_and_its_answer_comes_back() {
    let runtime = application_runtime();
    let customer = testkit::sample_customer(account(), "ada@example.com");
    let fake = Fake::new(Then::Answer(Box::new(Ok(customer.clone()))));
    let placed = OnRuntime::new(fake.clone(), runtime.handle().clone());
    // The caller is a current-thread runtime on this test's thread, as an HTTP worker is.
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let created = caller
        .block_on(placed.create_customer(customer.account_id, input()))
        .unwrap();
    assert_eq!(created, customer);
    assert_eq!(fake.ran_on.lock().unwrap().as_deref(), Some("application"));
}

#[tokio::test]
async fn the_registrations_errors_come_back_as_they_are() {
    let runtime = Handle::current();
    let fake = Fake::new(Then::Answer(Box::new(Err(CreateCustomerError::KycTimeout))));
    let placed = OnRuntime::new(fake, runtime);
    let answer = placed.create_customer(account(), input()).await;
    assert!(
        matches!(answer, Err(CreateCustomerError::KycTimeout)),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_panic_in_the_registration_is_an_unexpected_error_for_its_caller() {
    let placed = OnRuntime::new(Fake::new(Then::Panic), Handle::current());
    match placed.create_customer(account(), input()).await {
        Err(CreateCustomerError::Unexpected(e)) => {
            assert_eq!(e.to_string(), "the registration panicked");
        }
        other => panic!("expected an unexpected error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_whose_caller_went_away_is_aborted() {
    let dropped = Arc::new(AtomicBool::new(false));
    let fake = Fake::new(Then::Hang(dropped.clone()));
    let placed = OnRuntime::new(fake.clone(), Handle::current());
    // The caller gives up while the registration waits (its client disconnected, and actix
    // dropped the request).
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        placed.create_customer(account(), input()),
    )
    .await;
    assert!(gave_up.is_err(), "the registration was still waiting");
    assert!(fake.ran_on.lock().unwrap().is_some(), "it had started");
    tokio::time::timeout(Duration::from_secs(5), async {
        while !dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the registration was aborted with its request, not left running");
}
