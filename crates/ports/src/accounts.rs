//! Accounts and authentication: creating API clients with an app secret (kept only as an
//! argon2 hash), logging in without revealing which accounts exist, and checking that a
//! token's account is still active.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
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
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
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

/// Account use cases over an [`AccountRepository`].
pub struct AccountService {
    repository: Arc<dyn AccountRepository>,
    /// Verified against when the account does not exist, so that case costs the same.
    dummy_hash: String,
    status_cache: Mutex<HashMap<AccountId, (bool, Instant)>>,
    status_ttl: Duration,
    verifications: tokio::sync::Semaphore,
}

/// Prefix of every app secret, so a leaked one is recognisable in a scan.
pub const APP_SECRET_PREFIX: &str = "sk_";

impl AccountService {
    /// A service whose "is this account active" answers may be up to `status_ttl` old.
    pub fn new(
        repository: Arc<dyn AccountRepository>,
        status_ttl: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            repository,
            dummy_hash: hash_secret(&new_app_secret())?,
            status_cache: Mutex::new(HashMap::new()),
            status_ttl,
            verifications: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
        })
    }

    /// Creates an account; returns it with its app secret, which is not kept anywhere.
    pub async fn create_account(&self, name: AccountName) -> anyhow::Result<(Account, String)> {
        let secret = new_app_secret();
        let to_hash = secret.clone();
        let secret_hash = tokio::task::spawn_blocking(move || hash_secret(&to_hash)).await??;
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

/// A new random app secret: `sk_` and 64 hex digits (256 bits).
pub fn new_app_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{APP_SECRET_PREFIX}{}", hex::encode(bytes))
}

/// The argon2id PHC string of a secret, with a fresh salt.
pub fn hash_secret(secret: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("could not hash the app secret: {e}"))
}

fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[async_trait]
impl Authenticate for AccountService {
    #[tracing::instrument(name = "login", skip_all)]
    async fn login(&self, account_id: &str, app_secret: &str) -> Result<AccountId, LoginError> {
        let account = match Uuid::parse_str(account_id.trim()) {
            Ok(id) => self.repository.find_account(AccountId(id)).await?,
            Err(_) => None,
        };
        // Always run one argon2 verification, against the dummy hash when there is no
        // account, so the answer's timing does not tell whether the account exists.
        // An account without a usable hash (imported, never given a secret) costs the
        // same too.
        let (hash, usable) = match &account {
            Some(a) if PasswordHash::new(&a.secret_hash).is_ok() => (a.secret_hash.clone(), true),
            _ => (self.dummy_hash.clone(), false),
        };
        let secret = app_secret.to_owned();
        // Each verification takes ~19 MiB and a blocking thread: bound how many run at
        // once, so a flood of logins cannot exhaust memory or starve database calls.
        let _permit = self
            .verifications
            .acquire()
            .await
            .map_err(|e| LoginError::Unexpected(e.into()))?;
        let matches = tokio::task::spawn_blocking(move || verify_secret(&secret, &hash))
            .await
            .map_err(|e| LoginError::Unexpected(e.into()))?
            && usable;
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

    fn account(secret: &str, disabled: bool) -> Account {
        Account {
            id: AccountId(Uuid::from_u128(5)),
            name: AccountName::parse("Acme").unwrap(),
            secret_hash: hash_secret(secret).unwrap(),
            disabled,
            created_at: Utc::now(),
        }
    }

    fn service(repo: MockAccountRepository) -> AccountService {
        AccountService::new(Arc::new(repo), Duration::from_secs(30)).unwrap()
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

    #[test]
    fn a_hash_verifies_its_secret_only() {
        let hash = hash_secret("sk_right").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_secret("sk_right", &hash));
        assert!(!verify_secret("sk_wrong", &hash));
        assert!(!verify_secret("sk_right", "not a hash"));
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
            // An imported account has no usable hash: nothing matches it.
            (
                service(repo_with(Some(Account {
                    secret_hash: "!".into(),
                    ..account("sk_right", false)
                }))),
                id,
                "!",
            ),
        ];
        for (service, id, secret) in cases {
            let err = service.login(id, secret).await.unwrap_err();
            assert!(matches!(err, LoginError::InvalidCredentials), "{err:?}");
        }
    }

    #[tokio::test]
    async fn login_reports_an_unavailable_store() {
        let mut repo = MockAccountRepository::new();
        repo.expect_find_account()
            .returning(|_| Err(RepositoryError::Unavailable(anyhow::anyhow!("down"))));
        let err = service(repo)
            .login("00000000-0000-0000-0000-000000000005", "x")
            .await
            .unwrap_err();
        assert!(matches!(err, LoginError::Unavailable(_)), "{err:?}");
    }

    #[tokio::test]
    async fn is_active_is_false_for_unknown_and_disabled_accounts_and_cached() {
        let mut repo = MockAccountRepository::new();
        repo.expect_find_account()
            .times(1)
            .returning(|_| Ok(Some(account("s", true))));
        let service = service(repo);
        assert!(!service
            .is_active(AccountId(Uuid::from_u128(5)))
            .await
            .unwrap());
        // Answered from the cache: the mock allows one lookup only.
        assert!(!service
            .is_active(AccountId(Uuid::from_u128(5)))
            .await
            .unwrap());
        let service = AccountService::new(Arc::new(repo_with(None)), Duration::ZERO).unwrap();
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
        let service = service(repo);
        let id = AccountId(Uuid::from_u128(5));
        assert!(service.is_active(id).await.unwrap());
        assert!(service.set_disabled(id, true).await.unwrap());
        assert!(!service.is_active(id).await.unwrap());
    }
}
