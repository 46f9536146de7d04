//! Terms-of-service links over Bridge's Customers API: a customer Bridge already has gets
//! its own `GET /v0/customers/{id}/tos_acceptance_link`, anyone else a
//! `POST /v0/customers/tos_links`; either way our `redirect_uri` is appended.

use ports::{KycProviderError, TosLinkRequest};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::customers::{cut, CustomerErrorBody};
use super::objects::unreadable;
use super::{unavailable, BridgeKycProvider, Failure};

/// A terms-of-service link: `{"url"}` in Bridge's guide, `{"data": {"url"}}` in its
/// reference's example.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TosLinkBody {
    Plain { url: String },
    Wrapped { data: TosUrl },
}

#[derive(Debug, Deserialize)]
struct TosUrl {
    url: String,
}

impl BridgeKycProvider {
    /// A terms-of-service link with `redirect_uri` appended, retried like a KYC link.
    pub(super) async fn tos_link(
        &self,
        request: &TosLinkRequest,
    ) -> Result<String, KycProviderError> {
        // One key per call (a ToS session is cheap), the same for every retry of it.
        let key = format!(
            "tos-link-{}-{}",
            request.customer_id,
            uuid::Uuid::new_v4().simple()
        );
        let mut attempt = 1;
        loop {
            match self.tos_attempt(request, &key).await {
                Ok(url) => return Ok(url),
                Err(f) if f.retryable && attempt < self.max_attempts => {
                    tracing::warn!(attempt, error = %f.error, "Bridge ToS link failed; retrying");
                    tokio::time::sleep(self.retry_backoff * 2u32.saturating_pow(attempt - 1)).await;
                    attempt += 1;
                }
                Err(f) => return Err(f.error),
            }
        }
    }

    async fn tos_attempt(&self, request: &TosLinkRequest, key: &str) -> Result<String, Failure> {
        let call = match &request.provider_customer_id {
            Some(id) => self
                .url(&["v0", "customers", id, "tos_acceptance_link"])
                .map(|url| self.client.get(url)),
            None => self
                .url(&["v0", "customers", "tos_links"])
                .map(|url| self.client.post(url).header("Idempotency-Key", key)),
        }
        .map_err(|e| Failure::fatal(unavailable(e)))?;
        let response = call
            .header("Api-Key", self.api_key.clone())
            .send()
            .await
            .map_err(Failure::transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(Failure::transport)?;
        if status.is_success() {
            let body: TosLinkBody = serde_json::from_slice(&bytes)
                .map_err(|e| Failure::fatal(unavailable(unreadable("ToS link", &e))))?;
            let url = match body {
                TosLinkBody::Plain { url }
                | TosLinkBody::Wrapped {
                    data: TosUrl { url },
                } => url,
            };
            return with_redirect(&url, &request.redirect_uri)
                .map_err(|e| Failure::fatal(unavailable(e)));
        }
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Failure::fatal(unavailable(
                anyhow::anyhow!("Bridge refused our API key (HTTP {status})"),
            )),
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                Failure::retryable(unavailable(anyhow::anyhow!(
                    "Bridge asked us to slow down (HTTP {status})"
                )))
            }
            s if s.is_client_error() => {
                let error: CustomerErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
                Failure::fatal(KycProviderError::Rejected {
                    code: error.code,
                    message: cut(error.message.unwrap_or_else(|| {
                        format!("the KYC provider refused the request (HTTP {})", s.as_u16())
                    })),
                })
            }
            s if s.is_server_error() => {
                Failure::retryable(unavailable(anyhow::anyhow!("Bridge answered HTTP {s}")))
            }
            s => Failure::fatal(unavailable(anyhow::anyhow!(
                "Bridge answered an unexpected HTTP {s}"
            ))),
        })
    }
}

/// Bridge's page sends the customer to a `redirect_uri` query parameter of its URL.
fn with_redirect(url: &str, redirect_uri: &str) -> Result<String, anyhow::Error> {
    let mut url =
        Url::parse(url).map_err(|e| anyhow::anyhow!("Bridge sent an unusable ToS URL: {e}"))?;
    url.query_pairs_mut()
        .append_pair("redirect_uri", redirect_uri);
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_is_appended_encoded_to_the_providers_url() {
        assert_eq!(
            with_redirect(
                "https://dashboard.bridge.xyz/accept-terms-of-service?session_token=4d5d",
                "https://svc.example/tos/complete?state=a.b"
            )
            .unwrap(),
            "https://dashboard.bridge.xyz/accept-terms-of-service?session_token=4d5d&redirect_uri=https%3A%2F%2Fsvc.example%2Ftos%2Fcomplete%3Fstate%3Da.b"
        );
    }
}
