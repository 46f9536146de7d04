//! The secret-hasher port with argon2id: PHC strings, hashing and verification on a few
//! dedicated threads that each reuse one working buffer (memory and CPU stay bounded
//! however many logins arrive at once), and a decoy verification when there is no usable
//! hash, so that the answer's timing does not tell.

mod workers;

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use ports::SecretHasher;

use workers::Workers;

/// Hashes and verifies app secrets with argon2id (default parameters: ~19 MiB and a few
/// tens of milliseconds per call).
pub struct Argon2Hasher {
    /// Verified against when there is no usable hash, so that costs a real verification.
    decoy: String,
    /// The threads that run argon2; see [`verification_limit`].
    workers: Workers,
}

/// How many argon2 computations may run at once: one per available core, each on its own
/// thread with its own ~19 MiB buffer. Without a bound, a flood of logins could exhaust
/// memory or starve database calls of CPU. This is the one place that bound is decided.
pub fn verification_limit() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// The most memory a stored hash may ask for, in KiB: four times the default. A hash
/// asking for more (an edited row) is treated as unusable rather than allowed to make a
/// worker allocate it.
const MAX_M_COST: u32 = 4 * Params::DEFAULT_M_COST;

impl Argon2Hasher {
    /// A hasher with [`verification_limit`] worker threads. Hashes a random decoy
    /// (blocking, a few tens of milliseconds): call it at start-up.
    pub fn new() -> anyhow::Result<Self> {
        Self::with_verification_limit(verification_limit())
    }

    /// A hasher with `limit` worker threads (at least one).
    pub fn with_verification_limit(limit: usize) -> anyhow::Result<Self> {
        let workers = Workers::start(limit)?;
        let secret = ports::accounts::new_app_secret();
        let decoy = workers.run_blocking(move |blocks| hash_with(&secret, blocks))??;
        Ok(Self { decoy, workers })
    }
}

/// Makes `blocks` at least as long as `params` needs; returns the part it needs.
fn memory_for<'b>(blocks: &'b mut Vec<Block>, params: &Params) -> &'b mut [Block] {
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    &mut blocks[..needed]
}

/// The argon2id PHC string of a secret, with a fresh salt, computed in `blocks`.
fn hash_with(secret: &str, blocks: &mut Vec<Block>) -> anyhow::Result<String> {
    let failed = |e: argon2::Error| anyhow::anyhow!("could not hash the app secret: {e}");
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; Salt::RECOMMENDED_LENGTH];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("could not encode a salt: {e}"))?;
    let params = Params::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            secret.as_bytes(),
            salt_bytes,
            &mut out,
            memory_for(blocks, &params),
        )
        .map_err(failed)?;
    let output = Output::new(&out).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(|e| anyhow::anyhow!("{e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// What verifying against a PHC string needs, when argon2 can use it here.
struct Usable<'h> {
    argon2: Argon2<'h>,
    params: Params,
    salt: Salt<'h>,
    expected: Output,
}

fn usable(phc: &str) -> Option<Usable<'_>> {
    let hash = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&hash).ok()?;
    if params.m_cost() > MAX_M_COST {
        return None;
    }
    Some(Usable {
        argon2: Argon2::new(algorithm, version, params.clone()),
        params,
        salt: hash.salt?,
        expected: hash.hash?,
    })
}

/// Whether `secret` hashes to `hash`'s output, computed in `blocks`.
fn matches(secret: &str, hash: &Usable<'_>, blocks: &mut Vec<Block>) -> bool {
    let mut salt = [0u8; Salt::MAX_LENGTH];
    let Ok(salt) = hash.salt.decode_b64(&mut salt) else {
        return false;
    };
    let mut out = vec![0u8; hash.expected.len()];
    hash.argon2
        .hash_password_into_with_memory(
            secret.as_bytes(),
            salt,
            &mut out,
            memory_for(blocks, &hash.params),
        )
        .is_ok()
        // `Output`'s equality is constant-time.
        && Output::new(&out).is_ok_and(|out| out == hash.expected)
}

/// Checks `secret` against `hash`, or — when `hash` is missing or not a PHC string argon2
/// can use — against `decoy`, answering false whatever that gives.
fn verify_with(secret: &str, hash: Option<&str>, decoy: &str, blocks: &mut Vec<Block>) -> bool {
    match hash.and_then(usable) {
        Some(hash) => matches(secret, &hash, blocks),
        None => {
            if let Some(decoy) = usable(decoy) {
                let _ = matches(secret, &decoy, blocks);
            }
            false
        }
    }
}

#[async_trait]
impl SecretHasher for Argon2Hasher {
    async fn hash(&self, secret: &str) -> anyhow::Result<String> {
        let secret = secret.to_owned();
        self.workers
            .run(move |blocks| hash_with(&secret, blocks))
            .await?
    }

    async fn verify<'a>(&self, secret: &str, hash: Option<&'a str>) -> anyhow::Result<bool> {
        let secret = secret.to_owned();
        let hash = hash.map(str::to_owned);
        let decoy = self.decoy.clone();
        self.workers
            .run(move |blocks| verify_with(&secret, hash.as_deref(), &decoy, blocks))
            .await
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
    async fn hashes_interoperate_with_the_stock_argon2_implementation() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = hasher();
        // Hashes stored before the workers existed were made by `Argon2::default()`.
        let salt = SaltString::generate(&mut OsRng);
        let stock = Argon2::default()
            .hash_password(b"sk_stock", &salt)
            .unwrap()
            .to_string();
        assert!(hasher.verify("sk_stock", Some(&stock)).await.unwrap());
        assert!(!hasher.verify("sk_other", Some(&stock)).await.unwrap());
        // And what the workers make, the stock implementation verifies.
        let ours = hasher.hash("sk_ours").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"sk_ours", &parsed)
            .is_ok());
        assert_eq!(parsed.params.get_decimal("m"), Some(Params::DEFAULT_M_COST));
    }

    #[tokio::test]
    async fn a_hash_asking_for_more_memory_than_allowed_is_never_computed() {
        use argon2::password_hash::PasswordHasher as _;
        let greedy = Params::new(MAX_M_COST + 8, 1, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, greedy)
            .hash_password(b"sk_greedy", &salt)
            .unwrap()
            .to_string();
        assert!(usable(&phc).is_none());
        assert!(!hasher().verify("sk_greedy", Some(&phc)).await.unwrap());
    }

    #[tokio::test]
    async fn concurrent_logins_share_the_workers_and_each_gets_its_own_answer() {
        let hasher = std::sync::Arc::new(Argon2Hasher::with_verification_limit(2).unwrap());
        let right = hasher.hash("sk_right").await.unwrap();
        let checks: Vec<_> = (0..12)
            .map(|i| {
                let (hasher, right) = (hasher.clone(), right.clone());
                tokio::spawn(async move {
                    let secret = if i % 3 == 0 { "sk_right" } else { "sk_wrong" };
                    let hash = if i % 4 == 1 {
                        None
                    } else {
                        Some(right.as_str())
                    };
                    let expected = secret == "sk_right" && hash.is_some();
                    (hasher.verify(secret, hash).await.unwrap(), expected)
                })
            })
            .collect();
        for check in checks {
            let (got, expected) = check.await.unwrap();
            assert_eq!(got, expected);
        }
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
