//! What the service stores to send later, rendered in the API's own wire shapes: an
//! outgoing event's body shows the customer exactly as `GET /customer/{id}` would at the
//! moment of the event.

use chrono::SecondsFormat;
use ports::{EventDraft, EventSubject, Presenter};
use serde::Serialize;

use crate::customers::data::{CustomerData, WireKycStatus, WireTosStatus};

/// The body of an outgoing webhook event.
#[derive(Debug, Serialize)]
struct EventBody {
    id: String,
    #[serde(rename = "type")]
    event_type: &'static str,
    created_at: String,
    data: EventData,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<Previous>,
}

/// The customer as a read shows it, or — for an erased customer — its id alone.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum EventData {
    Customer(Box<CustomerData>),
    Erased { id: String },
}

/// The statuses before a `customer.kyc.updated` change.
#[derive(Debug, Serialize)]
struct Previous {
    kyc_status: WireKycStatus,
    tos_status: WireTosStatus,
}

/// Renders with the API's wire types.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonPresenter;

impl Presenter for JsonPresenter {
    fn event_body(&self, draft: &EventDraft) -> String {
        let body = EventBody {
            id: draft.id.to_string(),
            event_type: draft.event_type.as_str(),
            created_at: draft
                .created_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            data: match &draft.subject {
                EventSubject::Customer(customer) => {
                    EventData::Customer(Box::new(CustomerData::from((**customer).clone())))
                }
                EventSubject::Erased(id) => EventData::Erased { id: id.to_string() },
            },
            previous: draft.previous.map(|(kyc_status, tos_status)| Previous {
                kyc_status: kyc_status.into(),
                tos_status: tos_status.into(),
            }),
        };
        // Serialising plain strings and enums cannot fail; should it ever, the event still
        // names itself rather than carrying an empty body.
        serde_json::to_string(&body).unwrap_or_else(|e| {
            tracing::error!(error = %e, "could not render an event body");
            format!(
                "{{\"id\":\"{}\",\"type\":\"{}\"}}",
                draft.id, draft.event_type
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{CustomerId, EventId, WebhookEventType};
    use serde_json::{json, Value};

    #[test]
    fn an_erasure_event_carries_the_id_alone() {
        let at = "2026-01-02T03:04:05.678Z".parse().unwrap();
        let id = CustomerId(uuid::Uuid::from_u128(7));
        let body = JsonPresenter.event_body(&EventDraft {
            id: EventId::from_stored("evt_1".into()),
            event_type: WebhookEventType::CustomerDeleted,
            created_at: at,
            subject: EventSubject::Erased(id),
            previous: None,
        });
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            json!({
                "id": "evt_1",
                "type": "customer.deleted",
                "created_at": "2026-01-02T03:04:05.678Z",
                "data": {"id": "00000000-0000-0000-0000-000000000007"}
            })
        );
    }
}
