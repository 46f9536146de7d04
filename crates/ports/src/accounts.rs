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
mod tests;
