//! The KYC mail as an outbox job: sends the customer the links as they are when the job
//! runs, and, when the job ends, records the customer's mail status (and, when it failed
//! for good, the `customer.kyc_mail.failed` event).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{KycMailStatus, WebhookEventType};

use super::{MailContent, MailError, Mailer, OutgoingMail};
use crate::outbox::{Attempted, Effects, JobHandler, JobKind, JobWork, OutboxJob};
use crate::{CustomerDirectory, Events, RepositoryError};

/// Sends due KYC mails.
pub struct KycMailHandler {
    mailer: Arc<dyn Mailer>,
    customers: Arc<dyn CustomerDirectory>,
    events: Events,
}

impl KycMailHandler {
    /// A handler sending through `mailer`.
    pub fn new(
        mailer: Arc<dyn Mailer>,
        customers: Arc<dyn CustomerDirectory>,
        events: Events,
    ) -> Self {
        Self {
            mailer,
            customers,
            events,
        }
    }
}

fn permanent(error: &str) -> Attempted {
    Attempted::Failed {
        permanent: true,
        error: error.to_owned(),
        http_status: None,
    }
}

#[async_trait]
impl JobHandler for KycMailHandler {
    fn kind(&self) -> JobKind {
        JobKind::KycMail
    }

    async fn attempt(&self, job: &OutboxJob) -> Attempted {
        let JobWork::KycMail {
            customer_id,
            message_id,
        } = &job.work
        else {
            return permanent("not a KYC mail job");
        };
        let customer = match self.customers.customer_by_id(*customer_id).await {
            Ok(Some(customer)) => customer,
            // Erasing a customer deletes its jobs; one that slipped through has nobody to go to.
            Ok(None) => return permanent("the customer no longer exists"),
            Err(e) => {
                return Attempted::Failed {
                    permanent: false,
                    error: format!("{:#}", anyhow::Error::new(e)),
                    http_status: None,
                }
            }
        };
        let mail = OutgoingMail {
            message_id: message_id.clone(),
            to: customer.email.as_str().to_owned(),
            content: MailContent::KycLinks {
                full_name: customer.name.as_str().to_owned(),
                kyc_link: customer.kyc.kyc_link,
                tos_link: customer.kyc.tos_link,
            },
        };
        match self.mailer.send(&mail).await {
            Ok(()) => {
                tracing::info!(transport = self.mailer.name(), customer_id = %customer_id, "KYC mail sent");
                Attempted::Delivered { http_status: None }
            }
            Err(error) => Attempted::Failed {
                permanent: matches!(error, MailError::Rejected(_)),
                // The text can quote the recipient: it is stored with the job, not logged.
                error: format!("{:#}", anyhow::Error::new(error)),
                http_status: None,
            },
        }
    }

    async fn on_end(
        &self,
        job: &OutboxJob,
        delivered: bool,
        at: DateTime<Utc>,
    ) -> Result<Effects, RepositoryError> {
        let JobWork::KycMail { customer_id, .. } = &job.work else {
            return Ok(Effects::default());
        };
        let status = if delivered {
            KycMailStatus::Sent
        } else {
            KycMailStatus::Failed
        };
        let mut effects = Effects {
            kyc_mail_status: Some((*customer_id, status)),
            events: Vec::new(),
        };
        if !delivered {
            if let Some(mut customer) = self.customers.customer_by_id(*customer_id).await? {
                // The event shows the customer as a read will after this change.
                customer.kyc_mail_status = KycMailStatus::Failed;
                customer.version += 1;
                customer.updated_at = Some(at);
                effects.events.push(self.events.about(
                    WebhookEventType::CustomerKycMailFailed,
                    &customer,
                    None,
                    at,
                ));
            }
        }
        Ok(effects)
    }
}

#[cfg(test)]
mod tests;
