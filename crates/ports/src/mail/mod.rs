//! The KYC mail: the mailer and outbox ports, what the message says (as data — the
//! transport renders it), and (in `worker`) the use case that delivers due outbox jobs
//! with retries.

mod worker;

pub use worker::{KycMailWorker, RetryPolicy};

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::CustomerId;

use crate::RepositoryError;

/// A message for a transport: who it is for and what it must say. How it reads (text,
/// HTML, escaping) is the transport's business, not the core's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Stable `Message-ID` (with angle brackets), the same for every attempt.
    pub message_id: String,
    /// Recipient address.
    pub to: String,
    /// What the message says.
    pub content: MailContent,
}

/// What a message says, one variant per kind of mail; each transport renders every kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailContent {
    /// Asks the customer to verify their identity and accept the terms of service.
    KycLinks {
        /// The customer's name, as stored.
        full_name: String,
        /// The hosted KYC flow, exactly as the provider gave it.
        kyc_link: String,
        /// The terms-of-service page, exactly as the provider gave it.
        tos_link: String,
    },
}

/// Why a transport did not take a message.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server refused the message for good (e.g. SMTP 5xx: no such mailbox).
    #[error("the mail server refused the message permanently: {0}")]
    Rejected(String),
    /// The transport is unreachable or refused for now; a later attempt may succeed.
    #[error("the mail transport is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// A mail transport (SMTP, files, …).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// A short name for logs and the start-up banner.
    fn name(&self) -> &'static str;

    /// Renders one message and hands it to the transport.
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// A claimed "send the KYC mail" job, with what the message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycMailJob {
    /// The customer (one job per customer).
    pub customer_id: CustomerId,
    /// Stable `Message-ID`.
    pub message_id: String,
    /// Which attempt this is, 1 for the first.
    pub attempt: u32,
    /// Recipient address.
    pub to: String,
    /// The customer's name, as stored.
    pub full_name: String,
    /// The hosted KYC flow.
    pub kyc_link: String,
    /// The terms-of-service page.
    pub tos_link: String,
}

impl KycMailJob {
    /// The message this job sends.
    pub fn mail(&self) -> OutgoingMail {
        OutgoingMail {
            message_id: self.message_id.clone(),
            to: self.to.clone(),
            content: MailContent::KycLinks {
                full_name: self.full_name.clone(),
                kyc_link: self.kyc_link.clone(),
                tos_link: self.tos_link.clone(),
            },
        }
    }
}

/// The transactional outbox of KYC mail jobs. Jobs are created by
/// [`crate::CustomerRepository::insert`], in the customer's own transaction.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait MailOutbox: Send + Sync + 'static {
    /// Claims up to `limit` due jobs for `lease`: no other claimer gets them until the
    /// lease ends (so a crashed worker's jobs are retried, never lost). Counts the attempt.
    async fn claim_due(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<KycMailJob>, RepositoryError>;

    /// Marks a job sent, and the customer's mail status `sent`.
    async fn mark_sent(&self, customer_id: CustomerId) -> Result<(), RepositoryError>;

    /// Releases a job for another attempt at `next_attempt_at`, keeping the error.
    async fn mark_retry(
        &self,
        customer_id: CustomerId,
        error: String,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;

    /// Gives a job up, keeping the error; the customer's mail status becomes `failed`.
    async fn mark_failed(
        &self,
        customer_id: CustomerId,
        error: String,
    ) -> Result<(), RepositoryError>;

    /// Jobs still queued, and the age of the oldest (for monitoring).
    async fn queued(&self) -> Result<(u64, Option<DateTime<Utc>>), RepositoryError>;
}

/// The `Message-ID` of a customer's KYC mail.
pub fn kyc_message_id(customer_id: CustomerId) -> String {
    format!("<kyc.{customer_id}@customer-onboarding>")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use uuid::Uuid;

    /// A claimed job for customer 1, with a name and links that need escaping.
    pub(crate) fn job(attempt: u32) -> KycMailJob {
        let customer_id = CustomerId(Uuid::from_u128(1));
        KycMailJob {
            customer_id,
            message_id: kyc_message_id(customer_id),
            attempt,
            to: "ada@example.com".into(),
            full_name: "<script>alert(1)</script> & Co".into(),
            kyc_link: "https://kyc.example/verify?a=1&b=2".into(),
            tos_link: "https://tos.example/accept?c=3&d=4".into(),
        }
    }

    #[test]
    fn a_job_becomes_a_kyc_mail_to_the_customer_with_its_stable_message_id() {
        let mail = job(1).mail();
        assert_eq!(mail.to, "ada@example.com");
        assert_eq!(
            mail.message_id,
            "<kyc.00000000-0000-0000-0000-000000000001@customer-onboarding>"
        );
        assert_eq!(
            mail.content,
            MailContent::KycLinks {
                full_name: "<script>alert(1)</script> & Co".into(),
                kyc_link: "https://kyc.example/verify?a=1&b=2".into(),
                tos_link: "https://tos.example/accept?c=3&d=4".into(),
            }
        );
    }
}
