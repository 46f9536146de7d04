//! Writes each message as an `.eml` file into a directory: the zero-configuration
//! transport, and a handy one for development (open the file in any mail client).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};
use ports::{MailError, Mailer, OutgoingMail};

use super::build_message;

/// The file mailer.
pub struct FileMailer {
    transport: AsyncFileTransport<Tokio1Executor>,
    from: Mailbox,
    dir: PathBuf,
}

impl FileMailer {
    /// Writes into `dir`, creating it when missing.
    pub fn new(dir: &Path, from: Mailbox) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the mail directory {}", dir.display()))?;
        Ok(Self {
            transport: AsyncFileTransport::new(dir),
            from,
            dir: dir.to_owned(),
        })
    }

    /// Where messages are written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for FileMailer {
    fn name(&self) -> &'static str {
        "file"
    }

    #[tracing::instrument(name = "file_mail.send", skip_all)]
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build_message(&self.from, mail)?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| MailError::Unavailable(e.into()))
    }
}
