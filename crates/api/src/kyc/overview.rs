//! `GET /customer/{id}/kyc`: where a customer's verification stands, its links, when it
//! last changed and was last read back from the provider, its history, and the KYC data
//! sent for it by API (masked).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::KycSubmissionRecord;
use domain::{CustomerId, KycHistoryEntry, KycSource};
use ports::{KycOverview, ReadKyc, SubmitKyc};
use serde::Serialize;
use utoipa::ToSchema;

use super::data::SubmissionData;
use crate::auth::AuthenticatedAccount;
use crate::customers::data::{RejectionReasonData, WireKycStatus, WireTosStatus};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::params::path_id;
use crate::responses::{BearerErrors, CustomerNotFound};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Where a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = KycSource)]
pub enum WireKycSource {
    /// A signed event from the provider.
    Webhook,
    /// The service's own poll of the provider.
    Poll,
    /// The sandbox provider's pages.
    Sandbox,
    /// A change made through this API: the provider's answer to a KYC submission
    /// (`POST /customer/{id}/kyc`), or the new link of a new e-mail address
    /// (`PUT /customer/{id}`).
    Api,
    /// The terms-of-service acceptance the provider's hosted page redirected back with.
    TosRedirect,
}

impl From<KycSource> for WireKycSource {
    fn from(source: KycSource) -> Self {
        match source {
            KycSource::Webhook => Self::Webhook,
            KycSource::Poll => Self::Poll,
            KycSource::Sandbox => Self::Sandbox,
            KycSource::Api => Self::Api,
            KycSource::TosRedirect => Self::TosRedirect,
        }
    }
}

/// One report in the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct KycHistoryData {
    /// The KYC status when the report arrived.
    pub from: WireKycStatus,
    /// The KYC status the report gave.
    pub to: WireKycStatus,
    /// The terms-of-service status the report gave.
    pub tos_status: WireTosStatus,
    /// Where it came from.
    pub source: WireKycSource,
    /// The provider's event id (`null` for polls, API submissions and terms-of-service
    /// redirects).
    pub event_id: Option<String>,
    /// The moment the report describes: the event's creation, the poll, the submission, or
    /// the terms-of-service acceptance (RFC 3339, UTC, milliseconds).
    #[schema(format = DateTime)]
    pub at: String,
    /// `false` for a report older than the one the state already came from: kept for the
    /// record, it did not change the state.
    pub applied: bool,
}

impl From<KycHistoryEntry> for KycHistoryData {
    fn from(e: KycHistoryEntry) -> Self {
        Self {
            from: e.from.into(),
            to: e.to.into(),
            tos_status: e.tos_status.into(),
            source: e.source.into(),
            event_id: e.event_id,
            at: time(e.at),
            applied: e.applied,
        }
    }
}

/// A customer's KYC.
#[derive(Debug, Serialize, ToSchema)]
pub struct KycData {
    /// Where the identity verification stands.
    pub kyc_status: WireKycStatus,
    /// Whether the customer accepted the provider's terms of service.
    pub tos_status: WireTosStatus,
    /// Why the provider rejected the customer (empty unless rejected).
    pub rejection_reasons: Vec<RejectionReasonData>,
    /// Hosted KYC flow.
    pub kyc_link: String,
    /// Terms-of-service acceptance page.
    pub tos_link: String,
    /// When the customer last changed in any way (RFC 3339, UTC, milliseconds); `null`
    /// until then.
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
    /// When polling last read the state back from the provider; `null` until then.
    #[schema(format = DateTime)]
    pub last_synced_at: Option<String>,
    /// Every report that changed the state, or arrived too late to, oldest first.
    pub history: Vec<KycHistoryData>,
    /// The KYC data sent by API (`POST /customer/{id}/kyc`), newest first, masked: what was
    /// sent and how it ended, never the data itself.
    pub submissions: Vec<SubmissionData>,
}

impl KycData {
    /// The overview with the customer's submissions.
    fn new(overview: KycOverview, submissions: Vec<KycSubmissionRecord>) -> Self {
        let c = overview.customer;
        Self {
            kyc_status: c.kyc_state.kyc_status.into(),
            tos_status: c.kyc_state.tos_status.into(),
            rejection_reasons: c
                .kyc_state
                .rejection_reasons
                .into_iter()
                .map(RejectionReasonData::from)
                .collect(),
            kyc_link: c.kyc.kyc_link,
            tos_link: c.kyc.tos_link,
            updated_at: c.updated_at.map(time),
            last_synced_at: c.last_synced_at.map(time),
            history: overview
                .history
                .into_iter()
                .map(KycHistoryData::from)
                .collect(),
            submissions: submissions.into_iter().map(SubmissionData::from).collect(),
        }
    }
}

/// One of the caller's customers' KYC: status, links, history. Another account's
/// customer, an unknown id and a malformed id are all `404`.
#[utoipa::path(
    get,
    path = "/customer/{id}/kyc",
    tag = "customers",
    operation_id = "get_customer_kyc",
    params(("id" = String, Path, description = "The customer id (a UUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer's KYC", body = Envelope<KycData>),
        CustomerNotFound, BearerErrors,
    )
)]
#[tracing::instrument(name = "http.get_customer_kyc", skip_all, fields(account_id = %account.0))]
pub async fn get_customer_kyc(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    use_case: web::Data<dyn ReadKyc>,
    submitted: web::Data<dyn SubmitKyc>,
) -> Result<HttpResponse, ApiError> {
    let id = CustomerId(path_id(&id)?);
    let overview = use_case
        .kyc_overview(account.0, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let submissions = submitted.list_submissions(account.0, id).await?;
    Ok(HttpResponse::Ok().json(Envelope::success(
        200,
        "KYC retrieved successfully",
        KycData::new(overview, submissions),
    )))
}
