//! Mail settings: the transport, the sender, retries and the outbox worker's pace.

use std::time::Duration;

use clap::Args;

use super::Redacted;

/// How KYC mails are sent and retried.
#[derive(Debug, Clone, Args)]
pub struct MailSettings {
    /// SMTP server for KYC mails: `smtp://[user:pass@]host:port` (add `?tls=required` for
    /// STARTTLS) or `smtps://…`. Unset: mails are written as .eml files to DATA_DIR/mail.
    #[arg(long, env = "SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<Redacted>,

    /// Sender of KYC mails.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "Customer Onboarding <onboarding@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Limit for one SMTP conversation, in milliseconds.
    #[arg(long, env = "SMTP_TIMEOUT_MS", default_value_t = 10_000, global = true)]
    pub smtp_timeout_ms: u64,

    /// Attempts per KYC mail before it is marked failed.
    #[arg(long, env = "MAIL_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100), global = true)]
    pub mail_max_attempts: u32,

    /// Delay after a mail's first failed attempt, in milliseconds (doubled each time, with jitter).
    #[arg(
        long,
        env = "MAIL_RETRY_BASE_MS",
        default_value_t = 5_000,
        global = true
    )]
    pub mail_retry_base_ms: u64,

    /// Longest delay between two attempts of a mail, in milliseconds.
    #[arg(
        long,
        env = "MAIL_RETRY_MAX_MS",
        default_value_t = 3_600_000,
        global = true
    )]
    pub mail_retry_max_ms: u64,

    /// How often the mail worker looks for due mails, in milliseconds.
    #[arg(long, env = "MAIL_POLL_INTERVAL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..), global = true)]
    pub mail_poll_interval_ms: u64,

    /// How long a claimed mail is reserved for one worker, in seconds; after that another
    /// instance may retry it. Must be more than twice SMTP_TIMEOUT_MS.
    #[arg(long, env = "MAIL_LEASE_SECONDS", default_value_t = 120, global = true)]
    pub mail_lease_seconds: u64,

    /// KYC mails sent at once by each instance.
    #[arg(long, env = "MAIL_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64), global = true)]
    pub mail_concurrency: u32,
}

impl MailSettings {
    /// SMTP_URL when it is set to something; `None` means the file transport.
    pub fn smtp_url(&self) -> Option<&str> {
        self.smtp_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
    }

    /// Limit for one SMTP conversation.
    pub fn smtp_timeout(&self) -> Duration {
        Duration::from_millis(self.smtp_timeout_ms)
    }

    /// The mail retry policy.
    pub fn retry_policy(&self) -> ports::RetryPolicy {
        ports::RetryPolicy {
            max_attempts: self.mail_max_attempts,
            base_delay: Duration::from_millis(self.mail_retry_base_ms),
            max_delay: Duration::from_millis(self.mail_retry_max_ms.max(self.mail_retry_base_ms)),
        }
    }

    /// The mail lease, checked against the SMTP timeout.
    pub fn lease(&self) -> anyhow::Result<Duration> {
        let lease = Duration::from_secs(self.mail_lease_seconds);
        anyhow::ensure!(
            lease > self.smtp_timeout() * 2,
            "MAIL_LEASE_SECONDS must be more than twice SMTP_TIMEOUT_MS, or a slow send could be retried by another instance while in flight"
        );
        Ok(lease)
    }

    /// KYC mails in flight at once.
    pub fn concurrency(&self) -> usize {
        usize::try_from(self.mail_concurrency).unwrap_or(1)
    }

    /// How often the worker looks for due mails.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.mail_poll_interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config;

    #[test]
    fn a_mail_lease_shorter_than_the_smtp_timeout_is_refused() {
        let err = config(&["--mail-lease-seconds", "5", "--smtp-timeout-ms", "10000"])
            .mail
            .lease()
            .unwrap_err();
        assert!(err.to_string().contains("MAIL_LEASE_SECONDS"), "{err}");
        assert!(
            config(&["--mail-lease-seconds", "15", "--smtp-timeout-ms", "10000"])
                .mail
                .lease()
                .is_err()
        );
        assert!(config(&[]).mail.lease().is_ok());
    }

    #[test]
    fn a_blank_smtp_url_means_the_file_transport() {
        assert_eq!(config(&[]).mail.smtp_url(), None);
        assert_eq!(config(&["--smtp-url", "  "]).mail.smtp_url(), None);
        assert_eq!(
            config(&["--smtp-url", " smtp://h:25 "]).mail.smtp_url(),
            Some("smtp://h:25")
        );
    }
}
