//! KYC provider settings: which provider issues links, and how Bridge is reached.

use std::time::Duration;

use adapters::bridge::BridgeSettings;
use clap::{Args, ValueEnum};

use super::Redacted;

/// Which KYC provider issues links, and how to call it.
#[derive(Debug, Clone, Args)]
pub struct KycSettings {
    /// KYC provider. Default: bridge when BRIDGE_API_KEY is set, sandbox otherwise.
    #[arg(long, env = "KYC_PROVIDER", value_enum, global = true)]
    pub kyc_provider: Option<KycProviderKind>,

    /// Bridge API base URL.
    #[arg(
        long,
        env = "BRIDGE_API_URL",
        default_value = "https://api.bridge.xyz",
        global = true
    )]
    pub bridge_api_url: String,

    /// Bridge API key (sent as the Api-Key header).
    #[arg(long, env = "BRIDGE_API_KEY", global = true, hide_env_values = true)]
    pub bridge_api_key: Option<Redacted>,

    /// KYC provider connect timeout, in milliseconds.
    #[arg(
        long,
        env = "KYC_CONNECT_TIMEOUT_MS",
        default_value_t = 3_000,
        global = true
    )]
    pub kyc_connect_timeout_ms: u64,

    /// KYC provider timeout for one whole request, in milliseconds.
    #[arg(long, env = "KYC_TIMEOUT_MS", default_value_t = 10_000, global = true)]
    pub kyc_timeout_ms: u64,

    /// KYC provider timeout for one KYC submission (KYC by API), in milliseconds: its body
    /// can be tens of megabytes. Separate from KYC_TIMEOUT_MS.
    #[arg(
        long,
        env = "KYC_SUBMIT_TIMEOUT_MS",
        default_value_t = 60_000,
        global = true
    )]
    pub kyc_submit_timeout_ms: u64,

    /// How long the sandbox provider keeps a KYC submission under review before it
    /// approves it, in milliseconds.
    #[arg(
        long,
        env = "KYC_SANDBOX_APPROVAL_DELAY_MS",
        default_value_t = 5_000,
        global = true
    )]
    pub kyc_sandbox_approval_delay_ms: u64,

    /// Attempts per KYC request on timeouts, 429 and 5xx (same idempotency key each time).
    #[arg(long, env = "KYC_MAX_ATTEMPTS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=5), global = true)]
    pub kyc_max_attempts: u32,
}

/// Which KYC provider issues links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KycProviderKind {
    /// Bridge's KYC Links API (needs BRIDGE_API_KEY).
    Bridge,
    /// An in-process provider whose links point at this service (offline development).
    Sandbox,
}

impl KycProviderKind {
    /// The setting's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Bridge => "bridge",
            Self::Sandbox => "sandbox",
        }
    }
}

impl KycSettings {
    /// The KYC provider to use.
    pub fn provider(&self) -> anyhow::Result<KycProviderKind> {
        let key_set = self
            .bridge_api_key
            .as_deref()
            .is_some_and(|k| !k.trim().is_empty());
        match self.kyc_provider {
            Some(KycProviderKind::Bridge) if !key_set => {
                anyhow::bail!("KYC_PROVIDER=bridge needs BRIDGE_API_KEY to be set")
            }
            Some(kind) => Ok(kind),
            None if key_set => Ok(KycProviderKind::Bridge),
            None => Ok(KycProviderKind::Sandbox),
        }
    }

    /// How to call Bridge.
    pub fn bridge_settings(&self) -> BridgeSettings {
        BridgeSettings {
            base_url: self.bridge_api_url.clone(),
            api_key: self
                .bridge_api_key
                .as_deref()
                .unwrap_or_default()
                .to_owned(),
            connect_timeout: Duration::from_millis(self.kyc_connect_timeout_ms),
            request_timeout: Duration::from_millis(self.kyc_timeout_ms),
            submit_timeout: Duration::from_millis(self.kyc_submit_timeout_ms),
            max_attempts: self.kyc_max_attempts,
            retry_backoff: Duration::from_millis(200),
        }
    }

    /// How long a KYC submission may be pending before a new one may replace it: longer
    /// than the provider call can take, every attempt included, plus a minute.
    pub fn submission_policy(&self) -> ports::SubmissionPolicy {
        let bridge = self.bridge_settings();
        ports::SubmissionPolicy {
            abandon_after: adapters::bridge::longest_submission(
                bridge.submit_timeout,
                bridge.max_attempts,
                bridge.retry_backoff,
            ) + Duration::from_secs(60),
        }
    }

    /// How long the sandbox keeps a submission under review.
    pub fn sandbox_approval_delay(&self) -> Duration {
        Duration::from_millis(self.kyc_sandbox_approval_delay_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;

    #[test]
    fn kyc_provider_defaults_to_sandbox_without_a_key_and_bridge_with_one() {
        assert_eq!(
            config(&[]).kyc.provider().unwrap(),
            KycProviderKind::Sandbox
        );
        let with_key = config(&["--bridge-api-key", "sk"]);
        assert_eq!(with_key.kyc.provider().unwrap(), KycProviderKind::Bridge);
    }

    #[test]
    fn a_submission_has_its_own_timeout_and_blocks_no_longer_than_it_can_take() {
        let c = config(&["--kyc-submit-timeout-ms=1000", "--kyc-timeout-ms=200"]);
        let bridge = c.kyc.bridge_settings();
        assert_eq!(bridge.submit_timeout, Duration::from_secs(1));
        assert_eq!(bridge.request_timeout, Duration::from_millis(200));
        assert_eq!(
            c.kyc.submission_policy().abandon_after,
            Duration::from_millis(2 * 1000 + 200 + 60_000)
        );
        assert_eq!(
            config(&[]).kyc.bridge_settings().submit_timeout,
            Duration::from_secs(60)
        );
    }

    #[test]
    fn bridge_without_a_key_names_the_missing_setting() {
        let err = config(&["--kyc-provider", "bridge"])
            .kyc
            .provider()
            .unwrap_err();
        assert!(err.to_string().contains("BRIDGE_API_KEY"), "{err}");
    }
}
