//! The customer entity and the KYC link the provider issued for it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{CountryCode, CustomerEmail, CustomerName, KycOrder, KycState, PhoneNumber};

/// The API client (tenant) that owns customers. Taken from the token's `sub` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountId(pub Uuid);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Our identifier for a customer (distinct from the KYC provider's customer id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerId(pub Uuid);

impl CustomerId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether the customer is a person or a business. Defaults to `Individual`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerType {
    /// A natural person.
    #[default]
    Individual,
    /// A legal entity.
    Business,
}

impl CustomerType {
    /// The wire and storage spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Individual => "individual",
            Self::Business => "business",
        }
    }
}

impl FromStr for CustomerType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "individual" => Ok(Self::Individual),
            "business" => Ok(Self::Business),
            _ => Err("must be \"individual\" or \"business\"".into()),
        }
    }
}

/// Where the customer's KYC e-mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KycMailStatus {
    /// `send_kyc_mail` was false: no mail will be sent.
    NotRequested,
    /// Waiting in the outbox (first attempt or a retry).
    Queued,
    /// Accepted by the mail transport.
    Sent,
    /// Given up after the configured number of attempts.
    Failed,
}

impl KycMailStatus {
    /// The wire and storage spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotRequested => "not_requested",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// The status a new customer starts with.
    pub fn initial(send_kyc_mail: bool) -> Self {
        if send_kyc_mail {
            Self::Queued
        } else {
            Self::NotRequested
        }
    }
}

impl FromStr for KycMailStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "not_requested" => Ok(Self::NotRequested),
            "queued" => Ok(Self::Queued),
            "sent" => Ok(Self::Sent),
            "failed" => Ok(Self::Failed),
            other => Err(format!("unknown KYC mail status {other:?}")),
        }
    }
}

/// A validated request to register a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    /// Full name, or the legal name of a business.
    pub name: CustomerName,
    /// Contact address; the KYC link is mailed here.
    pub email: CustomerEmail,
    /// Phone in E.164.
    pub phone: PhoneNumber,
    /// Country of residence or incorporation.
    pub country: CountryCode,
    /// Individual or business.
    pub customer_type: CustomerType,
    /// Whether the KYC link should be e-mailed to the customer.
    pub send_kyc_mail: bool,
}

/// A validated request to change a customer's details: the fields to change, each valid.
/// A field left `None` keeps its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerUpdate {
    /// A new full name (or legal name).
    pub name: Option<CustomerName>,
    /// A new contact address.
    pub email: Option<CustomerEmail>,
    /// A new phone number.
    pub phone: Option<PhoneNumber>,
    /// A new country.
    pub country: Option<CountryCode>,
}

impl CustomerUpdate {
    /// Whether it names no field at all.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.country.is_none()
    }
}

/// The hosted KYC and terms-of-service links a KYC provider issued, and the provider's
/// identifiers for them. Where the verification stands is [`KycState`], apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycLink {
    /// The provider's id for this KYC link, when it reports one.
    pub provider_link_id: Option<String>,
    /// URL of the hosted KYC flow.
    pub kyc_link: String,
    /// URL of the terms-of-service acceptance page.
    pub tos_link: String,
    /// The provider's customer id, once it has one.
    pub provider_customer_id: Option<String>,
    /// The provider's inquiry type, when it reports one.
    pub persona_inquiry_type: Option<String>,
}

/// A registered customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// Our id.
    pub id: CustomerId,
    /// The account that created and owns the customer.
    pub account_id: AccountId,
    /// Full name, or the legal name of a business.
    pub name: CustomerName,
    /// Contact address as given.
    pub email: CustomerEmail,
    /// Phone in E.164.
    pub phone: PhoneNumber,
    /// Country (alpha-3).
    pub country: CountryCode,
    /// Individual or business.
    pub customer_type: CustomerType,
    /// Whether the KYC link is to be mailed.
    pub send_kyc_mail: bool,
    /// Where the KYC mail stands.
    pub kyc_mail_status: KycMailStatus,
    /// The name of the KYC provider that issued `kyc` (`bridge`, `sandbox`).
    pub kyc_provider: String,
    /// The KYC links.
    pub kyc: KycLink,
    /// Where the verification stands.
    pub kyc_state: KycState,
    /// The position of the report `kyc_state` came from: a report older than this does
    /// not change the state.
    pub kyc_as_of: KycOrder,
    /// When the state was last read back from the provider by polling, if ever.
    pub last_synced_at: Option<DateTime<Utc>>,
    /// Counts every change to the customer (1 when created): the basis of optimistic
    /// concurrency and of the API's `ETag`.
    pub version: i64,
    /// When we registered the customer, to the millisecond.
    pub created_at: DateTime<Utc>,
    /// When the customer last changed in any way; `None` until then.
    pub updated_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_naming_no_field_is_empty() {
        assert!(CustomerUpdate::default().is_empty());
        let update = CustomerUpdate {
            country: Some(CountryCode::parse("NG").unwrap()),
            ..CustomerUpdate::default()
        };
        assert!(!update.is_empty());
    }

    #[test]
    fn customer_type_defaults_to_individual() {
        assert_eq!(CustomerType::default(), CustomerType::Individual);
    }

    #[test]
    fn kyc_mail_status_round_trips_and_starts_from_the_flag() {
        for s in [
            KycMailStatus::NotRequested,
            KycMailStatus::Queued,
            KycMailStatus::Sent,
            KycMailStatus::Failed,
        ] {
            assert_eq!(s.as_str().parse::<KycMailStatus>().unwrap(), s);
        }
        assert!("bounced".parse::<KycMailStatus>().is_err());
        assert_eq!(KycMailStatus::initial(true), KycMailStatus::Queued);
        assert_eq!(KycMailStatus::initial(false), KycMailStatus::NotRequested);
    }

    #[test]
    fn customer_type_round_trips_through_its_spelling() {
        for t in [CustomerType::Individual, CustomerType::Business] {
            assert_eq!(t.as_str().parse::<CustomerType>().unwrap(), t);
        }
        assert!("Business".parse::<CustomerType>().is_err());
        assert!("".parse::<CustomerType>().is_err());
    }
}
