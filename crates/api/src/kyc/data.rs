//! What the KYC-by-API and terms-of-service routes answer: the masked submission records,
//! the terms link, and each use-case error as one status and body.

use actix_web::http::StatusCode;
use chrono::SecondsFormat;
use domain::{CustomerType, KycSubmissionRecord};
use ports::{CustomerKycError, SubmitKycError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::customers::data::{CustomerKind, WireKycStatus};
use crate::error::{log_chain, ApiError};

/// An identity document of a submission, masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitySummaryData {
    /// Where it was in the submission.
    #[schema(example = "identifying_information[0]")]
    pub path: String,
    /// Its type.
    #[serde(rename = "type")]
    #[schema(example = "ssn")]
    pub id_type: String,
    /// The last four characters of its number (numbers of 8 characters or more only).
    #[schema(example = "6789")]
    pub number_last_four: Option<String>,
    /// The media type of the front image, if one was sent.
    pub image_front: Option<String>,
    /// The media type of the back image, if one was sent.
    pub image_back: Option<String>,
}

/// A business document of a submission, masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentSummaryData {
    /// Where it was in the submission.
    pub path: String,
    /// What it proves.
    pub purposes: Vec<String>,
    /// The file's media type.
    pub file: String,
}

/// Where a submission stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionOutcomeData {
    /// Being sent to the provider.
    Pending,
    /// The provider took it; its verdict arrives as KYC status changes.
    Accepted,
    /// The provider refused it as invalid.
    Refused,
    /// The provider could not be reached or did not answer in time.
    Failed,
    /// Left pending by an instance that stopped.
    Abandoned,
}

/// A KYC submission as kept: which fields and documents it had, never their values.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionData {
    /// The submission's id.
    #[schema(format = Uuid)]
    pub id: String,
    /// When it was received (RFC 3339, UTC, milliseconds).
    #[schema(format = DateTime)]
    pub submitted_at: String,
    /// `individual` or `business`.
    pub customer_type: CustomerKind,
    /// The names of the top-level fields present.
    pub fields: Vec<String>,
    /// The identity documents, masked.
    pub identifying_information: Vec<IdentitySummaryData>,
    /// The business documents, masked.
    pub documents: Vec<DocumentSummaryData>,
    /// Where it stands.
    pub outcome: SubmissionOutcomeData,
    /// The KYC status the provider reported on taking it.
    pub kyc_status: Option<WireKycStatus>,
    /// The provider's reference (its customer id).
    pub provider_reference: Option<String>,
    /// The paths of the fields the provider refused.
    pub refused_fields: Vec<String>,
    /// When the outcome was known.
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
}

impl From<KycSubmissionRecord> for SubmissionData {
    fn from(r: KycSubmissionRecord) -> Self {
        let time =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        Self {
            id: r.id.0.to_string(),
            submitted_at: time(r.submitted_at),
            customer_type: r.customer_type.into(),
            fields: r.summary.fields,
            identifying_information: r
                .summary
                .identity_documents
                .into_iter()
                .map(|d| IdentitySummaryData {
                    path: d.path,
                    id_type: d.id_type,
                    number_last_four: d.number_last_four,
                    image_front: d.image_front,
                    image_back: d.image_back,
                })
                .collect(),
            documents: r
                .summary
                .documents
                .into_iter()
                .map(|d| DocumentSummaryData {
                    path: d.path,
                    purposes: d.purposes,
                    file: d.file,
                })
                .collect(),
            outcome: match r.outcome {
                domain::SubmissionOutcome::Pending => SubmissionOutcomeData::Pending,
                domain::SubmissionOutcome::Accepted => SubmissionOutcomeData::Accepted,
                domain::SubmissionOutcome::Refused => SubmissionOutcomeData::Refused,
                domain::SubmissionOutcome::Failed => SubmissionOutcomeData::Failed,
                domain::SubmissionOutcome::Abandoned => SubmissionOutcomeData::Abandoned,
            },
            kyc_status: r.kyc_status.map(Into::into),
            provider_reference: r.provider_reference,
            refused_fields: r.refused_fields,
            finished_at: r.finished_at.map(time),
        }
    }
}

/// A hosted terms-of-service link.
#[derive(Debug, Serialize, ToSchema)]
pub struct TosLinkData {
    /// Send the customer here; the provider's page sends them back to this service's
    /// `GET /tos/complete`, which records the acceptance. Valid for 24 hours.
    pub url: String,
}

fn provider_timeout() -> ApiError {
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        "kyc_provider_timeout",
        "The KYC provider did not answer in time",
    )
}

fn provider_unavailable() -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "kyc_provider_unavailable",
        "The KYC provider is unavailable",
    )
}

impl From<SubmitKycError> for ApiError {
    fn from(e: SubmitKycError) -> Self {
        match &e {
            SubmitKycError::NotFound => Self::not_found(),
            SubmitKycError::TypeMismatch { expected } => {
                let message = match expected {
                    CustomerType::Individual => {
                        "the customer is an individual: send customer_type \"individual\" with an individual's fields"
                    }
                    CustomerType::Business => {
                        "the customer is a business: send customer_type \"business\" with a business's fields"
                    }
                };
                Self::invalid_parameter("customer_type", message)
            }
            SubmitKycError::InProgress => Self::new(
                StatusCode::CONFLICT,
                "kyc_in_progress",
                "A KYC submission for this customer is being reviewed; wait for its outcome",
            ),
            SubmitKycError::TermsNotAccepted => Self::invalid_parameter(
                "signed_agreement_id",
                "is required: the customer has not accepted the terms of service \
                 (POST /customer/{id}/tos-link gives the link)",
            ),
            SubmitKycError::Rejected {
                field_errors,
                message,
            } => {
                let fields: serde_json::Map<String, serde_json::Value> = field_errors
                    .iter()
                    .map(|(path, reason)| (path.clone(), reason.clone().into()))
                    .collect();
                Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "kyc_rejected",
                    "The KYC provider rejected the submission",
                )
                .with_details(serde_json::json!({
                    "provider_message": message,
                    "fields": fields,
                }))
            }
            SubmitKycError::KycTimeout => {
                log_chain("KYC provider timed out", &e);
                provider_timeout()
            }
            SubmitKycError::KycUnavailable(_) => {
                log_chain("KYC provider unavailable", &e);
                provider_unavailable()
            }
            SubmitKycError::StoreUnavailable(_) => {
                log_chain("customer store unavailable", &e);
                Self::service_unavailable()
            }
            SubmitKycError::Unexpected(_) => {
                log_chain("unexpected error while submitting KYC data", &e);
                Self::internal()
            }
        }
    }
}

impl From<CustomerKycError> for ApiError {
    fn from(e: CustomerKycError) -> Self {
        match &e {
            CustomerKycError::NotFound => Self::not_found(),
            CustomerKycError::KycRejected { message } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "kyc_rejected",
                "The KYC provider refused the request",
            )
            .with_details(serde_json::json!({ "provider_message": message })),
            CustomerKycError::KycTimeout => {
                log_chain("KYC provider timed out", &e);
                provider_timeout()
            }
            CustomerKycError::KycUnavailable(_) => {
                log_chain("KYC provider unavailable", &e);
                provider_unavailable()
            }
            CustomerKycError::StoreUnavailable(_) => {
                log_chain("customer store unavailable", &e);
                Self::service_unavailable()
            }
            CustomerKycError::Unexpected(_) => {
                log_chain("unexpected error in a KYC request", &e);
                Self::internal()
            }
        }
    }
}
