//! A customer as the API shows it, and the wire enums it is spelled with. Each wire enum
//! is the one declaration of its spelling on the wire and in the document, converted from
//! the domain's enum by one `From` (the domain knows nothing of JSON).

use chrono::SecondsFormat;
use domain::{Customer, CustomerType, KycMailStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
    /// The provider's KYC status.
    pub kyc_status: String,
    /// The provider's rejection reasons, as given.
    #[schema(value_type = Vec<serde_json::Value>)]
    pub rejection_reasons: Vec<Value>,
    /// The provider's terms-of-service status.
    pub tos_status: String,
    /// RFC 3339, UTC, milliseconds.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The provider's customer id, once it has one.
    pub customer_id: Option<String>,
    /// The provider's inquiry type, when reported.
    pub persona_inquiry_type: Option<String>,
    /// Where the KYC e-mail stands: `queued`, `sent`, `failed` or `not_requested`.
    pub kyc_mail_status: KycMailState,
}

impl From<Customer> for CustomerData {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id.to_string(),
            full_name: c.name.as_str().to_owned(),
            email: c.email.as_str().to_owned(),
            phone: c.phone.as_str().to_owned(),
            country: c.country.alpha3().to_owned(),
            customer_type: c.customer_type.into(),
            kyc_link: c.kyc.kyc_link,
            tos_link: c.kyc.tos_link,
            kyc_status: c.kyc.kyc_status,
            rejection_reasons: c.kyc.rejection_reasons,
            tos_status: c.kyc.tos_status,
            created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            customer_id: c.kyc.provider_customer_id,
            persona_inquiry_type: c.kyc.persona_inquiry_type,
            kyc_mail_status: c.kyc_mail_status.into(),
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
