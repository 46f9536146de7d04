//! The "create customer" use case: check the address is free, obtain a KYC link, store.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DurationRound, TimeDelta, Utc};
use domain::{AccountId, Customer, CustomerId, KycMailStatus, NewCustomer};

use crate::{
    CustomerCursor, CustomerFilter, CustomerRepository, KycLinkRequest, KycProvider,
    KycProviderError, RepositoryError,
};

/// Why a customer could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateCustomerError {
    /// The account already has a customer with this e-mail address.
    #[error("a customer with this e-mail address already exists")]
    Duplicate,
    /// The KYC provider refused the customer's data.
    #[error("the KYC provider rejected the customer: {message}")]
    KycRejected {
        /// The provider's explanation, safe to show to the client.
        message: String,
    },
    /// The KYC provider did not answer in time.
    #[error("the KYC provider did not answer in time")]
    KycTimeout,
    /// The KYC provider is unreachable or failing.
    #[error("the KYC provider is unavailable")]
    KycUnavailable(#[source] anyhow::Error),
    /// The customer store is unreachable or overloaded.
    #[error("the customer store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Anything else; the cause is logged, never shown.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<RepositoryError> for CreateCustomerError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Duplicate => Self::Duplicate,
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
        }
    }
}

impl From<KycProviderError> for CreateCustomerError {
    fn from(e: KycProviderError) -> Self {
        match e {
            KycProviderError::Rejected { message, .. } => Self::KycRejected { message },
            KycProviderError::Timeout => Self::KycTimeout,
            KycProviderError::Unavailable(cause) => Self::KycUnavailable(cause),
        }
    }
}

/// The inbound port the HTTP layer calls. A trait so handlers can be tested with a mock.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CreateCustomer: Send + Sync + 'static {
    /// Registers a customer for `account_id`: obtains its KYC link and stores it.
    async fn create_customer(
        &self,
        account_id: AccountId,
        input: NewCustomer,
    ) -> Result<Customer, CreateCustomerError>;
}

/// A page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListCustomers {
    /// Page size, 1..=100.
    pub limit: u32,
    /// Continue after this customer (the last one of the previous page).
    pub starting_after: Option<CustomerId>,
    /// Which customers.
    pub filter: CustomerFilter,
}

/// One page of customers, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerPage {
    /// The customers.
    pub customers: Vec<Customer>,
    /// Whether more follow.
    pub has_more: bool,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadCustomersError {
    /// `starting_after` names no customer of the account.
    #[error("starting_after does not name a customer of this account")]
    UnknownCursor,
    /// The store is unreachable.
    #[error("the customer store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for ReadCustomersError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            RepositoryError::Duplicate => Self::Unexpected(anyhow::anyhow!("duplicate on read")),
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
        }
    }
}

/// The read side: one customer, or a page of them. Only ever the caller's own.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ReadCustomers: Send + Sync + 'static {
    /// The account's customer with this id.
    async fn get_customer(
        &self,
        account_id: AccountId,
        id: CustomerId,
    ) -> Result<Option<Customer>, ReadCustomersError>;

    /// A page of the account's customers, newest first.
    async fn list_customers(
        &self,
        account_id: AccountId,
        query: ListCustomers,
    ) -> Result<CustomerPage, ReadCustomersError>;
}

/// The application service, wired at start-up to whichever adapters are configured.
#[derive(Clone)]
pub struct CustomerService {
    repository: Arc<dyn CustomerRepository>,
    kyc: Arc<dyn KycProvider>,
}

impl CustomerService {
    /// Builds the service over a repository and a KYC provider.
    pub fn new(repository: Arc<dyn CustomerRepository>, kyc: Arc<dyn KycProvider>) -> Self {
        Self { repository, kyc }
    }
}

/// The idempotency key sent to the KYC provider for a customer: stable for the customer,
/// so any retry of the provider call returns the same link.
pub fn kyc_idempotency_key(id: CustomerId) -> String {
    format!("customer-{id}")
}

#[async_trait]
impl CreateCustomer for CustomerService {
    #[tracing::instrument(name = "create_customer", skip_all, fields(account_id = %account_id, customer_id))]
    async fn create_customer(
        &self,
        account_id: AccountId,
        input: NewCustomer,
    ) -> Result<Customer, CreateCustomerError> {
        // Checked before calling the provider so a plain duplicate costs no KYC link.
        // The store's unique index still decides races between concurrent requests.
        if self
            .repository
            .email_exists(account_id, &input.email)
            .await?
        {
            return Err(CreateCustomerError::Duplicate);
        }

        let id = CustomerId::new_random();
        tracing::Span::current().record("customer_id", tracing::field::display(id));
        let request = KycLinkRequest {
            idempotency_key: kyc_idempotency_key(id),
            full_name: input.name.as_str().to_owned(),
            email: input.email.as_str().to_owned(),
            customer_type: input.customer_type,
        };
        // No database connection is held while the provider is called.
        let kyc = self.kyc.create_kyc_link(&request).await?;

        // Millisecond precision: what the API shows, and what every store keeps exactly.
        let created_at = Utc::now()
            .duration_trunc(TimeDelta::milliseconds(1))
            .map_err(|e| CreateCustomerError::Unexpected(e.into()))?;
        let customer = Customer {
            id,
            account_id,
            name: input.name,
            email: input.email,
            phone: input.phone,
            country: input.country,
            customer_type: input.customer_type,
            send_kyc_mail: input.send_kyc_mail,
            kyc_mail_status: KycMailStatus::initial(input.send_kyc_mail),
            kyc_provider: self.kyc.name().to_owned(),
            kyc,
            created_at,
        };
        self.repository.insert(&customer).await?;
        tracing::info!("customer created");
        Ok(customer)
    }
}

#[async_trait]
impl ReadCustomers for CustomerService {
    #[tracing::instrument(name = "get_customer", skip_all, fields(account_id = %account_id, customer_id = %id))]
    async fn get_customer(
        &self,
        account_id: AccountId,
        id: CustomerId,
    ) -> Result<Option<Customer>, ReadCustomersError> {
        Ok(self.repository.find(account_id, id).await?)
    }

    #[tracing::instrument(name = "list_customers", skip_all, fields(account_id = %account_id))]
    async fn list_customers(
        &self,
        account_id: AccountId,
        query: ListCustomers,
    ) -> Result<CustomerPage, ReadCustomersError> {
        let after = match query.starting_after {
            None => None,
            Some(id) => {
                let cursor = self
                    .repository
                    .find(account_id, id)
                    .await?
                    .ok_or(ReadCustomersError::UnknownCursor)?;
                Some(CustomerCursor {
                    created_at: cursor.created_at,
                    id: cursor.id,
                })
            }
        };
        // One more than asked tells whether another page follows.
        let mut customers = self
            .repository
            .list(
                account_id,
                &query.filter,
                after,
                query.limit.saturating_add(1),
            )
            .await?;
        let has_more = customers.len() > query.limit as usize;
        customers.truncate(query.limit as usize);
        Ok(CustomerPage {
            customers,
            has_more,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MockCustomerRepository, MockKycProvider};
    use domain::{CountryCode, CustomerEmail, CustomerName, CustomerType, KycLink, PhoneNumber};
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

    fn link() -> KycLink {
        KycLink {
            provider_link_id: Some("kyc_link_123".into()),
            kyc_link: "https://kyc.example/verify?a=1&b=2".into(),
            tos_link: "https://tos.example/accept".into(),
            kyc_status: "not_started".into(),
            tos_status: "pending".into(),
            rejection_reasons: vec![],
            provider_customer_id: None,
            persona_inquiry_type: None,
        }
    }

    fn account() -> AccountId {
        AccountId(Uuid::from_u128(7))
    }

    fn service(repo: MockCustomerRepository, kyc: MockKycProvider) -> CustomerService {
        CustomerService::new(Arc::new(repo), Arc::new(kyc))
    }

    fn provider_answering(
        result: impl Fn() -> Result<KycLink, KycProviderError> + Send + Sync + 'static,
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
            .withf(|c| c.account_id == account() && c.kyc.kyc_link.ends_with("a=1&b=2"))
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
        assert_eq!(customer.kyc, link());
        assert_eq!(customer.kyc_provider, "bridge");
        assert_eq!(customer.kyc_mail_status, KycMailStatus::Queued);
        assert_eq!(customer.created_at.timestamp_subsec_micros() % 1000, 0);
    }

    #[tokio::test]
    async fn create_uses_the_customer_id_as_idempotency_key() {
        let mut repo = repo_with_free_email();
        let (tx, rx) = std::sync::mpsc::channel();
        repo.expect_insert().returning(move |c| {
            tx.send(c.id).unwrap();
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
            .withf(|c| !c.send_kyc_mail && c.kyc_mail_status == KycMailStatus::NotRequested)
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
            kyc: link(),
            created_at: Utc::now(),
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
}
