//! A submission's row: the masked summary kept as JSON columns, and its mapping to and from
//! the domain record.

use diesel::prelude::*;
use domain::submission::{DocumentSummary, IdentitySummary};
use domain::{
    AccountId, CustomerId, KycSubmissionRecord, SubmissionId, SubmissionOutcome, SubmissionSummary,
};
use ports::{RepositoryError, SubmissionClaim};
use serde::{Deserialize, Serialize};

use crate::store::schema::kyc_submissions;
use crate::store::sql_types::{Id, Json, Timestamp};

/// A submission row. As a changeset (a submission claimed again) it rewrites every column
/// but the id; the customer and the account it writes are the row's own (the update is
/// filtered by them).
#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = kyc_submissions)]
#[diesel(treat_none_as_null = true)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(super) struct SubmissionRow {
    pub(super) id: Id,
    customer_id: Id,
    account_id: Id,
    customer_type: String,
    submitted_at: Timestamp,
    fields: Json,
    identity_documents: Json,
    documents: Json,
    outcome: String,
    kyc_status: Option<String>,
    provider_reference: Option<String>,
    refused_fields: Json,
    finished_at: Option<Timestamp>,
}

/// How an identity document is kept in `identity_documents`.
#[derive(Serialize, Deserialize)]
struct StoredIdentity {
    path: String,
    #[serde(rename = "type")]
    id_type: String,
    number_last_four: Option<String>,
    image_front: Option<String>,
    image_back: Option<String>,
}

/// How a business document is kept in `documents`.
#[derive(Serialize, Deserialize)]
struct StoredDocument {
    path: String,
    purposes: Vec<String>,
    file: String,
}

pub(super) fn json<T: Serialize>(value: &T) -> Json {
    // Plain structs of strings always serialise.
    Json(serde_json::to_value(value).unwrap_or(serde_json::Value::Array(Vec::new())))
}

impl SubmissionRow {
    pub(super) fn pending(claim: &SubmissionClaim) -> Self {
        let summary = &claim.summary;
        let identities: Vec<StoredIdentity> = summary
            .identity_documents
            .iter()
            .map(|d| StoredIdentity {
                path: d.path.clone(),
                id_type: d.id_type.clone(),
                number_last_four: d.number_last_four.clone(),
                image_front: d.image_front.clone(),
                image_back: d.image_back.clone(),
            })
            .collect();
        let documents: Vec<StoredDocument> = summary
            .documents
            .iter()
            .map(|d| StoredDocument {
                path: d.path.clone(),
                purposes: d.purposes.clone(),
                file: d.file.clone(),
            })
            .collect();
        Self {
            id: Id(claim.id.0),
            customer_id: Id(claim.customer_id.0),
            account_id: Id(claim.account_id.0),
            customer_type: claim.customer_type.as_str().to_owned(),
            submitted_at: Timestamp(claim.submitted_at),
            fields: json(&summary.fields),
            identity_documents: json(&identities),
            documents: json(&documents),
            outcome: SubmissionOutcome::Pending.as_str().to_owned(),
            kyc_status: None,
            provider_reference: None,
            refused_fields: json(&Vec::<String>::new()),
            finished_at: None,
        }
    }

    pub(super) fn into_domain(self) -> Result<KycSubmissionRecord, RepositoryError> {
        let id = self.id.0;
        let invalid = |name: &str, message: String| {
            RepositoryError::Unexpected(anyhow::anyhow!(
                "stored KYC submission {id} has an invalid {name}: {message}"
            ))
        };
        let identities: Vec<StoredIdentity> =
            read(id, "identity_documents", self.identity_documents.0)?;
        let documents: Vec<StoredDocument> = read(id, "documents", self.documents.0)?;
        Ok(KycSubmissionRecord {
            id: SubmissionId(id),
            customer_id: CustomerId(self.customer_id.0),
            account_id: AccountId(self.account_id.0),
            customer_type: self
                .customer_type
                .parse()
                .map_err(|m| invalid("customer_type", m))?,
            submitted_at: self.submitted_at.0,
            summary: SubmissionSummary {
                fields: read(id, "fields", self.fields.0)?,
                identity_documents: identities
                    .into_iter()
                    .map(|d| IdentitySummary {
                        path: d.path,
                        id_type: d.id_type,
                        number_last_four: d.number_last_four,
                        image_front: d.image_front,
                        image_back: d.image_back,
                    })
                    .collect(),
                documents: documents
                    .into_iter()
                    .map(|d| DocumentSummary {
                        path: d.path,
                        purposes: d.purposes,
                        file: d.file,
                    })
                    .collect(),
            },
            outcome: self.outcome.parse().map_err(|m| invalid("outcome", m))?,
            kyc_status: self
                .kyc_status
                .map(|s| s.parse())
                .transpose()
                .map_err(|m| invalid("kyc_status", m))?,
            provider_reference: self.provider_reference,
            refused_fields: read(id, "refused_fields", self.refused_fields.0)?,
            finished_at: self.finished_at.map(|t| t.0),
        })
    }
}

/// A JSON column read as `T`.
fn read<T: serde::de::DeserializeOwned>(
    id: uuid::Uuid,
    name: &str,
    value: serde_json::Value,
) -> Result<T, RepositoryError> {
    serde_json::from_value(value).map_err(|e| {
        RepositoryError::Unexpected(anyhow::anyhow!(
            "stored KYC submission {id} has an invalid {name}: {e}"
        ))
    })
}
