//! KYC by API over Bridge's Customers API: `PUT /v0/customers/{id}` (a customer Bridge
//! already has, e.g. from its KYC link) or `POST /v0/customers`.
//!
//! Bridge wants an `Idempotency-Key` on every POST and none on a PUT. A create's key is
//! derived from our customer id and a SHA-256 of the exact body, so a retry (same body)
//! gets the same key and different data never reuses one (Bridge refuses a reused key
//! with a changed body).

use std::time::Duration;

use domain::{KycState, KycSubmission};
use ports::{KycSubmissionRequest, KycSubmitError, SubmissionAccepted};
use reqwest::header::CONTENT_TYPE;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::customer_body::customer_body;
use super::objects::{rejection_reasons, unreadable, BridgeRejectionReason};
use super::{status, BridgeKycProvider, MAX_MESSAGE_CHARS};

/// Bridge's customer object, as far as a submission's answer needs it.
#[derive(Debug, Deserialize)]
struct CustomerObject {
    id: String,
    status: Option<String>,
    has_accepted_terms_of_service: Option<bool>,
    rejection_reasons: Option<Vec<BridgeRejectionReason>>,
}

/// Bridge's error body. Its schema puts the offending fields in `source.key`; its own
/// examples put them in a top-level `name`: both are read.
#[derive(Debug, Deserialize, Default)]
pub(super) struct CustomerErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    name: Option<String>,
    source: Option<ErrorSource>,
}

#[derive(Debug, Deserialize)]
struct ErrorSource {
    key: Option<String>,
}

/// One failed submission attempt, and whether another may help.
struct SubmitFailure {
    error: KycSubmitError,
    retryable: bool,
}

impl SubmitFailure {
    fn fatal(error: KycSubmitError) -> Self {
        Self {
            error,
            retryable: false,
        }
    }

    fn retryable(cause: anyhow::Error) -> Self {
        Self {
            error: KycSubmitError::Unavailable(cause),
            retryable: true,
        }
    }
}

/// The fields of our submission bodies, which Bridge spells as we do.
const OUR_FIELDS: &[&str] = &[
    "first_name",
    "middle_name",
    "last_name",
    "birth_date",
    "nationality",
    "email",
    "phone",
    "residential_address",
    "identifying_information",
    "signed_agreement_id",
    "account_purpose",
    "account_purpose_other",
    "source_of_funds",
    "employment_status",
    "most_recent_occupation",
    "expected_monthly_payments_usd",
    "business_legal_name",
    "business_trade_name",
    "business_description",
    "business_type",
    "business_industry",
    "registered_address",
    "physical_address",
    "associated_persons",
    "is_dao",
    "has_material_intermediary_ownership",
    "documents",
];

/// Our path for a field Bridge names. Bridge mostly uses our names (and paths); the rest
/// are the older names its examples show (`ssn`, `address`, `state`). A name that fits
/// nothing is reported on `body`.
fn our_path(key: &str, submission: &KycSubmission) -> String {
    let key = key.trim();
    let head = key.split(['.', '[']).next().unwrap_or_default();
    if OUR_FIELDS.contains(&head) {
        return key.to_owned();
    }
    let address = match submission {
        KycSubmission::Individual(_) => "residential_address",
        KycSubmission::Business(_) => "physical_address",
    };
    match head {
        "ssn"
        | "itin"
        | "tin"
        | "tax_identification_number"
        | "number"
        | "id_number"
        | "government_id"
        | "passport" => "identifying_information".to_owned(),
        "dob" | "date_of_birth" => "birth_date".to_owned(),
        "address" => address.to_owned(),
        "state" => format!("{address}.subdivision"),
        "street_line_1" | "street_line_2" | "city" | "subdivision" | "postal_code" | "country" => {
            format!("{address}.{head}")
        }
        "type" => "customer_type".to_owned(),
        _ => "body".to_owned(),
    }
}

pub(super) fn cut(message: String) -> String {
    message.chars().take(MAX_MESSAGE_CHARS).collect()
}

/// A 4xx about the submission itself, with each named field under our path.
fn refusal(status: StatusCode, bytes: &[u8], submission: &KycSubmission) -> KycSubmitError {
    let error: CustomerErrorBody = serde_json::from_slice(bytes).unwrap_or_default();
    let message = cut(error.message.unwrap_or_else(|| {
        format!(
            "the KYC provider refused the submission (HTTP {})",
            status.as_u16()
        )
    }));
    let keys = error
        .source
        .and_then(|s| s.key)
        .or(error.name)
        .unwrap_or_default();
    let mut field_errors: Vec<(String, String)> = Vec::new();
    for key in keys.split(',').filter(|k| !k.trim().is_empty()) {
        let path = our_path(key, submission);
        if !field_errors.iter().any(|(p, _)| *p == path) {
            field_errors.push((path, message.clone()));
        }
    }
    tracing::warn!(
        http.status = status.as_u16(),
        code = error.code.as_deref().unwrap_or(""),
        fields = field_errors.len(),
        "Bridge refused a KYC submission"
    );
    KycSubmitError::Rejected {
        field_errors,
        message,
    }
}

impl BridgeKycProvider {
    /// `base_url` with `segments` appended, each percent-encoded.
    pub(super) fn url(&self, segments: &[&str]) -> Result<Url, anyhow::Error> {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("BRIDGE_API_URL cannot be a base URL"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// `PUT /v0/customers/{id}` or `POST /v0/customers`, retried (with the same key) on
    /// connection failures, 408, 429 and 5xx; a timeout is not retried, since the
    /// submission timeout is long and the client is waiting.
    pub(super) async fn submit(
        &self,
        request: &KycSubmissionRequest,
    ) -> Result<SubmissionAccepted, KycSubmitError> {
        let create = request.provider_customer_id.is_none();
        let body = serde_json::to_vec(&customer_body(request, create))
            .map_err(|e| KycSubmitError::Unavailable(e.into()))?;
        let (method, url, key) = match &request.provider_customer_id {
            Some(id) => (
                reqwest::Method::PUT,
                self.url(&["v0", "customers", id]),
                None,
            ),
            None => {
                let digest = hex::encode(Sha256::digest(&body));
                let key = format!("kyc-submission-{}-{}", request.customer_id, &digest[..32]);
                (
                    reqwest::Method::POST,
                    self.url(&["v0", "customers"]),
                    Some(key),
                )
            }
        };
        let url = url.map_err(KycSubmitError::Unavailable)?;
        let mut attempt = 1;
        loop {
            match self
                .submit_attempt(&method, &url, key.as_deref(), &body, request)
                .await
            {
                Ok(accepted) => return Ok(accepted),
                Err(f) if f.retryable && attempt < self.max_attempts => {
                    tracing::warn!(attempt, error = %f.error, "Bridge submission failed; retrying");
                    tokio::time::sleep(self.retry_backoff * 2u32.saturating_pow(attempt - 1)).await;
                    attempt += 1;
                }
                Err(f) => return Err(f.error),
            }
        }
    }

    async fn submit_attempt(
        &self,
        method: &reqwest::Method,
        url: &Url,
        idempotency_key: Option<&str>,
        body: &[u8],
        request: &KycSubmissionRequest,
    ) -> Result<SubmissionAccepted, SubmitFailure> {
        let mut call = self
            .client
            .request(method.clone(), url.clone())
            .timeout(self.submit_timeout)
            .header("Api-Key", self.api_key.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(key) = idempotency_key {
            call = call.header("Idempotency-Key", key);
        }
        let response = call.send().await.map_err(submit_transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(submit_transport)?;
        if status.is_success() {
            return accepted(&bytes).map_err(SubmitFailure::fatal);
        }
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(SubmitFailure::fatal(KycSubmitError::Unavailable(
                    anyhow::anyhow!("Bridge refused our API key (HTTP {status})"),
                )))
            }
            StatusCode::NOT_FOUND if method == reqwest::Method::PUT => Err(SubmitFailure::fatal(
                KycSubmitError::Unavailable(anyhow::anyhow!(
                    "Bridge does not know the customer this customer's KYC link named (HTTP 404)"
                )),
            )),
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                Err(SubmitFailure::retryable(anyhow::anyhow!(
                    "Bridge asked us to slow down (HTTP {status})"
                )))
            }
            s if s.is_client_error() => Err(SubmitFailure::fatal(refusal(
                s,
                &bytes,
                &request.submission,
            ))),
            s if s.is_server_error() => Err(SubmitFailure::retryable(anyhow::anyhow!(
                "Bridge answered HTTP {s}"
            ))),
            s => Err(SubmitFailure::fatal(KycSubmitError::Unavailable(
                anyhow::anyhow!("Bridge answered an unexpected HTTP {s}"),
            ))),
        }
    }
}

/// The customer object of a successful answer, in the service's vocabulary.
fn accepted(bytes: &[u8]) -> Result<SubmissionAccepted, KycSubmitError> {
    let object: CustomerObject = serde_json::from_slice(bytes)
        .map_err(|e| KycSubmitError::Unavailable(unreadable("customer", &e)))?;
    let kyc_status = status::customer_status(object.status.as_deref().unwrap_or_default()).map_err(|unknown| {
        tracing::error!(field = unknown.field, value = %unknown.value, "Bridge sent an unknown status");
        KycSubmitError::Unavailable(anyhow::Error::new(unknown))
    })?;
    Ok(SubmissionAccepted {
        provider_customer_id: object.id,
        state: KycState {
            kyc_status,
            tos_status: status::tos_accepted(object.has_accepted_terms_of_service.unwrap_or(false)),
            rejection_reasons: rejection_reasons(object.rejection_reasons),
        },
    })
}

/// A failure below HTTP. A timeout is final: the submission timeout is long, and the
/// client is still waiting.
fn submit_transport(e: reqwest::Error) -> SubmitFailure {
    if e.is_timeout() {
        SubmitFailure::fatal(KycSubmitError::Timeout)
    } else {
        SubmitFailure::retryable(anyhow::Error::new(e).context("could not reach Bridge"))
    }
}

/// How long a submission may take at most, all attempts included: what a pending
/// submission must be allowed before it counts as abandoned.
pub fn longest_submission(
    submit_timeout: Duration,
    max_attempts: u32,
    retry_backoff: Duration,
) -> Duration {
    let attempts = max_attempts.max(1);
    let pauses = (0..attempts.saturating_sub(1))
        .map(|i| retry_backoff * 2u32.saturating_pow(i))
        .sum::<Duration>();
    submit_timeout * attempts + pauses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_customer_leaves_the_personal_values_it_held_out_of_the_error_chain() {
        // A birth date where Bridge's customer object has a boolean or a list.
        for body in [
            r#"{"id": "c1", "birth_date": "1990-05-17", "has_accepted_terms_of_service": "1990-05-17"}"#,
            r#"{"id": "c1", "rejection_reasons": "birth_date 1990-05-17 does not match"}"#,
            r#"{"id": "c1", "status": "active", "rejection_reasons": [{"reason": 19900517}]}"#,
        ] {
            // serde_json's own message would carry it.
            let raw = serde_json::from_slice::<CustomerObject>(body.as_bytes()).unwrap_err();
            assert!(raw.to_string().contains("19900517") || raw.to_string().contains("1990-05-17"));

            let Err(KycSubmitError::Unavailable(e)) = accepted(body.as_bytes()) else {
                panic!("{body} was read");
            };
            let chain = format!("{e:#}");
            assert!(!chain.contains("1990-05-17"), "{chain}");
            assert!(!chain.contains("19900517"), "{chain}");
            assert!(chain.contains("Data error at line 1 column"), "{chain}");
        }
    }

    #[test]
    fn the_longest_submission_counts_every_attempt_and_pause() {
        assert_eq!(
            longest_submission(Duration::from_secs(60), 2, Duration::from_millis(200)),
            Duration::from_millis(120_200)
        );
    }
}
