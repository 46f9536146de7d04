//! Webhook endpoints in the store: registration under the per-account limit (counted and
//! inserted in one transaction that holds the account's row, so concurrent registrations
//! cannot pass it; with its idempotency key's outcome, when it has one), reads, partial changes, deletion (which takes the endpoint's deliveries
//! with it) and secret rotation — all scoped to one account.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::{
    AccountId, EndpointDescription, EndpointId, EventFilter, WebhookEndpoint, WebhookUrl,
};
use ports::webhooks::{
    DeliveryCursor, DeliveryRecord, EndpointChange, InsertEndpointError, RetryOutcome, SealedSecret,
};
use ports::{IdempotencyCompletion, JobId, RepositoryError};

use super::events::event_filter;
use super::idempotency::{complete_key, key_no_longer_held};
use super::schema::webhook_endpoints;
use super::sql_types::{Id, Json, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

/// An endpoint row, without its secrets.
#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(super) struct EndpointRow {
    id: Id,
    account_id: Id,
    url: String,
    description: String,
    events: Json,
    enabled: bool,
    created_at: Timestamp,
    updated_at: Option<Timestamp>,
}

impl EndpointRow {
    /// Rebuilds the domain endpoint, re-validating what the database cannot check.
    pub(super) fn into_domain(self) -> Result<WebhookEndpoint, RepositoryError> {
        let id = self.id.0;
        let invalid = |name: &str, message: String| {
            RepositoryError::Unexpected(anyhow::anyhow!(
                "stored webhook endpoint {id} has an invalid {name}: {message}"
            ))
        };
        Ok(WebhookEndpoint {
            id: EndpointId(id),
            account_id: AccountId(self.account_id.0),
            url: WebhookUrl::from_stored(&self.url).map_err(|m| invalid("url", m))?,
            description: EndpointDescription::parse(&self.description)
                .map_err(|m| invalid("description", m))?,
            filter: event_filter(&self.events).map_err(|e| invalid("events", e.to_string()))?,
            enabled: self.enabled,
            created_at: self.created_at.0,
            updated_at: self.updated_at.map(|t| t.0),
        })
    }
}

/// The stored spelling of a filter: a JSON array of type names (empty: every type).
pub(super) fn filter_json(filter: &EventFilter) -> Json {
    Json(serde_json::Value::Array(
        filter
            .types()
            .iter()
            .map(|t| serde_json::Value::from(t.as_str()))
            .collect(),
    ))
}

/// A new endpoint row; no previous secret yet.
#[derive(Insertable)]
#[diesel(table_name = webhook_endpoints, treat_none_as_default_value = false)]
struct NewEndpointRow {
    id: Id,
    account_id: Id,
    url: String,
    description: String,
    events: Json,
    enabled: bool,
    secret_ciphertext: String,
    created_at: Timestamp,
    updated_at: Option<Timestamp>,
}

/// The columns a change sets; `None` leaves a column as it is.
#[derive(AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
struct EndpointChangeRow {
    url: Option<String>,
    description: Option<String>,
    events: Option<Json>,
    enabled: Option<bool>,
    updated_at: Timestamp,
}

#[async_trait]
impl ports::WebhookEndpointRepository for Store {
    #[tracing::instrument(name = "store.insert_endpoint", skip_all, fields(db.backend = self.backend(), endpoint_id = %endpoint.id))]
    async fn insert_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        secret: &SealedSecret,
        limit: u32,
        idempotency: Option<IdempotencyCompletion>,
    ) -> Result<(), InsertEndpointError> {
        let account = Id(endpoint.account_id.0);
        let row = NewEndpointRow {
            id: Id(endpoint.id.0),
            account_id: account,
            url: endpoint.url.as_str().to_owned(),
            description: endpoint.description.as_str().to_owned(),
            events: filter_json(&endpoint.filter),
            enabled: endpoint.enabled,
            secret_ciphertext: secret.0.clone(),
            created_at: Timestamp(endpoint.created_at),
            updated_at: endpoint.updated_at.map(Timestamp),
        };
        let complete = idempotency.as_ref().map(complete_key);
        let inserted = self
            .run(move |conn| {
                per_backend!(conn => conn.write_transaction(|conn| {
                    conn.lock_account(account)?;
                    let existing: i64 = webhook_endpoints::table
                        .filter(webhook_endpoints::account_id.eq(account))
                        .count()
                        .get_result(conn)?;
                    if existing >= i64::from(limit) {
                        return Ok(false);
                    }
                    diesel::insert_into(webhook_endpoints::table)
                        .values(&row)
                        .execute(conn)?;
                    if let Some(complete) = complete {
                        if complete.execute(conn)? != 1 {
                            return Err(key_no_longer_held());
                        }
                    }
                    Ok(true)
                }))
            })
            .await?;
        if inserted {
            Ok(())
        } else {
            Err(InsertEndpointError::LimitReached)
        }
    }

    #[tracing::instrument(name = "store.find_endpoint", skip_all, fields(db.backend = self.backend(), account_id = %account_id, endpoint_id = %id))]
    async fn find_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> Result<Option<WebhookEndpoint>, RepositoryError> {
        let query = webhook_endpoints::table
            .filter(webhook_endpoints::account_id.eq(Id(account_id.0)))
            .filter(webhook_endpoints::id.eq(Id(id.0)));
        let row: Option<EndpointRow> = self
            .run(move |conn| {
                per_backend!(conn => query.select(EndpointRow::as_select()).first(conn).optional())
            })
            .await?;
        row.map(EndpointRow::into_domain).transpose()
    }

    #[tracing::instrument(name = "store.list_endpoints", skip_all, fields(db.backend = self.backend(), account_id = %account_id))]
    async fn list_endpoints(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<WebhookEndpoint>, RepositoryError> {
        let query = webhook_endpoints::table
            .filter(webhook_endpoints::account_id.eq(Id(account_id.0)))
            .order((
                webhook_endpoints::created_at.asc(),
                webhook_endpoints::id.asc(),
            ));
        let rows: Vec<EndpointRow> = self
            .run(
                move |conn| per_backend!(conn => query.select(EndpointRow::as_select()).load(conn)),
            )
            .await?;
        rows.into_iter().map(EndpointRow::into_domain).collect()
    }

    #[tracing::instrument(name = "store.update_endpoint", skip_all, fields(db.backend = self.backend(), account_id = %account_id, endpoint_id = %id))]
    async fn update_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
        change: &EndpointChange,
        at: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, RepositoryError> {
        let columns = EndpointChangeRow {
            url: change.url.as_ref().map(|u| u.as_str().to_owned()),
            description: change.description.as_ref().map(|d| d.as_str().to_owned()),
            events: change.filter.as_ref().map(filter_json),
            enabled: change.enabled,
            updated_at: Timestamp(at),
        };
        let (account, id) = (Id(account_id.0), Id(id.0));
        let row: Option<EndpointRow> = self
            .run(move |conn| {
                let mine = webhook_endpoints::table
                    .filter(webhook_endpoints::account_id.eq(account))
                    .filter(webhook_endpoints::id.eq(id));
                per_backend!(conn => conn.write_transaction(|conn| {
                    if diesel::update(mine).set(&columns).execute(conn)? == 0 {
                        return Ok(None);
                    }
                    mine.select(EndpointRow::as_select()).first(conn).optional()
                }))
            })
            .await?;
        row.map(EndpointRow::into_domain).transpose()
    }

    #[tracing::instrument(name = "store.delete_endpoint", skip_all, fields(db.backend = self.backend(), account_id = %account_id, endpoint_id = %id))]
    async fn delete_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> Result<bool, RepositoryError> {
        let mine = webhook_endpoints::table
            .filter(webhook_endpoints::account_id.eq(Id(account_id.0)))
            .filter(webhook_endpoints::id.eq(Id(id.0)));
        // The deliveries go with it (ON DELETE CASCADE); its events stay for the account's
        // other endpoints, and the retention job removes those no delivery refers to.
        let deleted = self
            .run(move |conn| per_backend!(conn => diesel::delete(mine).execute(conn)))
            .await?;
        Ok(deleted > 0)
    }

    #[tracing::instrument(name = "store.rotate_secret", skip_all, fields(db.backend = self.backend(), account_id = %account_id, endpoint_id = %id))]
    async fn rotate_secret(
        &self,
        account_id: AccountId,
        id: EndpointId,
        secret: &SealedSecret,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, RepositoryError> {
        let (account, id) = (Id(account_id.0), Id(id.0));
        let secret = secret.0.clone();
        let row: Option<EndpointRow> = self
            .run(move |conn| {
                let mine = webhook_endpoints::table
                    .filter(webhook_endpoints::account_id.eq(account))
                    .filter(webhook_endpoints::id.eq(id));
                // In SQL, every right-hand side of a SET sees the row as it was: the
                // current secret becomes the previous one as the new one takes its place.
                let rotate = diesel::update(mine).set((
                    webhook_endpoints::previous_secret_ciphertext
                        .eq(webhook_endpoints::secret_ciphertext.nullable()),
                    webhook_endpoints::previous_secret_expires_at
                        .eq(Some(Timestamp(previous_until))),
                    webhook_endpoints::secret_ciphertext.eq(secret),
                    webhook_endpoints::updated_at.eq(Some(Timestamp(at))),
                ));
                per_backend!(conn => conn.write_transaction(|conn| {
                    if rotate.execute(conn)? == 0 {
                        return Ok(None);
                    }
                    mine.select(EndpointRow::as_select()).first(conn).optional()
                }))
            })
            .await?;
        row.map(EndpointRow::into_domain).transpose()
    }
    #[tracing::instrument(name = "store.list_deliveries", skip_all, fields(db.backend = self.backend(), account_id = %account_id, endpoint_id = %endpoint))]
    async fn list_deliveries(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        after: Option<DeliveryCursor>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, RepositoryError> {
        self.deliveries_page(account_id, endpoint, after, limit)
            .await
    }

    #[tracing::instrument(name = "store.find_delivery", skip_all, fields(db.backend = self.backend(), account_id = %account_id, endpoint_id = %endpoint, delivery_id = %id))]
    async fn find_delivery(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        id: JobId,
    ) -> Result<Option<DeliveryRecord>, RepositoryError> {
        self.delivery(account_id, endpoint, id).await
    }

    #[tracing::instrument(name = "store.retry_delivery", skip_all, fields(db.backend = self.backend(), account_id = %account_id, endpoint_id = %endpoint, delivery_id = %id))]
    async fn retry_delivery(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        id: JobId,
        at: DateTime<Utc>,
    ) -> Result<RetryOutcome, RepositoryError> {
        self.requeue_delivery(account_id, endpoint, id, at).await
    }
}
