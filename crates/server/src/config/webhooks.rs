//! Webhook settings: the key that seals signing secrets, what endpoint URLs may be, and
//! the delivery worker's pace, retries and retention.

use std::time::Duration;

use adapters::webhook::{DestinationRules, WebhookSenderSettings};
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};
use domain::UrlRules;

use super::Redacted;

/// The retry schedule of the issue and of Standard Webhooks' example, shortened at the end:
/// about 28 hours from the first attempt to the last.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

/// How webhooks are registered, sent, retried and kept.
#[derive(Debug, Clone, Args)]
pub struct WebhookSettings {
    /// Key that encrypts webhook signing secrets in the database (AES-256-GCM): 32 random
    /// bytes as 64 hex characters (`openssl rand -hex 32`) or base64. Required with
    /// PostgreSQL; otherwise generated once into DATA_DIR/secrets_encryption_key.
    #[arg(
        long,
        env = "SECRETS_ENCRYPTION_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secrets_encryption_key: Option<Redacted>,

    /// Accept plain `http` endpoint URLs besides `https` (development only).
    #[arg(long, env = "WEBHOOK_ALLOW_HTTP", global = true, action = ArgAction::Set, num_args = 0..=1, default_value = "false", default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub webhook_allow_http: bool,

    /// Allow endpoints on loopback, private, link-local and other non-public addresses
    /// (development and tests only: it lets accounts make the service call its own network).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE_NETWORKS", global = true, action = ArgAction::Set, num_args = 0..=1, default_value = "false", default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub webhook_allow_private_networks: bool,

    /// Webhook deliveries attempted at once by each instance (apart from KYC mails).
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256), global = true)]
    pub webhook_concurrency: u32,

    /// Deliveries in flight at once to one endpoint, across instances, so a slow receiver
    /// cannot take every slot.
    #[arg(long, env = "WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100), global = true)]
    pub webhook_max_in_flight_per_endpoint: u32,

    /// Limit for one delivery attempt, connection to last byte read, in milliseconds.
    #[arg(long, env = "WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(50..=120_000), global = true)]
    pub webhook_timeout_ms: u64,

    /// Pauses between a delivery's attempts, comma-separated (`ms`, `s`, `m`, `h`, `d`);
    /// after a failure past the last one the delivery is marked failed. Empty: one attempt.
    #[arg(long, env = "WEBHOOK_RETRY_SCHEDULE", default_value = DEFAULT_RETRY_SCHEDULE, global = true)]
    pub webhook_retry_schedule: String,

    /// How often the webhook worker looks for due deliveries, in milliseconds.
    #[arg(long, env = "WEBHOOK_POLL_INTERVAL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..), global = true)]
    pub webhook_poll_interval_ms: u64,

    /// How long a claimed delivery is reserved for one worker, in seconds; after that
    /// another instance may retry it. Must be more than twice WEBHOOK_TIMEOUT_MS.
    #[arg(
        long,
        env = "WEBHOOK_LEASE_SECONDS",
        default_value_t = 120,
        global = true
    )]
    pub webhook_lease_seconds: u64,

    /// Days delivered and failed deliveries are kept (then deleted by a periodic job).
    #[arg(long, env = "WEBHOOK_DELIVERY_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650), global = true)]
    pub webhook_delivery_retention_days: u32,
}

/// Reads one pause, e.g. `500ms`, `5s`, `30m`, `2h`, `1d`.
fn parse_pause(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit (ms, s, m, h or d)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let millis = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit (use ms, s, m, h or d)"
            ))
        }
    }
    .ok_or_else(|| format!("{text:?} is too long"))?;
    Ok(Duration::from_millis(millis))
}

impl WebhookSettings {
    /// The pauses between attempts.
    pub fn retry_schedule(&self) -> anyhow::Result<Vec<Duration>> {
        let text = self.webhook_retry_schedule.trim();
        if text.is_empty() {
            return Ok(Vec::new());
        }
        text.split(',')
            .map(parse_pause)
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("WEBHOOK_RETRY_SCHEDULE: {e}"))
    }

    /// Limit for one attempt.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.webhook_timeout_ms)
    }

    /// The delivery lease, checked against the timeout.
    pub fn lease(&self) -> anyhow::Result<Duration> {
        let lease = Duration::from_secs(self.webhook_lease_seconds);
        anyhow::ensure!(
            lease > self.timeout() * 2,
            "WEBHOOK_LEASE_SECONDS must be more than twice WEBHOOK_TIMEOUT_MS, or a slow delivery could be retried by another instance while in flight"
        );
        Ok(lease)
    }

    /// Deliveries in flight at once.
    pub fn concurrency(&self) -> usize {
        usize::try_from(self.webhook_concurrency).unwrap_or(1)
    }

    /// How often the worker looks for due deliveries.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.webhook_poll_interval_ms)
    }

    /// How long finished deliveries are kept.
    pub fn retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.webhook_delivery_retention_days) * 86_400)
    }

    /// What the use cases hold endpoints to.
    pub fn rules(&self) -> ports::WebhookSettings {
        ports::WebhookSettings {
            url_rules: UrlRules {
                allow_http: self.webhook_allow_http,
            },
            ..ports::WebhookSettings::default()
        }
    }

    /// How the sender sends.
    pub fn sender(&self) -> WebhookSenderSettings {
        WebhookSenderSettings {
            rules: DestinationRules {
                allow_http: self.webhook_allow_http,
                allow_private_networks: self.webhook_allow_private_networks,
            },
            timeout: self.timeout(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;

    #[test]
    fn the_default_schedule_is_the_issues_seven_pauses() {
        let schedule = config(&[]).webhooks.retry_schedule().unwrap();
        let hours = |h: u64| Duration::from_secs(h * 3600);
        assert_eq!(
            schedule,
            vec![
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_secs(1800),
                hours(2),
                hours(5),
                hours(10),
                hours(10),
            ]
        );
    }

    #[test]
    fn a_schedule_is_read_with_units_and_refused_without() {
        let c = config(&["--webhook-retry-schedule", "100ms, 2s,1m,1d"]);
        assert_eq!(
            c.webhooks.retry_schedule().unwrap(),
            vec![
                Duration::from_millis(100),
                Duration::from_secs(2),
                Duration::from_secs(60),
                Duration::from_secs(86_400),
            ]
        );
        assert!(config(&["--webhook-retry-schedule", ""])
            .webhooks
            .retry_schedule()
            .unwrap()
            .is_empty());
        for bad in ["5", "5x", "s", "1s,,2s", "99999999999999999999d"] {
            let err = config(&["--webhook-retry-schedule", bad])
                .webhooks
                .retry_schedule()
                .unwrap_err();
            assert!(
                err.to_string().contains("WEBHOOK_RETRY_SCHEDULE"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn switches_read_as_flags_or_values_and_default_off() {
        let off = config(&[]).webhooks;
        assert!(!off.webhook_allow_http && !off.webhook_allow_private_networks);
        let on = config(&[
            "--webhook-allow-http",
            "--webhook-allow-private-networks=true",
        ])
        .webhooks;
        assert!(on.webhook_allow_http && on.webhook_allow_private_networks);
        assert!(
            !config(&["--webhook-allow-http=false"])
                .webhooks
                .webhook_allow_http
        );
    }

    #[test]
    fn a_lease_shorter_than_two_timeouts_is_refused() {
        let err = config(&[
            "--webhook-lease-seconds",
            "20",
            "--webhook-timeout-ms",
            "10000",
        ])
        .webhooks
        .lease()
        .unwrap_err();
        assert!(err.to_string().contains("WEBHOOK_LEASE_SECONDS"), "{err}");
        assert!(config(&[]).webhooks.lease().is_ok());
    }
}
