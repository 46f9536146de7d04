//! The KYC provider port over Bridge's KYC Links API (`POST /v0/kyc_links`).
//!
//! Every attempt for one customer carries the same `Idempotency-Key`, so the bounded
//! retries on timeouts, connection failures, 429 and 5xx never create a second link.

use std::time::Duration;

mod customer_body;
mod customers;
mod events;
mod objects;
mod reports;
pub mod status;
mod sync;
mod tos;
pub mod webhook;

pub use customers::longest_submission;

use async_trait::async_trait;
use ports::{
    IssuedKycLink, KycLinkRequest, KycProvider, KycProviderError, KycSubmissionRequest,
    KycSubmitError, SubmissionAccepted, TosLinkRequest,
};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::StatusCode;
use serde::Serialize;

use objects::{unreadable, ErrorBody, KycLinkObject};
pub use webhook::{BridgeWebhookVerifier, WebhookKeyError};

/// Longest provider message passed on to our API clients.
const MAX_MESSAGE_CHARS: usize = 500;

/// How to reach Bridge.
#[derive(Clone)]
pub struct BridgeSettings {
    /// Base URL, e.g. `https://api.bridge.xyz` (the `/v0/kyc_links` path is appended).
    pub base_url: String,
    /// The `Api-Key` header value.
    pub api_key: String,
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Limit for one whole request, connection to last body byte.
    pub request_timeout: Duration,
    /// Limit for one KYC submission request (its body can be tens of megabytes).
    pub submit_timeout: Duration,
    /// Attempts per customer, first one included (1 means no retry).
    pub max_attempts: u32,
    /// Pause before the first retry; doubled for each further one.
    pub retry_backoff: Duration,
}

impl std::fmt::Debug for BridgeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("submit_timeout", &self.submit_timeout)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// The Bridge KYC provider.
#[derive(Clone, Debug)]
pub struct BridgeKycProvider {
    client: reqwest::Client,
    endpoint: String,
    base_url: reqwest::Url,
    submit_timeout: Duration,
    api_key: HeaderValue,
    max_attempts: u32,
    retry_backoff: Duration,
}

impl BridgeKycProvider {
    /// Builds the HTTP client; fails on an API key that cannot be a header value.
    pub fn new(settings: BridgeSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("customer-onboarding/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let mut api_key = HeaderValue::from_str(&settings.api_key).map_err(|_| {
            anyhow::anyhow!("BRIDGE_API_KEY contains characters not allowed in a header")
        })?;
        api_key.set_sensitive(true);
        let base_url = reqwest::Url::parse(&settings.base_url)
            .map_err(|e| anyhow::anyhow!("BRIDGE_API_URL is not a URL: {e}"))?;
        Ok(Self {
            client,
            endpoint: format!("{}/v0/kyc_links", settings.base_url.trim_end_matches('/')),
            base_url,
            submit_timeout: settings.submit_timeout,
            api_key,
            max_attempts: settings.max_attempts.max(1),
            retry_backoff: settings.retry_backoff,
        })
    }

    async fn attempt(&self, request: &KycLinkRequest) -> Result<IssuedKycLink, Failure> {
        let body = CreateKycLinkBody {
            full_name: &request.full_name,
            email: &request.email,
            customer_type: request.customer_type.as_str(),
        };
        let response = self
            .client
            .post(&self.endpoint)
            .header("Api-Key", self.api_key.clone())
            .header("Idempotency-Key", &request.idempotency_key)
            .header(CONTENT_TYPE, "application/json")
            .json(&body)
            .send()
            .await
            .map_err(Failure::transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(Failure::transport)?;

        if status.is_success() {
            return serde_json::from_slice::<KycLinkObject>(&bytes)
                .map_err(|e| Failure::fatal(unavailable(unreadable("KYC link", &e))))
                .and_then(issued);
        }
        let error: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(Failure::fatal(unavailable(
                anyhow::anyhow!("Bridge refused our API key (HTTP {status})"),
            ))),
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                Err(Failure::retryable(unavailable(anyhow::anyhow!(
                    "Bridge asked us to slow down (HTTP {status})"
                ))))
            }
            s if s.is_client_error() => match error {
                ErrorBody {
                    code: Some(code),
                    existing_kyc_link: Some(existing),
                    ..
                } if code == "duplicate_record" => issued(existing),
                ErrorBody { code, message, .. } => {
                    Err(Failure::fatal(KycProviderError::Rejected {
                        code,
                        message: message
                            .map(|m| m.chars().take(MAX_MESSAGE_CHARS).collect())
                            .unwrap_or_else(|| {
                                format!(
                                    "the KYC provider rejected the request (HTTP {})",
                                    s.as_u16()
                                )
                            }),
                    }))
                }
            },
            s if s.is_server_error() => Err(Failure::retryable(unavailable(anyhow::anyhow!(
                "Bridge answered HTTP {s}"
            )))),
            s => Err(Failure::fatal(unavailable(anyhow::anyhow!(
                "Bridge answered an unexpected HTTP {s}"
            )))),
        }
    }
}

/// A KYC link object in the service's terms; a status this service does not know is
/// logged with its raw value and refused, never guessed.
fn issued(object: KycLinkObject) -> Result<IssuedKycLink, Failure> {
    object.into_issued().map_err(|unknown| {
        tracing::error!(field = unknown.field, value = %unknown.value, "Bridge sent an unknown status");
        Failure::fatal(unavailable(anyhow::Error::new(unknown)))
    })
}

fn unavailable(cause: anyhow::Error) -> KycProviderError {
    KycProviderError::Unavailable(cause)
}

/// One failed attempt, and whether another may help.
struct Failure {
    error: KycProviderError,
    retryable: bool,
}

impl Failure {
    fn fatal(error: KycProviderError) -> Self {
        Self {
            error,
            retryable: false,
        }
    }

    fn retryable(error: KycProviderError) -> Self {
        Self {
            error,
            retryable: true,
        }
    }

    /// A failure below HTTP: a timeout, a refused connection, a broken body.
    fn transport(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::retryable(KycProviderError::Timeout)
        } else {
            Self::retryable(unavailable(
                anyhow::Error::new(e).context("could not reach Bridge"),
            ))
        }
    }
}

#[async_trait]
impl KycProvider for BridgeKycProvider {
    fn name(&self) -> &'static str {
        "bridge"
    }

    #[tracing::instrument(name = "bridge.create_kyc_link", skip_all, fields(idempotency_key = %request.idempotency_key))]
    async fn create_kyc_link(
        &self,
        request: &KycLinkRequest,
    ) -> Result<IssuedKycLink, KycProviderError> {
        let mut attempt = 1;
        loop {
            match self.attempt(request).await {
                Ok(link) => return Ok(link),
                Err(f) if f.retryable && attempt < self.max_attempts => {
                    tracing::warn!(attempt, error = %f.error, "Bridge call failed; retrying with the same idempotency key");
                    tokio::time::sleep(self.retry_backoff * 2u32.saturating_pow(attempt - 1)).await;
                    attempt += 1;
                }
                Err(f) => return Err(f.error),
            }
        }
    }

    #[tracing::instrument(name = "bridge.fetch_kyc_state", skip_all)]
    async fn fetch_kyc_state(
        &self,
        target: &domain::ProviderRef,
    ) -> Result<ports::ProviderKycState, KycProviderError> {
        self.fetch(target).await
    }

    #[tracing::instrument(name = "bridge.submit_kyc", skip_all, fields(customer_id = %request.customer_id))]
    async fn submit_kyc(
        &self,
        request: &KycSubmissionRequest,
    ) -> Result<SubmissionAccepted, KycSubmitError> {
        self.submit(request).await
    }

    #[tracing::instrument(name = "bridge.create_tos_link", skip_all, fields(customer_id = %request.customer_id))]
    async fn create_tos_link(&self, request: &TosLinkRequest) -> Result<String, KycProviderError> {
        self.tos_link(request).await
    }
}

/// Body of `POST /v0/kyc_links`.
#[derive(Serialize)]
struct CreateKycLinkBody<'a> {
    full_name: &'a str,
    email: &'a str,
    #[serde(rename = "type")]
    customer_type: &'a str,
}
