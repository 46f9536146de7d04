//! SMTP delivery with lettre: `smtp://host:port` (plain, or STARTTLS with `?tls=required`),
//! `smtps://host:port` (implicit TLS), credentials in the URL's user-info.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use ports::{MailError, Mailer, OutgoingMail};

use super::build_message;

/// How to reach the SMTP server.
#[derive(Clone)]
pub struct SmtpSettings {
    /// `smtp://[user:pass@]host[:port][?tls=required]` or `smtps://…`.
    pub url: String,
    /// The sender.
    pub from: Mailbox,
    /// Limit for one SMTP conversation.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &"<redacted>")
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The SMTP mailer.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// Builds the transport; fails on a URL lettre cannot read (naming `SMTP_URL`).
    pub fn new(settings: SmtpSettings) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|e| anyhow::anyhow!("SMTP_URL is invalid: {e}"))?
            .timeout(Some(settings.timeout))
            .build();
        Ok(Self {
            transport,
            from: settings.from,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    fn name(&self) -> &'static str {
        "smtp"
    }

    #[tracing::instrument(name = "smtp.send", skip_all)]
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build_message(&self.from, mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Rejected(e.to_string())),
            Err(e) => Err(MailError::Unavailable(e.into())),
        }
    }
}
