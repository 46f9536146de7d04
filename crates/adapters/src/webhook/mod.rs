//! The webhook-sender port over HTTP (reqwest): signs each attempt per Standard Webhooks
//! (`signing`) and POSTs it, guarded against requests into the service's own network
//! (`destination`).
//!
//! The client follows no redirect (a 3xx is the receiver's answer, and a failure), uses
//! no proxy from the environment (a proxy would resolve names itself, out of the guard's
//! sight), resolves names through a resolver that refuses non-public addresses, and gives
//! each attempt a time limit from connection to the last byte read. The receiver's body is
//! read up to 64 KiB and the first 1 KiB kept; a longer answer is cut off.

pub mod destination;
pub mod signing;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use domain::WebhookUrl;
use ports::webhooks::{DestinationRefused, OutgoingWebhook, SendError, WebhookResponse};
use ports::WebhookSender;
use reqwest::header::{HeaderValue, CONTENT_TYPE};

pub use destination::DestinationRules;
use destination::{NonPublicAddress, PublicOnlyResolver};

/// Most bytes of a receiver's answer read.
pub const MAX_ANSWER_READ: usize = 64 * 1024;
/// Most bytes of a receiver's answer kept.
pub const MAX_ANSWER_KEPT: usize = 1024;
/// How long a registration waits for a name to resolve before letting it pass.
const REGISTRATION_LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// How webhooks are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSenderSettings {
    /// What destinations are allowed.
    pub rules: DestinationRules,
    /// Limit for one attempt, connection to last byte.
    pub timeout: Duration,
}

/// Sends webhooks over HTTP.
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    client: reqwest::Client,
    settings: WebhookSenderSettings,
}

impl HttpWebhookSender {
    /// A sender with `settings`.
    pub fn new(settings: WebhookSenderSettings) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!(
                "customer-onboarding-webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .https_only(!settings.rules.allow_http);
        if !settings.rules.allow_private_networks {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        Ok(Self {
            client: builder.build()?,
            settings,
        })
    }
}

/// Whether `error`, or anything it was caused by, is the resolver's refusal.
fn refused_by_resolver(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<NonPublicAddress>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// An error and its causes on one line, without the URL (the account's own, but it can
/// hold a token and is already known to whoever reads the delivery).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut parts = vec![error.to_string()];
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// Reads up to [`MAX_ANSWER_READ`] bytes of the answer and keeps the first
/// [`MAX_ANSWER_KEPT`]; stops early (dropping the connection) beyond that or on an error.
async fn answer_excerpt(mut response: reqwest::Response) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut read = 0usize;
    while read < MAX_ANSWER_READ {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                let room = MAX_ANSWER_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn check_destination(&self, url: &WebhookUrl) -> Result<(), DestinationRefused> {
        self.settings
            .rules
            .check_resolved(url, REGISTRATION_LOOKUP_TIMEOUT)
            .await
            .map_err(DestinationRefused)
    }

    #[tracing::instrument(name = "webhook.send", skip_all, fields(event_id = %webhook.event_id, status))]
    async fn send(&self, webhook: &OutgoingWebhook) -> Result<WebhookResponse, SendError> {
        self.settings
            .rules
            .check_url(&webhook.url)
            .map_err(SendError::Refused)?;
        // Signed afresh for every attempt: receivers refuse timestamps more than a few
        // minutes off.
        let timestamp = Utc::now().timestamp();
        let signature = signing::signature_header(
            &webhook.secrets,
            webhook.event_id.as_str(),
            timestamp,
            webhook.body.as_bytes(),
        );
        let sent = self
            .client
            .post(webhook.url.as_str())
            .timeout(self.settings.timeout)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("webhook-id", webhook.event_id.as_str())
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(webhook.body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if refused_by_resolver(&e) => {
                return Err(SendError::Refused(destination::NON_PUBLIC.into()))
            }
            Err(e) if e.is_timeout() => return Err(SendError::Timeout(self.settings.timeout)),
            Err(e) => return Err(SendError::Connection(describe(e))),
        };
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        Ok(WebhookResponse {
            status,
            body_excerpt: answer_excerpt(response).await,
        })
    }
}
