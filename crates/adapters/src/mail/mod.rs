//! Mail transports for the mailer port: SMTP (lettre) and `.eml` files in a directory
//! (the zero-configuration default). Both send the same MIME message.

mod file;
mod smtp;

pub use file::FileMailer;
pub use smtp::{SmtpMailer, SmtpSettings};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use ports::{MailError, OutgoingMail};

/// Parses a `MAIL_FROM` value such as `KYC <kyc@example.com>` or `kyc@example.com`.
pub fn parse_from(value: &str) -> anyhow::Result<Mailbox> {
    value
        .parse()
        .map_err(|e| anyhow::anyhow!("MAIL_FROM is not a valid mailbox ({e})"))
}

/// Builds the MIME message: `multipart/alternative` with a text and an HTML part.
fn build_message(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| MailError::Rejected(format!("invalid recipient address: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(mail.message_id.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(mail.html.clone()),
                ),
        )
        .map_err(|e| MailError::Rejected(format!("could not build the message: {e}")))
}
