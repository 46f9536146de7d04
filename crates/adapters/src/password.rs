//! The secret-hasher port with argon2id: PHC strings, verification off the async runtime,
//! and a bound on how many verifications run at once.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use async_trait::async_trait;
use ports::SecretHasher;
use tokio::sync::Semaphore;

/// Hashes and verifies app secrets with argon2id (default parameters: ~19 MiB and a few
/// tens of milliseconds per call).
pub struct Argon2Hasher {
    /// Verified against when there is no usable hash, so that costs a real verification.
    decoy: String,
    /// Verifications allowed to run at once; see [`verification_limit`].
    verifications: Semaphore,
}

/// How many argon2 verifications may run at once: one per available core. Each holds
/// ~19 MiB and a blocking thread, so without a bound a flood of logins could exhaust
/// memory or starve database calls of blocking threads. This is the one place that bound
/// is decided.
pub fn verification_limit() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

impl Argon2Hasher {
    /// A hasher allowing [`verification_limit`] verifications at once. Hashes a random
    /// decoy (blocking, a few tens of milliseconds): call it at start-up.
    pub fn new() -> anyhow::Result<Self> {
        Self::with_verification_limit(verification_limit())
    }

    /// A hasher allowing `limit` verifications at once (at least one).
    pub fn with_verification_limit(limit: usize) -> anyhow::Result<Self> {
        Ok(Self {
            decoy: hash_blocking(&ports::accounts::new_app_secret())?,
            verifications: Semaphore::new(limit.max(1)),
        })
    }
}

/// The argon2id PHC string of a secret, with a fresh salt.
fn hash_blocking(secret: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("could not hash the app secret: {e}"))
}

/// Checks `secret` against `hash`, or — when `hash` is missing or not a PHC string argon2
/// can use — against `decoy`, answering false whatever that gives.
fn verify_blocking(secret: &str, hash: Option<&str>, decoy: &str) -> bool {
    let usable = hash.and_then(|h| PasswordHash::new(h).ok());
    let matches = |parsed: &PasswordHash<'_>| {
        Argon2::default()
            .verify_password(secret.as_bytes(), parsed)
            .is_ok()
    };
    match usable {
        Some(parsed) => matches(&parsed),
        None => {
            if let Ok(parsed) = PasswordHash::new(decoy) {
                let _ = matches(&parsed);
            }
            false
        }
    }
}

#[async_trait]
impl SecretHasher for Argon2Hasher {
    async fn hash(&self, secret: &str) -> anyhow::Result<String> {
        let secret = secret.to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(&secret)).await?
    }

    async fn verify<'a>(&self, secret: &str, hash: Option<&'a str>) -> anyhow::Result<bool> {
        let secret = secret.to_owned();
        let hash = hash.map(str::to_owned);
        let decoy = self.decoy.clone();
        let _permit = self.verifications.acquire().await?;
        let matches =
            tokio::task::spawn_blocking(move || verify_blocking(&secret, hash.as_deref(), &decoy))
                .await?;
        Ok(matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> Argon2Hasher {
        Argon2Hasher::with_verification_limit(2).unwrap()
    }

    #[tokio::test]
    async fn a_hash_is_an_argon2id_phc_string_that_verifies_its_secret_only() {
        let hasher = hasher();
        let hash = hasher.hash("sk_right").await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("sk_right"));
        assert!(hasher.verify("sk_right", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("sk_wrong", Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn the_same_secret_hashes_differently_each_time() {
        let hasher = hasher();
        let first = hasher.hash("sk_same").await.unwrap();
        let second = hasher.hash("sk_same").await.unwrap();
        assert_ne!(first, second);
        assert!(hasher.verify("sk_same", Some(&second)).await.unwrap());
    }

    #[tokio::test]
    async fn a_garbage_or_missing_hash_never_matches() {
        let hasher = hasher();
        assert!(!hasher.verify("sk_right", Some("not a hash")).await.unwrap());
        assert!(!hasher.verify("!", Some("!")).await.unwrap());
        assert!(!hasher.verify("", Some("")).await.unwrap());
        assert!(!hasher.verify("sk_right", None).await.unwrap());
    }

    #[test]
    fn a_missing_hash_costs_a_real_verification_against_the_decoy() {
        // The decoy must be a hash argon2 can use, or "no account" would answer at once.
        let hasher = hasher();
        assert!(PasswordHash::new(&hasher.decoy).is_ok());
        assert!(hasher.decoy.starts_with("$argon2id$"));
    }

    #[tokio::test]
    async fn more_logins_than_the_limit_all_get_an_answer() {
        let hasher = std::sync::Arc::new(Argon2Hasher::with_verification_limit(1).unwrap());
        let hash = hasher.hash("sk_right").await.unwrap();
        let checks: Vec<_> = (0..3)
            .map(|_| {
                let (hasher, hash) = (hasher.clone(), hash.clone());
                tokio::spawn(async move { hasher.verify("sk_right", Some(&hash)).await })
            })
            .collect();
        for check in checks {
            assert!(check.await.unwrap().unwrap());
        }
        assert!(verification_limit() >= 1);
    }
}
