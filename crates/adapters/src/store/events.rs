//! Writing outgoing events inside another write's transaction: each event is kept, with
//! one delivery job per enabled endpoint of its account whose filter accepts its type. An
//! event no endpoint receives is not kept (endpoints registered later never receive past
//! events either way, so keeping it would only grow the table).

use diesel::result::Error as DieselError;
use domain::{EventFilter, WebhookEventType};

use super::sql_types::Json;

/// An endpoint's stored filter: a JSON array of event type names (empty: every type).
pub(super) fn event_filter(stored: &Json) -> Result<EventFilter, DieselError> {
    let names: Vec<String> = serde_json::from_value(stored.0.clone())
        .map_err(|e| DieselError::DeserializationError(e.into()))?;
    names
        .iter()
        .map(|name| name.parse::<WebhookEventType>())
        .collect::<Result<Vec<_>, _>>()
        .map(EventFilter::new)
        .map_err(|e| DieselError::DeserializationError(e.into()))
}

/// Writes `$events` (an iterator of `&NewEvent`) and their deliveries on `$conn`, inside
/// the caller's transaction. A macro rather than a function so that the body, like every
/// query of the store, is written once and compiled for each concrete connection type.
macro_rules! write_events {
    ($conn:ident, $events:expr) => {{
        use diesel::prelude::*;
        use $crate::store::rows::{NewEventRow, NewJobRow};
        use $crate::store::schema::{outbox_jobs, webhook_endpoints, webhook_events};
        use $crate::store::sql_types::{Id, Json};
        let mut written: diesel::QueryResult<()> = Ok(());
        for event in $events {
            let endpoints: Vec<(Id, Json)> = match webhook_endpoints::table
                .filter(webhook_endpoints::account_id.eq(Id(event.account_id.0)))
                .filter(webhook_endpoints::enabled.eq(true))
                .select((webhook_endpoints::id, webhook_endpoints::events))
                .load($conn)
            {
                Ok(endpoints) => endpoints,
                Err(e) => {
                    written = Err(e);
                    break;
                }
            };
            let mut deliveries = Vec::new();
            for (endpoint, filter) in &endpoints {
                match $crate::store::events::event_filter(filter) {
                    Ok(filter) if filter.accepts(event.event_type) => {
                        deliveries.push(NewJobRow::delivery(event, *endpoint))
                    }
                    Ok(_) => {}
                    Err(e) => {
                        written = Err(e);
                        break;
                    }
                }
            }
            if written.is_err() {
                break;
            }
            if deliveries.is_empty() {
                continue;
            }
            written = diesel::insert_into(webhook_events::table)
                .values(NewEventRow::of(event))
                .execute($conn)
                .and_then(|_| {
                    diesel::insert_into(outbox_jobs::table)
                        .values(&deliveries)
                        .execute($conn)
                })
                .map(drop);
            if written.is_err() {
                break;
            }
        }
        written
    }};
}
pub(crate) use write_events;

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored spelling of a filter.
    fn filter_json(filter: &EventFilter) -> Json {
        Json(serde_json::Value::Array(
            filter
                .types()
                .iter()
                .map(|t| serde_json::Value::from(t.as_str()))
                .collect(),
        ))
    }

    #[test]
    fn a_stored_filter_reads_back_as_written() {
        let filter = EventFilter::new([
            WebhookEventType::CustomerKycApproved,
            WebhookEventType::CustomerDeleted,
        ]);
        assert_eq!(event_filter(&filter_json(&filter)).unwrap(), filter);
        assert_eq!(
            event_filter(&filter_json(&EventFilter::all())).unwrap(),
            EventFilter::all()
        );
        assert!(event_filter(&Json(serde_json::json!(["customer.nope"]))).is_err());
        assert!(event_filter(&Json(serde_json::json!({"a": 1}))).is_err());
    }
}
