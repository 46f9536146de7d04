//! Webhook deliveries in the store: an endpoint's deliveries (its `webhook` outbox jobs,
//! with their events' types) newest first, retrying one, what an attempt needs, and the
//! retention clean-up.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::{AccountId, EndpointId, EventId, WebhookUrl};
use ports::webhooks::{
    DeliveryCursor, DeliveryRecord, DeliveryTarget, Purged, RetryOutcome, SealedSecret,
    StoredSecrets,
};
use ports::{JobId, JobKind, RepositoryError, WebhookDeliveries};

use super::schema::{outbox_jobs, webhook_endpoints, webhook_events};
use super::shapes::{page_size, LimitedTo, ListedAfter};
use super::sql_types::{Id, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

/// A delivery as its account sees it: its job's columns and its event's type.
#[derive(Queryable)]
struct DeliveryRow {
    id: Id,
    endpoint_id: Option<Id>,
    event_id: Option<String>,
    event_type: String,
    status: String,
    attempts: i32,
    last_http_status: Option<i32>,
    last_error: Option<String>,
    next_attempt_at: Timestamp,
    created_at: Timestamp,
    finished_at: Option<Timestamp>,
}

impl DeliveryRow {
    fn into_record(self) -> Result<DeliveryRecord, RepositoryError> {
        let id = self.id.0;
        let invalid = |name: &str, message: String| {
            RepositoryError::Unexpected(anyhow::anyhow!(
                "stored webhook delivery {id} has an invalid {name}: {message}"
            ))
        };
        let (Some(endpoint), Some(event)) = (self.endpoint_id, self.event_id) else {
            return Err(invalid("job", "no endpoint or event".into()));
        };
        let status: ports::DeliveryStatus =
            self.status.parse().map_err(|m| invalid("status", m))?;
        Ok(DeliveryRecord {
            id: JobId(id),
            endpoint_id: EndpointId(endpoint.0),
            event_id: EventId::from_stored(event),
            event_type: self
                .event_type
                .parse()
                .map_err(|m| invalid("event_type", m))?,
            status,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            last_http_status: self.last_http_status.and_then(|s| u16::try_from(s).ok()),
            last_error: self.last_error,
            next_attempt_at: (status == ports::DeliveryStatus::Queued)
                .then_some(self.next_attempt_at.0),
            created_at: self.created_at.0,
            finished_at: self.finished_at.map(|t| t.0),
        })
    }
}

/// The deliveries of the account's endpoint, with their events' types.
#[diesel::dsl::auto_type]
fn deliveries_of(account: Id, endpoint: Id) -> _ {
    outbox_jobs::table
        .inner_join(webhook_events::table)
        .inner_join(webhook_endpoints::table)
        .filter(webhook_endpoints::account_id.eq(account))
        .filter(outbox_jobs::endpoint_id.eq(endpoint))
        .select((
            outbox_jobs::id,
            outbox_jobs::endpoint_id,
            outbox_jobs::event_id,
            webhook_events::event_type,
            outbox_jobs::status,
            outbox_jobs::attempts,
            outbox_jobs::last_http_status,
            outbox_jobs::last_error,
            outbox_jobs::next_attempt_at,
            outbox_jobs::created_at,
            outbox_jobs::finished_at,
        ))
}

impl Store {
    /// See [`ports::WebhookEndpointRepository::list_deliveries`].
    pub(super) async fn deliveries_page(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        after: Option<DeliveryCursor>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, RepositoryError> {
        let (account, endpoint) = (Id(account_id.0), Id(endpoint.0));
        let rows: Vec<DeliveryRow> = self
            .run(move |conn| {
                per_backend!(conn => {
                    let mut query = deliveries_of(account, endpoint).into_boxed();
                    // On SQLite, times and UUIDs are fixed-width text: text order is
                    // the order PostgreSQL uses for its native types. The cursor is one
                    // row comparison and the page size a literal, as for customers (see
                    // `shapes`): a page reads its own rows off `outbox_jobs_endpoint_idx`.
                    if let Some(after) = after {
                        query = query.filter(ListedAfter::deliveries(
                            Timestamp(after.created_at),
                            Id(after.id.0),
                        ));
                    }
                    let page = query
                        .order((outbox_jobs::created_at.desc(), outbox_jobs::id.desc()));
                    LimitedTo::new(page, page_size(limit)).load(conn)
                })
            })
            .await?;
        rows.into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(DeliveryRow::into_record)
            .collect()
    }

    /// See [`ports::WebhookEndpointRepository::find_delivery`].
    pub(super) async fn delivery(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        id: JobId,
    ) -> Result<Option<DeliveryRecord>, RepositoryError> {
        let query =
            deliveries_of(Id(account_id.0), Id(endpoint.0)).filter(outbox_jobs::id.eq(Id(id.0)));
        let row: Option<DeliveryRow> = self
            .run(move |conn| per_backend!(conn => query.first(conn).optional()))
            .await?;
        row.map(DeliveryRow::into_record).transpose()
    }

    /// See [`ports::WebhookEndpointRepository::retry_delivery`].
    pub(super) async fn requeue_delivery(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        id: JobId,
        at: DateTime<Utc>,
    ) -> Result<RetryOutcome, RepositoryError> {
        let (account, endpoint, id, now) =
            (Id(account_id.0), Id(endpoint.0), Id(id.0), Timestamp(at));
        let row: Result<DeliveryRow, RetryOutcome> = self
            .run(move |conn| {
                let job = outbox_jobs::table
                    .filter(outbox_jobs::id.eq(id))
                    .filter(outbox_jobs::endpoint_id.eq(endpoint));
                // A job whose lease has not ended is being attempted: leave it to finish.
                let idle = job.filter(
                    outbox_jobs::locked_until
                        .is_null()
                        .or(outbox_jobs::locked_until.lt(now)),
                );
                let requeue = diesel::update(idle).set((
                    outbox_jobs::status.eq("queued"),
                    outbox_jobs::next_attempt_at.eq(now),
                    outbox_jobs::attempts.eq(0),
                    outbox_jobs::locked_until.eq(None::<Timestamp>),
                    outbox_jobs::finished_at.eq(None::<Timestamp>),
                ));
                let mine = webhook_endpoints::table
                    .filter(webhook_endpoints::account_id.eq(account))
                    .filter(webhook_endpoints::id.eq(endpoint));
                per_backend!(conn => conn.write_transaction(|conn| {
                    if !diesel::select(diesel::dsl::exists(mine)).get_result::<bool>(conn)? {
                        return Ok(Err(RetryOutcome::NotFound));
                    }
                    if requeue.execute(conn)? == 0 {
                        let exists = diesel::select(diesel::dsl::exists(job)).get_result(conn)?;
                        return Ok(Err(if exists {
                            RetryOutcome::InFlight
                        } else {
                            RetryOutcome::NotFound
                        }));
                    }
                    deliveries_of(account, endpoint)
                        .filter(outbox_jobs::id.eq(id))
                        .first(conn)
                        .map(Ok)
                }))
            })
            .await?;
        match row {
            Ok(row) => Ok(RetryOutcome::Queued(row.into_record()?)),
            Err(outcome) => Ok(outcome),
        }
    }
}

#[async_trait]
impl WebhookDeliveries for Store {
    #[tracing::instrument(name = "store.delivery_target", skip_all, fields(db.backend = self.backend(), endpoint_id = %endpoint, event_id = %event))]
    async fn delivery_target(
        &self,
        endpoint: EndpointId,
        event: &EventId,
    ) -> Result<Option<DeliveryTarget>, RepositoryError> {
        type EndpointParts = (String, bool, String, Option<String>, Option<Timestamp>);
        let endpoint_query = webhook_endpoints::table.find(Id(endpoint.0)).select((
            webhook_endpoints::url,
            webhook_endpoints::enabled,
            webhook_endpoints::secret_ciphertext,
            webhook_endpoints::previous_secret_ciphertext,
            webhook_endpoints::previous_secret_expires_at,
        ));
        let body_query = webhook_events::table
            .find(event.as_str().to_owned())
            .select(webhook_events::body);
        let found: Option<(EndpointParts, String)> = self
            .run(move |conn| {
                per_backend!(conn => {
                    let Some(parts) = endpoint_query.first::<EndpointParts>(conn).optional()? else {
                        return Ok(None);
                    };
                    Ok(body_query.first::<String>(conn).optional()?.map(|body| (parts, body)))
                })
            })
            .await?;
        let Some(((url, enabled, current, previous, until), body)) = found else {
            return Ok(None);
        };
        let url = WebhookUrl::from_stored(&url).map_err(|m| {
            RepositoryError::Unexpected(anyhow::anyhow!(
                "stored webhook endpoint {endpoint} has an invalid url: {m}"
            ))
        })?;
        Ok(Some(DeliveryTarget {
            url,
            enabled,
            secrets: StoredSecrets {
                current: SealedSecret(current),
                previous: previous
                    .zip(until)
                    .map(|(sealed, until)| (SealedSecret(sealed), until.0)),
            },
            body,
        }))
    }

    #[tracing::instrument(name = "store.purge_deliveries", skip_all, fields(db.backend = self.backend()))]
    async fn purge_finished(&self, before: DateTime<Utc>) -> Result<Purged, RepositoryError> {
        let before = Timestamp(before);
        let finished = diesel::delete(
            outbox_jobs::table
                .filter(outbox_jobs::kind.eq(JobKind::Webhook.as_str()))
                .filter(outbox_jobs::status.eq_any(["delivered", "failed"]))
                .filter(outbox_jobs::finished_at.lt(before)),
        );
        let orphans = diesel::delete(
            webhook_events::table
                .filter(webhook_events::created_at.lt(before))
                .filter(diesel::dsl::not(diesel::dsl::exists(
                    outbox_jobs::table
                        .filter(outbox_jobs::event_id.eq(webhook_events::id.nullable())),
                ))),
        );
        let (deliveries, events) = self
            .run(move |conn| {
                per_backend!(conn => conn.write_transaction(|conn| {
                    let deliveries = finished.execute(conn)?;
                    let events = orphans.execute(conn)?;
                    Ok((deliveries, events))
                }))
            })
            .await?;
        Ok(Purged {
            deliveries: u64::try_from(deliveries).unwrap_or(0),
            events: u64::try_from(events).unwrap_or(0),
        })
    }
}
