//! Idempotency settings: how long keys are remembered and held, whether creating requests
//! must carry one, and how often expired keys are purged.

use std::time::Duration;

use clap::{ArgAction, Args};

use super::{DatabaseSettings, KycSettings};

/// How `Idempotency-Key` is honoured.
#[derive(Debug, Clone, Args)]
pub struct IdempotencySettings {
    /// How long an idempotency key's answer is remembered and replayed, in seconds.
    #[arg(long, env = "IDEMPOTENCY_TTL_SECONDS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=31_536_000), global = true)]
    pub idempotency_ttl_seconds: u64,

    /// How long a request holds its idempotency key, in seconds; a retry during that time
    /// gets 409, after it (the request crashed) the retry takes the key over. Must exceed
    /// the longest keyed request: a registration (KYC_TIMEOUT_MS × KYC_MAX_ATTEMPTS plus
    /// retry pauses plus three DB_POOL_TIMEOUT_MS waits) or a KYC submission
    /// (KYC_SUBMIT_TIMEOUT_MS × KYC_MAX_ATTEMPTS plus retry pauses plus ten
    /// DB_POOL_TIMEOUT_MS waits), plus 5 seconds.
    #[arg(long, env = "IDEMPOTENCY_LEASE_SECONDS", default_value_t = 360, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub idempotency_lease_seconds: u64,

    /// Whether creating requests (`POST /customer`, `POST /customer/{id}/kyc`, `POST
    /// /webhook-endpoints`) must carry an Idempotency-Key (400 idempotency_key_required
    /// without one).
    #[arg(long, env = "IDEMPOTENCY_KEY_REQUIRED", default_value_t = false, action = ArgAction::Set, global = true)]
    pub idempotency_key_required: bool,

    /// How often expired idempotency keys are deleted, in seconds.
    #[arg(long, env = "IDEMPOTENCY_PURGE_INTERVAL_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub idempotency_purge_interval_seconds: u64,
}

impl IdempotencySettings {
    /// The key policy, with the lease checked against the longest request `kyc` and
    /// `database` allow.
    pub fn policy(
        &self,
        kyc: &KycSettings,
        database: &DatabaseSettings,
    ) -> anyhow::Result<ports::IdempotencyPolicy> {
        let lease = Duration::from_secs(self.idempotency_lease_seconds);
        let longest = longest_request(kyc, database);
        anyhow::ensure!(
            lease > longest,
            "IDEMPOTENCY_LEASE_SECONDS={} must exceed the longest a keyed request can take ({} s here: KYC_TIMEOUT_MS × KYC_MAX_ATTEMPTS for a registration, or KYC_SUBMIT_TIMEOUT_MS × KYC_MAX_ATTEMPTS for a KYC submission, with the pauses between attempts, the DB_POOL_TIMEOUT_MS waits of its database calls and 5 s), or a retry could take the key over from a request still running",
            self.idempotency_lease_seconds,
            longest.as_secs_f64().ceil()
        );
        Ok(ports::IdempotencyPolicy {
            ttl: Duration::from_secs(self.idempotency_ttl_seconds),
            lease,
            key_required: self.idempotency_key_required,
        })
    }

    /// How often expired keys are purged.
    pub fn purge_interval(&self) -> Duration {
        Duration::from_secs(self.idempotency_purge_interval_seconds)
    }
}

/// The longest a keyed request can take: a registration or a KYC submission, whichever is
/// longer.
fn longest_request(kyc: &KycSettings, database: &DatabaseSettings) -> Duration {
    let bridge = kyc.bridge_settings();
    let pool_wait = database.pool_settings().connection_timeout;
    let margin = Duration::from_secs(5);
    // Every provider attempt timing out, the pauses between them, a pool wait for each of
    // the three database calls.
    let registration = provider_calls(bridge.request_timeout, &bridge) + pool_wait * 3 + margin;
    // The same with the submission's own timeout, and ten database calls: the look-up of
    // an earlier attempt (two), the customer, its acceptance, the claim, and three tries
    // at recording the outcome with two re-reads between them.
    let submission = provider_calls(bridge.submit_timeout, &bridge) + pool_wait * 10 + margin;
    registration.max(submission)
}

/// Every attempt of one provider call timing out after `timeout`, and the pauses between.
fn provider_calls(timeout: Duration, bridge: &adapters::bridge::BridgeSettings) -> Duration {
    let attempts = bridge.max_attempts.max(1);
    let pauses: Duration = (1..attempts)
        .map(|retry| bridge.retry_backoff * 2u32.saturating_pow(retry - 1))
        .sum();
    timeout * attempts + pauses
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::tests::config;

    #[test]
    fn the_defaults_keep_answers_a_day_and_hold_keys_six_minutes() {
        let c = config(&[]);
        let policy = c.idempotency.policy(&c.kyc, &c.database).unwrap();
        assert_eq!(policy.ttl, Duration::from_secs(86_400));
        assert_eq!(policy.lease, Duration::from_secs(360));
        assert!(!policy.key_required);
        assert_eq!(c.idempotency.purge_interval(), Duration::from_secs(60));
    }

    #[test]
    fn the_default_lease_outlasts_the_most_provider_attempts_allowed() {
        // A submission of 5 × 60 s attempts, 3 s of pauses, 10 × 2 s pool waits and 5 s:
        // 328 s.
        let c = config(&["--kyc-max-attempts", "5"]);
        assert!(c.idempotency.policy(&c.kyc, &c.database).is_ok());
    }

    #[test]
    fn a_lease_shorter_than_the_longest_request_is_refused_naming_it() {
        // The submission is the longer: 2 × 60 s provider attempts, 0.2 s pause, 10 × 2 s
        // pool waits, 5 s margin: 145.2 s.
        let c = config(&["--idempotency-lease-seconds", "145"]);
        let err = c.idempotency.policy(&c.kyc, &c.database).unwrap_err();
        assert!(
            err.to_string().contains("IDEMPOTENCY_LEASE_SECONDS=145"),
            "{err}"
        );
        let c = config(&["--idempotency-lease-seconds", "146"]);
        assert!(c.idempotency.policy(&c.kyc, &c.database).is_ok());
    }

    #[test]
    fn a_registration_longer_than_any_submission_sets_the_bound() {
        // 2 × 80 s provider attempts, 0.2 s pause, 3 × 2 s pool waits, 5 s margin: 171.2 s;
        // the submission, with a 1 s timeout, takes 27.2 s.
        let args = [
            "--kyc-timeout-ms",
            "80000",
            "--kyc-submit-timeout-ms",
            "1000",
        ];
        let c = config(&[&args[..], &["--idempotency-lease-seconds", "171"]].concat());
        assert!(c.idempotency.policy(&c.kyc, &c.database).is_err());
        let c = config(&[&args[..], &["--idempotency-lease-seconds", "172"]].concat());
        assert!(c.idempotency.policy(&c.kyc, &c.database).is_ok());
    }

    #[test]
    fn keys_can_be_required() {
        let c = config(&["--idempotency-key-required", "true"]);
        assert!(
            c.idempotency
                .policy(&c.kyc, &c.database)
                .unwrap()
                .key_required
        );
    }
}
