//! A customer as the API shows it, and the wire enums it is spelled with. Each wire enum
//! is the one declaration of its spelling on the wire and in the document, converted from
//! the domain's enum by one `From` (the domain knows nothing of JSON).

use chrono::SecondsFormat;
use domain::{Customer, CustomerType, KycMailStatus, KycStatus, RejectionReason, TosStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::examples::seed_customer_example;

/// `individual` or `business`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// A person.
    Individual,
    /// A company.
    Business,
}

impl From<CustomerType> for CustomerKind {
    fn from(t: CustomerType) -> Self {
        match t {
            CustomerType::Individual => Self::Individual,
            CustomerType::Business => Self::Business,
        }
    }
}

impl From<CustomerKind> for CustomerType {
    fn from(kind: CustomerKind) -> Self {
        match kind {
            CustomerKind::Individual => Self::Individual,
            CustomerKind::Business => Self::Business,
        }
    }
}

/// Where a customer's KYC e-mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KycMailState {
    /// Waiting to be sent (or retried).
    Queued,
    /// Accepted by the mail server.
    Sent,
    /// Given up after the last attempt.
    Failed,
    /// `send_kyc_mail` was false.
    NotRequested,
}

impl From<KycMailStatus> for KycMailState {
    fn from(status: KycMailStatus) -> Self {
        match status {
            KycMailStatus::Queued => Self::Queued,
            KycMailStatus::Sent => Self::Sent,
            KycMailStatus::Failed => Self::Failed,
            KycMailStatus::NotRequested => Self::NotRequested,
        }
    }
}

/// Where the customer's identity verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = KycStatus)]
pub enum WireKycStatus {
    /// A verification was opened; nothing provided yet.
    NotStarted,
    /// Some information provided; more is needed before review.
    Incomplete,
    /// Waiting for the customer's answers to a questionnaire.
    AwaitingQuestionnaire,
    /// Waiting for the ultimate beneficial owners (businesses).
    AwaitingUbo,
    /// Being reviewed by the provider.
    UnderReview,
    /// Verified.
    Approved,
    /// Not verified; see `rejection_reasons`.
    Rejected,
    /// Paused while activity is reviewed.
    Paused,
    /// Closed after review.
    Offboarded,
}

impl From<KycStatus> for WireKycStatus {
    fn from(status: KycStatus) -> Self {
        match status {
            KycStatus::NotStarted => Self::NotStarted,
            KycStatus::Incomplete => Self::Incomplete,
            KycStatus::AwaitingQuestionnaire => Self::AwaitingQuestionnaire,
            KycStatus::AwaitingUbo => Self::AwaitingUbo,
            KycStatus::UnderReview => Self::UnderReview,
            KycStatus::Approved => Self::Approved,
            KycStatus::Rejected => Self::Rejected,
            KycStatus::Paused => Self::Paused,
            KycStatus::Offboarded => Self::Offboarded,
        }
    }
}

/// Whether the customer accepted the provider's terms of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TosStatus)]
pub enum WireTosStatus {
    /// Not accepted yet.
    Pending,
    /// Accepted.
    Approved,
}

impl From<TosStatus> for WireTosStatus {
    fn from(status: TosStatus) -> Self {
        match status {
            TosStatus::Pending => Self::Pending,
            TosStatus::Approved => Self::Approved,
        }
    }
}

/// Why the provider rejected the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RejectionReasonData {
    /// The reason, worded for the customer.
    pub reason: String,
    /// The reason, worded for the developer, when the provider gives one.
    pub developer_reason: Option<String>,
    /// When the provider recorded it (RFC 3339, UTC, milliseconds).
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<RejectionReason> for RejectionReasonData {
    fn from(r: RejectionReason) -> Self {
        Self {
            reason: r.reason,
            developer_reason: r.developer_reason,
            created_at: r.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }
}

/// A customer as the API shows it: the seed's fields plus `phone` and `country`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!(seed_customer_example()))]
pub struct CustomerData {
    /// Our customer id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Full name.
    pub full_name: String,
    /// E-mail address as given.
    pub email: String,
    /// Phone in E.164.
    pub phone: String,
    /// ISO 3166-1 alpha-3.
    pub country: String,
    /// `individual` or `business`.
    #[serde(rename = "type")]
    pub customer_type: CustomerKind,
    /// Hosted KYC flow.
    pub kyc_link: String,
    /// Terms-of-service acceptance page.
    pub tos_link: String,
    /// Where the identity verification stands.
    pub kyc_status: WireKycStatus,
    /// Why the provider rejected the customer (empty unless rejected).
    pub rejection_reasons: Vec<RejectionReasonData>,
    /// Whether the customer accepted the provider's terms of service.
    pub tos_status: WireTosStatus,
    /// RFC 3339, UTC, milliseconds.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The provider's customer id, once it has one.
    pub customer_id: Option<String>,
    /// The provider's inquiry type, when reported.
    pub persona_inquiry_type: Option<String>,
    /// Where the KYC e-mail stands: `queued`, `sent`, `failed` or `not_requested`.
    pub kyc_mail_status: KycMailState,
    /// When the customer last changed in any way (RFC 3339, UTC, milliseconds); `null`
    /// until then.
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

impl From<Customer> for CustomerData {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id.to_string(),
            full_name: c.name.into_string(),
            email: c.email.into_string(),
            phone: c.phone.into_string(),
            country: c.country.alpha3().to_owned(),
            customer_type: c.customer_type.into(),
            kyc_link: c.kyc.kyc_link,
            tos_link: c.kyc.tos_link,
            kyc_status: c.kyc_state.kyc_status.into(),
            rejection_reasons: c
                .kyc_state
                .rejection_reasons
                .into_iter()
                .map(RejectionReasonData::from)
                .collect(),
            tos_status: c.kyc_state.tos_status.into(),
            created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            customer_id: c.kyc.provider_customer_id,
            persona_inquiry_type: c.kyc.persona_inquiry_type,
            kyc_mail_status: c.kyc_mail_status.into(),
            updated_at: c
                .updated_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_spelling_is_the_domains_spelling() {
        // The domain spells its enums for storage; the wire enums must agree with it so a
        // stored value and a shown one are the same word.
        for t in [CustomerType::Individual, CustomerType::Business] {
            let wire = serde_json::to_value(CustomerKind::from(t)).unwrap();
            assert_eq!(wire, t.as_str());
            assert_eq!(CustomerType::from(CustomerKind::from(t)), t);
        }
        for s in KycStatus::ALL {
            assert_eq!(
                serde_json::to_value(WireKycStatus::from(s)).unwrap(),
                s.as_str()
            );
        }
        for s in TosStatus::ALL {
            assert_eq!(
                serde_json::to_value(WireTosStatus::from(s)).unwrap(),
                s.as_str()
            );
        }
        for s in [
            KycMailStatus::NotRequested,
            KycMailStatus::Queued,
            KycMailStatus::Sent,
            KycMailStatus::Failed,
        ] {
            assert_eq!(
                serde_json::to_value(KycMailState::from(s)).unwrap(),
                s.as_str()
            );
        }
    }
}
