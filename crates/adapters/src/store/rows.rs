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
use domain::{EndpointId, EventId};
use ports::{JobId, JobKind, JobWork, NewEvent, OutboxJob, QueuedKycMail, RepositoryError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::schema::{accounts, customers, outbox_jobs, webhook_events};
use super::sql_types::{Id, Json, Timestamp};

/// A customer row. Inserted with every column bound, `None` as NULL (no nullable column
/// has another default): Diesel's `DEFAULT` for `None` changes the SQL with the values and
/// so kept the insert from being prepared once per connection and reused.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = customers, treat_none_as_default_value = false)]
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
            country: CountryCode::from_stored(&self.country).map_err(|m| invalid("country", m))?,
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
#[diesel(table_name = outbox_jobs, treat_none_as_default_value = false)]
pub(super) struct NewJobRow {
    pub id: Id,
    pub kind: &'static str,
    pub customer_id: Option<Id>,
    pub message_id: Option<String>,
    pub endpoint_id: Option<Id>,
    pub event_id: Option<String>,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
}

impl NewJobRow {
    /// The KYC mail job a registration queues.
    pub fn kyc_mail(customer: CustomerId, mail: &QueuedKycMail, created_at: DateTime<Utc>) -> Self {
        Self {
            id: Id(Uuid::new_v4()),
            kind: JobKind::KycMail.as_str(),
            customer_id: Some(Id(customer.0)),
            message_id: Some(mail.message_id.clone()),
            endpoint_id: None,
            event_id: None,
            next_attempt_at: Timestamp(mail.due_at),
            created_at: Timestamp(created_at),
        }
    }

    /// A delivery of `event` to `endpoint`, due at once.
    pub fn delivery(event: &NewEvent, endpoint: Id) -> Self {
        Self {
            id: Id(Uuid::new_v4()),
            kind: JobKind::Webhook.as_str(),
            customer_id: None,
            message_id: None,
            endpoint_id: Some(endpoint),
            event_id: Some(event.id.as_str().to_owned()),
            next_attempt_at: Timestamp(event.created_at),
            created_at: Timestamp(event.created_at),
        }
    }
}

/// A claimed job.
#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox_jobs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(super) struct ClaimedJobRow {
    id: Id,
    attempts: i32,
    customer_id: Option<Id>,
    message_id: Option<String>,
    endpoint_id: Option<Id>,
    event_id: Option<String>,
}

impl ClaimedJobRow {
    /// The job as the engine sees it.
    pub fn into_job(self) -> Result<OutboxJob, RepositoryError> {
        let work = match (
            self.customer_id,
            self.message_id,
            self.endpoint_id,
            self.event_id,
        ) {
            (Some(customer), Some(message_id), None, None) => JobWork::KycMail {
                customer_id: CustomerId(customer.0),
                message_id,
            },
            (None, None, Some(endpoint), Some(event)) => JobWork::Webhook {
                endpoint_id: EndpointId(endpoint.0),
                event_id: EventId::from_stored(event),
            },
            _ => {
                return Err(RepositoryError::Unexpected(anyhow::anyhow!(
                    "outbox job {} names neither a mail nor a delivery",
                    self.id.0
                )))
            }
        };
        Ok(OutboxJob {
            id: JobId(self.id.0),
            attempt: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            work,
        })
    }
}

/// A new event row.
#[derive(Insertable)]
#[diesel(table_name = webhook_events, treat_none_as_default_value = false)]
pub(super) struct NewEventRow<'a> {
    pub id: &'a str,
    pub account_id: Id,
    pub customer_id: Option<Id>,
    pub event_type: &'static str,
    pub body: &'a str,
    pub created_at: Timestamp,
}

impl<'a> NewEventRow<'a> {
    /// The row of `event`.
    pub fn of(event: &'a NewEvent) -> Self {
        Self {
            id: event.id.as_str(),
            account_id: Id(event.account_id.0),
            customer_id: event.customer_id.map(|c| Id(c.0)),
            event_type: event.event_type.as_str(),
            body: &event.body,
            created_at: Timestamp(event.created_at),
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
