//! One row type per table, for both backends, and the mapping between rows and domain
//! values. Rows are checked against both backends at compile time; a stored row whose
//! values lost their shape is reported, not passed on. Values were fully validated when
//! they were accepted, and only this service writes them, so reading one back checks its
//! cheap shape (`from_stored`), not the whole rule again: re-validating every phone number
//! of every page with libphonenumber used to cost more than the query.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::{
    Account, AccountId, AccountName, CountryCode, Customer, CustomerEmail, CustomerId,
    CustomerName, KycLink, KycOrder, KycState, PhoneNumber, RejectionReason,
};
use ports::{KycMailJob, NewCustomerRecord, RepositoryError};
use serde::{Deserialize, Serialize};

use super::schema::{accounts, customers, kyc_mail_jobs};
use super::sql_types::{Id, Json, Timestamp};

/// A customer row.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = customers)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(super) struct CustomerRow {
    pub id: Id,
    pub account_id: Id,
    pub full_name: String,
    pub email: String,
    pub phone: String,
    pub country: String,
    pub customer_type: String,
    pub send_kyc_mail: bool,
    pub kyc_provider: String,
    pub kyc_link_id: Option<String>,
    pub kyc_link: String,
    pub tos_link: String,
    pub kyc_status: String,
    pub tos_status: String,
    pub rejection_reasons: Json,
    pub provider_customer_id: Option<String>,
    pub persona_inquiry_type: Option<String>,
    pub created_at: Timestamp,
    pub kyc_mail_status: String,
    pub kyc_sequence: Option<i64>,
    pub kyc_as_of: Option<Timestamp>,
    pub last_synced_at: Option<Timestamp>,
    pub version: i64,
    pub updated_at: Option<Timestamp>,
}

/// How a rejection reason is kept in the `rejection_reasons` JSON array.
#[derive(Serialize, Deserialize)]
struct StoredRejectionReason {
    reason: String,
    developer_reason: Option<String>,
    created_at: DateTime<Utc>,
}

impl CustomerRow {
    /// Rebuilds the domain customer, checking each field's stored shape.
    pub fn into_domain(self) -> Result<Customer, RepositoryError> {
        let id = self.id.0;
        let invalid = |name: &str, message: String| {
            RepositoryError::Unexpected(anyhow::anyhow!(
                "stored customer {id} has an invalid {name}: {message}"
            ))
        };
        let rejection_reasons: Vec<StoredRejectionReason> =
            serde_json::from_value(self.rejection_reasons.0)
                .map_err(|e| invalid("rejection_reasons", e.to_string()))?;
        let kyc_state = KycState {
            kyc_status: self
                .kyc_status
                .parse()
                .map_err(|m| invalid("kyc_status", m))?,
            tos_status: self
                .tos_status
                .parse()
                .map_err(|m| invalid("tos_status", m))?,
            rejection_reasons: rejection_reasons
                .into_iter()
                .map(|r| RejectionReason {
                    reason: r.reason,
                    developer_reason: r.developer_reason,
                    created_at: r.created_at,
                })
                .collect(),
        };
        Ok(Customer {
            id: CustomerId(id),
            account_id: AccountId(self.account_id.0),
            name: CustomerName::from_stored(self.full_name).map_err(|m| invalid("full_name", m))?,
            email: CustomerEmail::from_stored(self.email).map_err(|m| invalid("email", m))?,
            phone: PhoneNumber::from_stored(self.phone).map_err(|m| invalid("phone", m))?,
            country: CountryCode::parse(&self.country).map_err(|m| invalid("country", m))?,
            customer_type: self
                .customer_type
                .parse()
                .map_err(|m| invalid("customer_type", m))?,
            send_kyc_mail: self.send_kyc_mail,
            kyc_mail_status: self
                .kyc_mail_status
                .parse()
                .map_err(|m| invalid("kyc_mail_status", m))?,
            kyc_provider: self.kyc_provider,
            kyc: KycLink {
                provider_link_id: self.kyc_link_id,
                kyc_link: self.kyc_link,
                tos_link: self.tos_link,
                provider_customer_id: self.provider_customer_id,
                persona_inquiry_type: self.persona_inquiry_type,
            },
            kyc_state,
            kyc_as_of: KycOrder {
                sequence: self.kyc_sequence,
                at: self.kyc_as_of.map_or(self.created_at.0, |t| t.0),
            },
            last_synced_at: self.last_synced_at.map(|t| t.0),
            version: self.version,
            created_at: self.created_at.0,
            updated_at: self.updated_at.map(|t| t.0),
        })
    }

    /// Splits a domain customer into column values.
    pub fn from_domain(c: &Customer) -> Self {
        Self {
            id: Id(c.id.0),
            account_id: Id(c.account_id.0),
            full_name: c.name.as_str().to_owned(),
            email: c.email.as_str().to_owned(),
            phone: c.phone.as_str().to_owned(),
            country: c.country.alpha3().to_owned(),
            customer_type: c.customer_type.as_str().to_owned(),
            send_kyc_mail: c.send_kyc_mail,
            kyc_provider: c.kyc_provider.clone(),
            kyc_link_id: c.kyc.provider_link_id.clone(),
            kyc_link: c.kyc.kyc_link.clone(),
            tos_link: c.kyc.tos_link.clone(),
            kyc_status: c.kyc_state.kyc_status.as_str().to_owned(),
            tos_status: c.kyc_state.tos_status.as_str().to_owned(),
            rejection_reasons: Json(rejection_reasons_json(&c.kyc_state.rejection_reasons)),
            provider_customer_id: c.kyc.provider_customer_id.clone(),
            persona_inquiry_type: c.kyc.persona_inquiry_type.clone(),
            created_at: Timestamp(c.created_at),
            kyc_mail_status: c.kyc_mail_status.as_str().to_owned(),
            kyc_sequence: c.kyc_as_of.sequence,
            kyc_as_of: Some(Timestamp(c.kyc_as_of.at)),
            last_synced_at: c.last_synced_at.map(Timestamp),
            version: c.version,
            updated_at: c.updated_at.map(Timestamp),
        }
    }
}

/// The stored JSON array of rejection reasons.
pub(super) fn rejection_reasons_json(reasons: &[RejectionReason]) -> serde_json::Value {
    serde_json::Value::Array(
        reasons
            .iter()
            .map(|r| {
                serde_json::json!({
                    "reason": r.reason,
                    "developer_reason": r.developer_reason,
                    "created_at": r.created_at,
                })
            })
            .collect(),
    )
}

/// A new outbox job; `status` and `attempts` take their column defaults.
#[derive(Insertable)]
#[diesel(table_name = kyc_mail_jobs)]
pub(super) struct NewMailJobRow {
    pub customer_id: Id,
    pub message_id: String,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
}

/// What a registration writes: the customer row and, when queued, its mail job.
pub(super) fn registration_rows(
    record: &NewCustomerRecord,
) -> (CustomerRow, Option<NewMailJobRow>) {
    let customer = &record.customer;
    let job = record.kyc_mail.as_ref().map(|mail| NewMailJobRow {
        customer_id: Id(customer.id.0),
        message_id: mail.message_id.clone(),
        next_attempt_at: Timestamp(mail.due_at),
        created_at: Timestamp(customer.created_at),
    });
    (CustomerRow::from_domain(customer), job)
}

/// A claimed outbox job joined with what its mail needs from the customer.
#[derive(Queryable, Selectable)]
#[diesel(table_name = kyc_mail_jobs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(super) struct ClaimedJobRow {
    customer_id: Id,
    message_id: String,
    attempts: i32,
    #[diesel(select_expression = customers::email)]
    email: String,
    #[diesel(select_expression = customers::full_name)]
    full_name: String,
    #[diesel(select_expression = customers::kyc_link)]
    kyc_link: String,
    #[diesel(select_expression = customers::tos_link)]
    tos_link: String,
}

impl ClaimedJobRow {
    /// The job as the mail worker sees it.
    pub fn into_job(self) -> KycMailJob {
        KycMailJob {
            customer_id: CustomerId(self.customer_id.0),
            message_id: self.message_id,
            attempt: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            to: self.email,
            full_name: self.full_name,
            kyc_link: self.kyc_link,
            tos_link: self.tos_link,
        }
    }
}

/// An account row.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(super) struct AccountRow {
    pub id: Id,
    pub name: String,
    pub secret_hash: String,
    pub disabled: bool,
    pub created_at: Timestamp,
}

impl AccountRow {
    /// Rebuilds the domain account, re-validating its name.
    pub fn into_domain(self) -> Result<Account, RepositoryError> {
        Ok(Account {
            id: AccountId(self.id.0),
            name: AccountName::parse(&self.name).map_err(|m| {
                RepositoryError::Unexpected(anyhow::anyhow!(
                    "stored account {} has an invalid name: {m}",
                    self.id.0
                ))
            })?,
            secret_hash: self.secret_hash,
            disabled: self.disabled,
            created_at: self.created_at.0,
        })
    }

    /// Splits a domain account into column values.
    pub fn from_domain(account: &Account) -> Self {
        Self {
            id: Id(account.id.0),
            name: account.name.as_str().to_owned(),
            secret_hash: account.secret_hash.clone(),
            disabled: account.disabled,
            created_at: Timestamp(account.created_at),
        }
    }
}
