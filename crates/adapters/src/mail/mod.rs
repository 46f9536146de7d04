//! Mail transports for the mailer port: SMTP (lettre) and `.eml` files in a directory
//! (the zero-configuration default). Both render the message with [`template`] and send
//! the same MIME message.

mod file;
mod smtp;
mod template;

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

/// Renders the message and builds its MIME form: `multipart/alternative` with a text and
/// an HTML part.
fn build_message(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| MailError::Rejected(format!("invalid recipient address: {e}")))?;
    let rendered = template::render(&mail.content);
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(mail.message_id.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(rendered.text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(rendered.html),
                ),
        )
        .map_err(|e| MailError::Rejected(format!("could not build the message: {e}")))
}
