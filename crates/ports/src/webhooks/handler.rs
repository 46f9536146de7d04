//! Webhook deliveries as outbox jobs: each attempt reads the endpoint and the event as they
//! are now, opens the endpoint's signing secrets (both during a rotation's overlap), and has
//! the sender sign and POST the event's stored body. Any 2xx is delivered; anything else —
//! another status, a timeout, a refused connection, a destination the service does not send
//! to — is a failed attempt, retried on the kind's schedule.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::SigningSecret;

use super::{DeliveryTarget, OutgoingWebhook, SecretBox, WebhookDeliveries, WebhookSender};
use crate::outbox::{Attempted, Effects, JobHandler, JobKind, JobWork, OutboxJob};
use crate::RepositoryError;

/// Delivers due webhook events.
pub struct WebhookDeliveryHandler {
    deliveries: Arc<dyn WebhookDeliveries>,
    secrets: Arc<dyn SecretBox>,
    sender: Arc<dyn WebhookSender>,
}

impl WebhookDeliveryHandler {
    /// A handler reading from `deliveries` and sending through `sender`.
    pub fn new(
        deliveries: Arc<dyn WebhookDeliveries>,
        secrets: Arc<dyn SecretBox>,
        sender: Arc<dyn WebhookSender>,
    ) -> Self {
        Self {
            deliveries,
            secrets,
            sender,
        }
    }

    /// The secrets that sign now: the current one, and the previous one until its
    /// overlap ends. A previous secret that does not open (sealed under a key since
    /// replaced, the very case a rotation mends) is left out rather than failing the
    /// delivery.
    fn signing_secrets(
        &self,
        endpoint: domain::EndpointId,
        target: &DeliveryTarget,
        now: DateTime<Utc>,
    ) -> Result<Vec<SigningSecret>, super::SecretBoxError> {
        let mut secrets = vec![self.secrets.open(&target.secrets.current, endpoint)?];
        if let Some((previous, until)) = &target.secrets.previous {
            if *until > now {
                match self.secrets.open(previous, endpoint) {
                    Ok(secret) => secrets.push(secret),
                    Err(e) => {
                        tracing::warn!(endpoint_id = %endpoint, error = %e, "the previous webhook signing secret does not open; signing with the current one only");
                    }
                }
            }
        }
        Ok(secrets)
    }
}

fn failed(permanent: bool, error: impl Into<String>, http_status: Option<u16>) -> Attempted {
    Attempted::Failed {
        permanent,
        error: error.into(),
        http_status,
    }
}

#[async_trait]
impl JobHandler for WebhookDeliveryHandler {
    fn kind(&self) -> JobKind {
        JobKind::Webhook
    }

    async fn attempt(&self, job: &OutboxJob) -> Attempted {
        let JobWork::Webhook {
            endpoint_id,
            event_id,
        } = &job.work
        else {
            return failed(true, "not a webhook delivery", None);
        };
        let target = match self
            .deliveries
            .delivery_target(*endpoint_id, event_id)
            .await
        {
            Ok(Some(target)) => target,
            // Deleting an endpoint deletes its deliveries; one that slipped through has
            // nowhere to go.
            Ok(None) => return failed(true, "the endpoint or the event no longer exists", None),
            Err(e) => return failed(false, format!("{:#}", anyhow::Error::new(e)), None),
        };
        if !target.enabled {
            return failed(true, "the endpoint is disabled", None);
        }
        let secrets = match self.signing_secrets(*endpoint_id, &target, Utc::now()) {
            Ok(secrets) => secrets,
            // A key changed under the stored secrets: the operator can put it back, so
            // this is retried rather than given up.
            Err(e) => {
                tracing::error!(endpoint_id = %endpoint_id, error = %e, "cannot open a webhook signing secret; was SECRETS_ENCRYPTION_KEY changed?");
                return failed(
                    false,
                    "the endpoint's signing secret could not be opened",
                    None,
                );
            }
        };
        let webhook = OutgoingWebhook {
            url: target.url,
            event_id: event_id.clone(),
            body: target.body,
            secrets,
        };
        match self.sender.send(&webhook).await {
            Ok(response) if (200..300).contains(&response.status) => {
                tracing::info!(endpoint_id = %endpoint_id, event_id = %event_id, status = response.status, "webhook delivered");
                Attempted::Delivered {
                    http_status: Some(response.status),
                }
            }
            Ok(response) => {
                let redirect = if (300..400).contains(&response.status) {
                    " (redirects are not followed)"
                } else {
                    ""
                };
                let mut error = format!("HTTP {}{redirect}", response.status);
                if !response.body_excerpt.is_empty() {
                    error.push_str(": ");
                    error.push_str(&response.body_excerpt);
                }
                // The receiver's words are kept with the delivery, not logged.
                failed(false, error, Some(response.status))
            }
            Err(e) => failed(false, e.to_string(), None),
        }
    }

    async fn on_end(
        &self,
        _job: &OutboxJob,
        _delivered: bool,
        _at: DateTime<Utc>,
    ) -> Result<Effects, RepositoryError> {
        Ok(Effects::default())
    }
}

#[cfg(test)]
mod tests;
