//! What is kept of a submission once it has gone to the provider: when, by whom, which
//! fields and document types were present, the last four characters of each identity
//! number, the provider's reference and the outcome. Never a number, an image, a birth date,
//! a name or an address.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::business::BusinessSubmission;
use super::identity::IdentityDocument;
use super::person::{IndividualSubmission, Person};
use super::KycSubmission;
use crate::{AccountId, CustomerId, CustomerType, KycStatus};

/// One identity document of a submission, masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySummary {
    /// Where it was in the submission (`identifying_information[0]`).
    pub path: String,
    /// Its type (`ssn`, `passport`).
    pub id_type: String,
    /// The last four characters of its number (only of numbers of 8 characters or more).
    pub number_last_four: Option<String>,
    /// The media type of the front image, if one was sent.
    pub image_front: Option<String>,
    /// The media type of the back image, if one was sent.
    pub image_back: Option<String>,
}

/// One business document of a submission, masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSummary {
    /// Where it was in the submission (`documents[0]`).
    pub path: String,
    /// What it proves.
    pub purposes: Vec<String>,
    /// The file's media type.
    pub file: String,
}

/// Which fields and documents a submission had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmissionSummary {
    /// The names of the top-level fields present.
    pub fields: Vec<String>,
    /// The identity documents, masked.
    pub identity_documents: Vec<IdentitySummary>,
    /// The business documents, masked.
    pub documents: Vec<DocumentSummary>,
}

fn identity(path: String, d: &IdentityDocument) -> IdentitySummary {
    IdentitySummary {
        path,
        id_type: d.id_type.as_str().to_owned(),
        number_last_four: d.number.as_ref().and_then(|n| n.last_four()),
        image_front: d
            .image_front
            .as_ref()
            .map(|f| f.kind().media_type().to_owned()),
        image_back: d
            .image_back
            .as_ref()
            .map(|f| f.kind().media_type().to_owned()),
    }
}

fn person_documents(prefix: &str, person: &Person, into: &mut Vec<IdentitySummary>) {
    for (i, d) in person.identifying_information.iter().enumerate() {
        into.push(identity(format!("{prefix}identifying_information[{i}]"), d));
    }
}

fn present(fields: &[(&str, bool)]) -> Vec<String> {
    fields
        .iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

fn individual(s: &IndividualSubmission) -> SubmissionSummary {
    let p = &s.person;
    let mut identity_documents = Vec::new();
    person_documents("", p, &mut identity_documents);
    SubmissionSummary {
        fields: present(&[
            ("first_name", true),
            ("middle_name", p.middle_name.is_some()),
            ("last_name", true),
            ("birth_date", true),
            ("nationality", p.nationality.is_some()),
            ("email", p.email.is_some()),
            ("phone", p.phone.is_some()),
            ("residential_address", true),
            ("identifying_information", true),
            ("signed_agreement_id", s.signed_agreement_id.is_some()),
            ("account_purpose", s.account_purpose.is_some()),
            ("account_purpose_other", s.account_purpose_other.is_some()),
            ("source_of_funds", s.source_of_funds.is_some()),
            ("employment_status", s.employment_status.is_some()),
            ("most_recent_occupation", s.most_recent_occupation.is_some()),
            (
                "expected_monthly_payments_usd",
                s.expected_monthly_payments_usd.is_some(),
            ),
        ]),
        identity_documents,
        documents: Vec::new(),
    }
}

fn business(s: &BusinessSubmission) -> SubmissionSummary {
    let mut identity_documents = Vec::new();
    for (i, d) in s.identifying_information.iter().enumerate() {
        identity_documents.push(identity(format!("identifying_information[{i}]"), d));
    }
    for (i, p) in s.associated_persons.iter().enumerate() {
        person_documents(
            &format!("associated_persons[{i}]."),
            &p.person,
            &mut identity_documents,
        );
    }
    let documents = s
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| DocumentSummary {
            path: format!("documents[{i}]"),
            purposes: d.purposes.iter().map(|p| p.as_str().to_owned()).collect(),
            file: d.file.kind().media_type().to_owned(),
        })
        .collect();
    SubmissionSummary {
        fields: present(&[
            ("business_legal_name", true),
            ("business_trade_name", true),
            ("business_description", true),
            ("business_type", true),
            ("business_industry", true),
            ("registered_address", true),
            ("physical_address", true),
            ("associated_persons", true),
            ("is_dao", true),
            ("has_material_intermediary_ownership", true),
            ("identifying_information", true),
            ("documents", true),
            ("account_purpose", true),
            ("account_purpose_other", s.account_purpose_other.is_some()),
            ("source_of_funds", true),
            ("email", s.email.is_some()),
            ("phone", s.phone.is_some()),
            ("signed_agreement_id", s.signed_agreement_id.is_some()),
        ]),
        identity_documents,
        documents,
    }
}

impl KycSubmission {
    /// The masked summary that is kept.
    pub fn summary(&self) -> SubmissionSummary {
        match self {
            Self::Individual(s) => individual(s),
            Self::Business(s) => business(s),
        }
    }
}

/// Our id for a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubmissionId(pub Uuid);

impl SubmissionId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }
}

/// Where a submission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubmissionOutcome {
    /// Being sent to the provider.
    Pending,
    /// The provider took it (its verdict arrives later, as KYC status changes).
    Accepted,
    /// The provider refused it as invalid.
    Refused,
    /// The provider could not be reached or did not answer in time.
    Failed,
    /// Left pending by an instance that stopped; no longer blocks a new submission.
    Abandoned,
}

impl SubmissionOutcome {
    /// Every outcome.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Accepted,
        Self::Refused,
        Self::Failed,
        Self::Abandoned,
    ];

    /// The API's and the store's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }
}

impl FromStr for SubmissionOutcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("unknown submission outcome {s:?}"))
    }
}

/// A submission as it is kept and listed: masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycSubmissionRecord {
    /// Our id.
    pub id: SubmissionId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The account that sent it.
    pub account_id: AccountId,
    /// Individual or business.
    pub customer_type: CustomerType,
    /// When it was received, to the millisecond.
    pub submitted_at: DateTime<Utc>,
    /// Which fields and documents it had.
    pub summary: SubmissionSummary,
    /// Where it stands.
    pub outcome: SubmissionOutcome,
    /// The KYC status the provider reported on accepting it.
    pub kyc_status: Option<KycStatus>,
    /// The provider's reference (its customer id).
    pub provider_reference: Option<String>,
    /// The fields the provider refused (paths only, never values or messages).
    pub refused_fields: Vec<String>,
    /// When the outcome was known.
    pub finished_at: Option<DateTime<Utc>>,
}
