//! Accounts and authentication: creating API clients with an app secret (kept only as a
//! hash, made by the [`SecretHasher`] port), logging in without revealing which accounts
//! exist, and checking that a token's account is still active.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DurationRound, TimeDelta, Utc};
use domain::{Account, AccountId, AccountName};
use rand::RngCore as _;
use uuid::Uuid;

use crate::RepositoryError;

/// Where accounts are kept.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AccountRepository: Send + Sync + 'static {
    /// Stores a new account.
    async fn insert_account(&self, account: &Account) -> Result<(), RepositoryError>;
    /// The account with this id, if any.
    async fn find_account(&self, id: AccountId) -> Result<Option<Account>, RepositoryError>;
    /// Every account, oldest first.
    async fn list_accounts(&self) -> Result<Vec<Account>, RepositoryError>;
    /// Disables or re-enables an account; false when there is no such account.
    async fn set_account_disabled(
        &self,
        id: AccountId,
        disabled: bool,
    ) -> Result<bool, RepositoryError>;
}

/// Turns app secrets into the hashes that are stored, and checks secrets against them.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SecretHasher: Send + Sync + 'static {
    /// A hash of `secret` to store, freshly salted.
    async fn hash(&self, secret: &str) -> anyhow::Result<String>;

    /// Whether `secret` matches `hash`. Costs one full verification whatever it is given:
    /// without a hash (no such account), or with one it cannot read (an imported account
    /// never given a secret), it verifies against a decoy and answers false, so the time
    /// taken does not tell those cases from a wrong secret.
    // The lifetime is named because mockall cannot mock an elided one inside `Option`.
    async fn verify<'a>(&self, secret: &str, hash: Option<&'a str>) -> anyhow::Result<bool>;
}

/// Why a login failed. Deliberately one variant for "no such account", "wrong secret"
/// and "disabled": the caller must not be able to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown account, wrong secret or disabled account.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The account store is unreachable.
    #[error("the account store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for LoginError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Unavailable(cause) => Self::Unavailable(cause),
            RepositoryError::Duplicate => Self::Unexpected(anyhow::anyhow!("duplicate account")),
            RepositoryError::Conflict => Self::Unexpected(anyhow::anyhow!("conflict on login")),
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// Logging in with an app secret.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Authenticate: Send + Sync + 'static {
    /// Checks `app_secret` against the account `account_id` (as the client sent it).
    /// Takes about the same time whether or not the account exists.
    async fn login(&self, account_id: &str, app_secret: &str) -> Result<AccountId, LoginError>;
}

/// Whether a token's account may still act.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AccountStatus: Send + Sync + 'static {
    /// True when the account exists and is not disabled. May answer from a short cache.
    async fn is_active(&self, id: AccountId) -> Result<bool, RepositoryError>;
}

/// Account use cases over an [`AccountRepository`] and a [`SecretHasher`].
pub struct AccountService {
    repository: Arc<dyn AccountRepository>,
    hasher: Arc<dyn SecretHasher>,
    status_cache: Mutex<HashMap<AccountId, (bool, Instant)>>,
    status_ttl: Duration,
}

/// Prefix of every app secret, so a leaked one is recognisable in a scan.
pub const APP_SECRET_PREFIX: &str = "sk_";

impl AccountService {
    /// A service whose "is this account active" answers may be up to `status_ttl` old.
    pub fn new(
        repository: Arc<dyn AccountRepository>,
        hasher: Arc<dyn SecretHasher>,
        status_ttl: Duration,
    ) -> Self {
        Self {
            repository,
            hasher,
            status_cache: Mutex::new(HashMap::new()),
            status_ttl,
        }
    }

    /// Creates an account; returns it with its app secret, which is not kept anywhere.
    pub async fn create_account(&self, name: AccountName) -> anyhow::Result<(Account, String)> {
        let secret = new_app_secret();
        let secret_hash = self.hasher.hash(&secret).await?;
        let account = Account {
            id: AccountId(Uuid::new_v4()),
            name,
            secret_hash,
            disabled: false,
            created_at: Utc::now().duration_trunc(TimeDelta::milliseconds(1))?,
        };
        self.repository.insert_account(&account).await?;
        Ok((account, secret))
    }

    /// Every account.
    pub async fn list_accounts(&self) -> Result<Vec<Account>, RepositoryError> {
        self.repository.list_accounts().await
    }

    /// Disables (or re-enables) an account; false when there is no such account.
    pub async fn set_disabled(
        &self,
        id: AccountId,
        disabled: bool,
    ) -> Result<bool, RepositoryError> {
        let changed = self.repository.set_account_disabled(id, disabled).await?;
        self.forget(id);
        Ok(changed)
    }

    fn forget(&self, id: AccountId) {
        if let Ok(mut cache) = self.status_cache.lock() {
            cache.remove(&id);
        }
    }
}

/// A new random app secret: `sk_` and 64 hex digits (256 bits). The secret's shape is
/// part of the product (clients and secret scanners see it), whatever hashes it.
pub fn new_app_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{APP_SECRET_PREFIX}{}", hex::encode(bytes))
}

#[async_trait]
impl Authenticate for AccountService {
    #[tracing::instrument(name = "login", skip_all)]
    async fn login(&self, account_id: &str, app_secret: &str) -> Result<AccountId, LoginError> {
        let account = match Uuid::parse_str(account_id.trim()) {
            Ok(id) => self.repository.find_account(AccountId(id)).await?,
            Err(_) => None,
        };
        // Always exactly one verification, even without an account, so the answer's
        // timing does not tell whether the account exists (the hasher pays for the
        // missing or unusable hash with a decoy).
        let matches = self
            .hasher
            .verify(app_secret, account.as_ref().map(|a| a.secret_hash.as_str()))
            .await
            .map_err(LoginError::Unexpected)?;
        match account {
            Some(account) if matches && !account.disabled => Ok(account.id),
            _ => Err(LoginError::InvalidCredentials),
        }
    }
}

#[async_trait]
impl AccountStatus for AccountService {
    async fn is_active(&self, id: AccountId) -> Result<bool, RepositoryError> {
        if let Ok(cache) = self.status_cache.lock() {
            if let Some((active, at)) = cache.get(&id) {
                if at.elapsed() < self.status_ttl {
                    return Ok(*active);
                }
            }
        }
        let active = self
            .repository
            .find_account(id)
            .await?
            .is_some_and(|a| !a.disabled);
        if let Ok(mut cache) = self.status_cache.lock() {
            // Bounded: a flood of distinct ids cannot grow the cache without limit.
            if cache.len() >= 10_000 {
                cache.clear();
            }
            cache.insert(id, (active, Instant::now()));
        }
        Ok(active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the mock hasher makes of a secret: readable, so tests can see what was stored.
    fn fake_hash(secret: &str) -> String {
        format!("hashed:{secret}")
    }

    /// A hasher that expects exactly one verification (the timing rule) and matches
    /// [`fake_hash`]es only.
    fn hasher_verifying_once() -> MockSecretHasher {
        let mut hasher = MockSecretHasher::new();
        hasher
            .expect_verify()
            .times(1)
            .returning(|secret, hash| Ok(hash == Some(fake_hash(secret).as_str())));
        hasher
    }

    fn account(secret: &str, disabled: bool) -> Account {
        Account {
            id: AccountId(Uuid::from_u128(5)),
            name: AccountName::parse("Acme").unwrap(),
            secret_hash: fake_hash(secret),
            disabled,
            created_at: Utc::now(),
        }
    }

    fn service_with(repo: MockAccountRepository, hasher: MockSecretHasher) -> AccountService {
        AccountService::new(Arc::new(repo), Arc::new(hasher), Duration::from_secs(30))
    }

    fn service(repo: MockAccountRepository) -> AccountService {
        service_with(repo, hasher_verifying_once())
    }

    fn repo_with(found: Option<Account>) -> MockAccountRepository {
        let mut repo = MockAccountRepository::new();
        repo.expect_find_account()
            .returning(move |_| Ok(found.clone()));
        repo
    }

    #[test]
    fn app_secrets_are_long_random_and_prefixed() {
        let a = new_app_secret();
        assert!(a.starts_with("sk_"));
        assert_eq!(a.len(), 3 + 64);
        assert_ne!(a, new_app_secret());
    }

    #[tokio::test]
    async fn create_account_stores_only_the_hash_of_a_new_secret() {
        let mut hasher = MockSecretHasher::new();
        hasher
            .expect_hash()
            .times(1)
            .returning(|secret| Ok(fake_hash(secret)));
        let mut repo = MockAccountRepository::new();
        repo.expect_insert_account()
            .times(1)
            .withf(|a| a.secret_hash.starts_with("hashed:sk_") && !a.disabled)
            .returning(|_| Ok(()));
        let (account, secret) = service_with(repo, hasher)
            .create_account(AccountName::parse("Acme").unwrap())
            .await
            .unwrap();
        assert!(secret.starts_with(APP_SECRET_PREFIX));
        assert_eq!(account.secret_hash, fake_hash(&secret));
    }

    #[tokio::test]
    async fn create_account_stores_nothing_when_hashing_fails() {
        let mut hasher = MockSecretHasher::new();
        hasher
            .expect_hash()
            .returning(|_| Err(anyhow::anyhow!("out of memory")));
        let mut repo = MockAccountRepository::new();
        repo.expect_insert_account().never();
        let err = service_with(repo, hasher)
            .create_account(AccountName::parse("Acme").unwrap())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("out of memory"), "{err}");
    }

    #[tokio::test]
    async fn login_succeeds_with_the_right_secret() {
        let id = service(repo_with(Some(account("sk_right", false))))
            .login("00000000-0000-0000-0000-000000000005", "sk_right")
            .await
            .unwrap();
        assert_eq!(id, AccountId(Uuid::from_u128(5)));
    }

    #[tokio::test]
    async fn login_fails_alike_for_wrong_secret_unknown_disabled_and_malformed_ids() {
        let id = "00000000-0000-0000-0000-000000000005";
        // Each service's hasher expects exactly one verification: the unknown account and
        // the malformed id cost one too.
        let cases = [
            (
                service(repo_with(Some(account("sk_right", false)))),
                id,
                "sk_wrong",
            ),
            (service(repo_with(None)), id, "sk_right"),
            (
                service(repo_with(Some(account("sk_right", true)))),
                id,
                "sk_right",
            ),
            (
                service(MockAccountRepository::new()),
                "not-a-uuid",
                "sk_right",
            ),
        ];
        for (service, id, secret) in cases {
            let err = service.login(id, secret).await.unwrap_err();
            assert!(matches!(err, LoginError::InvalidCredentials), "{err:?}");
        }
    }

    #[tokio::test]
    async fn login_without_an_account_verifies_against_no_hash() {
        let mut hasher = MockSecretHasher::new();
        hasher
            .expect_verify()
            .times(1)
            .withf(|secret, hash| secret == "sk_right" && hash.is_none())
            // Even a hasher that said "yes" cannot let an unknown account in.
            .returning(|_, _| Ok(true));
        let err = service_with(repo_with(None), hasher)
            .login("00000000-0000-0000-0000-000000000005", "sk_right")
            .await
            .unwrap_err();
        assert!(matches!(err, LoginError::InvalidCredentials), "{err:?}");
    }

    #[tokio::test]
    async fn login_to_an_account_with_an_unusable_hash_fails_like_a_wrong_secret() {
        // An imported account has no usable hash: the hasher is handed it, and nothing
        // matches it.
        let mut hasher = MockSecretHasher::new();
        hasher
            .expect_verify()
            .times(1)
            .withf(|_, hash| *hash == Some("!"))
            .returning(|_, _| Ok(false));
        let imported = Account {
            secret_hash: "!".into(),
            ..account("sk_right", false)
        };
        let err = service_with(repo_with(Some(imported)), hasher)
            .login("00000000-0000-0000-0000-000000000005", "!")
            .await
            .unwrap_err();
        assert!(matches!(err, LoginError::InvalidCredentials), "{err:?}");
    }

    #[tokio::test]
    async fn login_reports_an_unavailable_store() {
        let mut repo = MockAccountRepository::new();
        repo.expect_find_account()
            .returning(|_| Err(RepositoryError::Unavailable(anyhow::anyhow!("down"))));
        let mut hasher = MockSecretHasher::new();
        hasher.expect_verify().never();
        let err = service_with(repo, hasher)
            .login("00000000-0000-0000-0000-000000000005", "x")
            .await
            .unwrap_err();
        assert!(matches!(err, LoginError::Unavailable(_)), "{err:?}");
    }

    #[tokio::test]
    async fn login_reports_a_failed_verification_as_unexpected() {
        let mut hasher = MockSecretHasher::new();
        hasher
            .expect_verify()
            .returning(|_, _| Err(anyhow::anyhow!("verification task panicked")));
        let err = service_with(repo_with(Some(account("sk_right", false))), hasher)
            .login("00000000-0000-0000-0000-000000000005", "sk_right")
            .await
            .unwrap_err();
        assert!(matches!(err, LoginError::Unexpected(_)), "{err:?}");
    }

    #[tokio::test]
    async fn is_active_is_false_for_unknown_and_disabled_accounts_and_cached() {
        let mut repo = MockAccountRepository::new();
        repo.expect_find_account()
            .times(1)
            .returning(|_| Ok(Some(account("s", true))));
        let service = service_with(repo, MockSecretHasher::new());
        assert!(!service
            .is_active(AccountId(Uuid::from_u128(5)))
            .await
            .unwrap());
        // Answered from the cache: the mock allows one lookup only.
        assert!(!service
            .is_active(AccountId(Uuid::from_u128(5)))
            .await
            .unwrap());
        let service = AccountService::new(
            Arc::new(repo_with(None)),
            Arc::new(MockSecretHasher::new()),
            Duration::ZERO,
        );
        assert!(!service
            .is_active(AccountId(Uuid::from_u128(6)))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn disabling_an_account_takes_effect_at_once_in_this_instance() {
        let mut repo = MockAccountRepository::new();
        let mut seq = mockall::Sequence::new();
        repo.expect_find_account()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(Some(account("s", false))));
        repo.expect_set_account_disabled()
            .returning(|_, _| Ok(true));
        repo.expect_find_account()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(Some(account("s", true))));
        let service = service_with(repo, MockSecretHasher::new());
        let id = AccountId(Uuid::from_u128(5));
        assert!(service.is_active(id).await.unwrap());
        assert!(service.set_disabled(id, true).await.unwrap());
        assert!(!service.is_active(id).await.unwrap());
    }
}
