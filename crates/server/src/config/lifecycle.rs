//! KYC lifecycle settings: Bridge's webhook keys, polling, and how long event receipts are
//! kept.

use std::path::PathBuf;
use std::time::Duration;

use adapters::bridge::BridgeWebhookVerifier;
use anyhow::Context as _;
use clap::Args;
use ports::SyncSettings;

/// How the service follows each customer's KYC after creating it.
#[derive(Debug, Clone, Args)]
pub struct LifecycleSettings {
    /// Bridge's webhook public key(s), PEM (`-----BEGIN PUBLIC KEY-----`, as Bridge shows
    /// it). Several blocks may follow each other: an event verifying under any is accepted
    /// (key rotation). Unset (with BRIDGE_WEBHOOK_PUBLIC_KEY_FILE unset too): POST
    /// /webhooks/bridge answers 404.
    #[arg(
        long,
        env = "BRIDGE_WEBHOOK_PUBLIC_KEY",
        global = true,
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub bridge_webhook_public_key: Option<String>,

    /// A file holding BRIDGE_WEBHOOK_PUBLIC_KEY's PEM text instead.
    #[arg(long, env = "BRIDGE_WEBHOOK_PUBLIC_KEY_FILE", global = true)]
    pub bridge_webhook_public_key_file: Option<PathBuf>,

    /// Re-read from the provider every customer whose KYC has not reached an end
    /// (approved, rejected, offboarded) and was not read for this many seconds; 0 turns
    /// polling off.
    #[arg(
        long,
        env = "KYC_SYNC_INTERVAL_SECONDS",
        default_value_t = 300,
        global = true
    )]
    pub kyc_sync_interval_seconds: u64,

    /// Customers polled per round by each instance, oldest sync first.
    #[arg(long, env = "KYC_SYNC_BATCH", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub kyc_sync_batch: u32,

    /// Days a provider event's id is kept to recognise a redelivery (the KYC history is
    /// kept regardless).
    #[arg(long, env = "PROVIDER_EVENT_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650), global = true)]
    pub provider_event_retention_days: u32,
}

/// Shortest lease of a polled customer: longer than any provider call, with retries.
const MIN_SYNC_LEASE: Duration = Duration::from_secs(60);
/// Longest pause between two poll rounds of one instance.
const MAX_SYNC_PAUSE: Duration = Duration::from_secs(30);
/// Provider reads in flight at once per instance.
const SYNC_CONCURRENCY: usize = 4;

impl LifecycleSettings {
    /// The webhook verifier, when a key is configured. A key that cannot be read or parsed
    /// is an error naming the setting.
    pub fn webhook_verifier(&self) -> anyhow::Result<Option<BridgeWebhookVerifier>> {
        let inline = self
            .bridge_webhook_public_key
            .as_deref()
            .filter(|k| !k.trim().is_empty());
        let (pem, setting) = match (inline, &self.bridge_webhook_public_key_file) {
            (Some(_), Some(_)) => anyhow::bail!(
                "set BRIDGE_WEBHOOK_PUBLIC_KEY or BRIDGE_WEBHOOK_PUBLIC_KEY_FILE, not both"
            ),
            (Some(pem), None) => (pem.to_owned(), "BRIDGE_WEBHOOK_PUBLIC_KEY"),
            (None, Some(path)) => (
                std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "could not read BRIDGE_WEBHOOK_PUBLIC_KEY_FILE={}",
                        path.display()
                    )
                })?,
                "BRIDGE_WEBHOOK_PUBLIC_KEY_FILE",
            ),
            (None, None) => return Ok(None),
        };
        BridgeWebhookVerifier::from_pem(&pem)
            .map(Some)
            .with_context(|| format!("{setting} is not a usable RSA public key"))
    }

    /// How to poll, or `None` when polling is off.
    pub fn sync_settings(&self) -> Option<SyncSettings> {
        if self.kyc_sync_interval_seconds == 0 {
            return None;
        }
        let interval = Duration::from_secs(self.kyc_sync_interval_seconds);
        Some(SyncSettings {
            interval,
            batch: self.kyc_sync_batch,
            lease: interval.max(MIN_SYNC_LEASE),
            concurrency: SYNC_CONCURRENCY,
            pause: interval.min(MAX_SYNC_PAUSE),
        })
    }

    /// How long event receipts are kept.
    pub fn receipt_retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.provider_event_retention_days) * 86_400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;

    const PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtqsEE4eI7EmzhcquGJXt\n\
LX9PMK0UH6Kl1WIR21sv8HtueG8BuvvpP3MiN7ltzmIhS8KaynCjN4l+620PnXeu\n\
xWG+CSnEdkinL9hCqbEid5vv9zl0j9LWiJx3FkKHqADU7cgm46aa8dKUdIQYF2X+\n\
O7WmyLkC4wUM/mWhBPMsIQBznashRMZxx7XJjsVp27ACUE4eNIjEXbVYN6U8jSbU\n\
hG++CfL8xXu+GHDqKmFE6Po6HnuURvLFVnCtE3mXXBcVFlPy+octfx8nOMLT3X8O\n\
9UehIigJ34o2yMm/Fq3HUJzg2BsiAiGgtr0vmeoV9Q7upSNj9TuOumAzZFi4pYA+\n\
qwIDAQAB\n\
-----END PUBLIC KEY-----\n";

    #[test]
    fn without_a_key_webhooks_are_off_and_blank_counts_as_unset() {
        assert!(config(&[]).lifecycle.webhook_verifier().unwrap().is_none());
        assert!(config(&["--bridge-webhook-public-key", "  "])
            .lifecycle
            .webhook_verifier()
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_key_inline_or_in_a_file_turns_webhooks_on() {
        let inline = config(&["--bridge-webhook-public-key", PEM])
            .lifecycle
            .webhook_verifier()
            .unwrap()
            .unwrap();
        assert_eq!(inline.key_count(), 1);
        let dir = std::env::temp_dir().join(format!("bridge-key-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bridge.pem");
        std::fs::write(&file, format!("{PEM}{PEM}")).unwrap();
        let from_file = config(&["--bridge-webhook-public-key-file", file.to_str().unwrap()])
            .lifecycle
            .webhook_verifier()
            .unwrap()
            .unwrap();
        assert_eq!(from_file.key_count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_given_as_a_flag_may_start_with_its_dashes() {
        let parsed = config(&["--bridge-webhook-public-key", PEM, "--kyc-sync-batch", "3"]);
        assert_eq!(
            parsed.lifecycle.bridge_webhook_public_key.as_deref(),
            Some(PEM)
        );
        assert_eq!(parsed.lifecycle.kyc_sync_batch, 3);
    }

    #[test]
    fn a_bad_key_names_its_setting() {
        let err = config(&["--bridge-webhook-public-key", "not a key"])
            .lifecycle
            .webhook_verifier()
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("BRIDGE_WEBHOOK_PUBLIC_KEY is not"),
            "{err:#}"
        );
        let err = config(&["--bridge-webhook-public-key-file", "/nonexistent/key.pem"])
            .lifecycle
            .webhook_verifier()
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("BRIDGE_WEBHOOK_PUBLIC_KEY_FILE"),
            "{err:#}"
        );
        let err = config(&[
            "--bridge-webhook-public-key",
            PEM,
            "--bridge-webhook-public-key-file",
            "/k.pem",
        ])
        .lifecycle
        .webhook_verifier()
        .unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
    }

    #[test]
    fn polling_defaults_to_five_minutes_and_zero_turns_it_off() {
        let sync = config(&[]).lifecycle.sync_settings().unwrap();
        assert_eq!(sync.interval, Duration::from_secs(300));
        assert_eq!(sync.batch, 100);
        assert_eq!(sync.lease, Duration::from_secs(300));
        assert_eq!(sync.pause, Duration::from_secs(30));
        assert!(config(&["--kyc-sync-interval-seconds", "0"])
            .lifecycle
            .sync_settings()
            .is_none());
        let quick = config(&["--kyc-sync-interval-seconds", "1", "--kyc-sync-batch", "7"])
            .lifecycle
            .sync_settings()
            .unwrap();
        assert_eq!(
            (quick.lease, quick.pause, quick.batch),
            (Duration::from_secs(60), Duration::from_secs(1), 7)
        );
        assert_eq!(
            config(&[]).lifecycle.receipt_retention(),
            Duration::from_secs(30 * 86_400)
        );
    }
}
