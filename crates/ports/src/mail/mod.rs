//! The KYC mail: the mailer port, what the message says (as data — the transport renders
//! it), and (in `handler`) the outbox handler that sends due KYC mails.

mod handler;

pub use handler::KycMailHandler;

use async_trait::async_trait;
use domain::CustomerId;

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

/// The `Message-ID` of a customer's KYC mail.
pub fn kyc_message_id(customer_id: CustomerId) -> String {
    format!("<kyc.{customer_id}@customer-onboarding>")
}

/// The `Message-ID` of the KYC mail queued when a change of the customer's address, making
/// the customer's `version`, brought new links: a new message, not a resend of the first.
pub fn kyc_message_id_for_version(customer_id: CustomerId, version: i64) -> String {
    format!("<kyc.{customer_id}.v{version}@customer-onboarding>")
}
