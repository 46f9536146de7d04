//! Bridge's webhook event envelope, read into the one shape every KYC report takes. Only
//! the `kyc_link` and `customer` categories are about KYC; the state comes from the event's
//! object (its own status field first, the envelope's `event_object_status` where the object
//! lacks one), ordered by `event_sequence` where Bridge sends one, else `event_created_at`.

use chrono::{DateTime, Utc};
use domain::{KycOrder, KycSource, KycUpdate, ProviderRef};
use ports::EventRejection;
use serde::Deserialize;

use super::reports::{CustomerState, LinkState};
use super::status::UnknownValue;

/// Longest event id kept (Bridge's look like `wh_t8TAhPPYrRV2v8Asi9ed3sw`).
const MAX_EVENT_ID_CHARS: usize = 200;

/// The envelope's fields this service reads.
#[derive(Debug, Deserialize)]
struct Envelope {
    event_id: String,
    event_category: String,
    event_type: String,
    event_object_id: Option<String>,
    event_object_status: Option<String>,
    event_object: Option<serde_json::Value>,
    event_created_at: DateTime<Utc>,
    event_sequence: Option<i64>,
}

fn malformed(reason: impl Into<String>) -> EventRejection {
    EventRejection::Malformed {
        reason: reason.into(),
    }
}

/// An unknown status: logged here with its raw value, refused so that Bridge retries.
fn unknown(value: UnknownValue) -> EventRejection {
    tracing::error!(field = value.field, value = %value.value, "Bridge sent an unknown status in an event");
    EventRejection::UnknownValue {
        field: value.field,
        value: value.value,
    }
}

/// Reads a (verified) event body.
pub(super) fn read_event(body: &[u8]) -> Result<KycUpdate, EventRejection> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| EventRejection::NotJson)?;
    // serde's message names the field and what was expected; the values it may quote
    // are the envelope's own (ids, times), never the object's.
    let envelope: Envelope = serde_json::from_value(value)
        .map_err(|e| malformed(format!("not a Bridge event envelope: {e}")))?;
    let category = envelope.event_category.as_str();
    // Bridge documents `event_type` both with and without the category in front.
    let mutation = envelope
        .event_type
        .strip_prefix(category)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or(&envelope.event_type);
    if !matches!(category, "kyc_link" | "customer") {
        return Err(EventRejection::Ignored {
            kind: category.chars().take(64).collect(),
        });
    }
    if mutation == "deleted" {
        return Err(EventRejection::Ignored {
            kind: format!("{category}.deleted"),
        });
    }
    let event_id = envelope.event_id;
    if event_id.is_empty() || event_id.chars().count() > MAX_EVENT_ID_CHARS {
        return Err(malformed(format!(
            "event_id must be 1 to {MAX_EVENT_ID_CHARS} characters"
        )));
    }
    let object = envelope
        .event_object
        .ok_or_else(|| malformed("event_object is missing"))?;
    let event_status = envelope.event_object_status.as_deref();
    let (target, state) = if category == "kyc_link" {
        let link: LinkState = serde_json::from_value(object)
            .map_err(|_| malformed("event_object is not a KYC link object"))?;
        let id = link.id.clone().or(envelope.event_object_id);
        (id.map(ProviderRef::KycLink), link.into_state(event_status))
    } else {
        let customer: CustomerState = serde_json::from_value(object)
            .map_err(|_| malformed("event_object is not a customer object"))?;
        let id = customer.id.clone().or(envelope.event_object_id);
        (
            id.map(ProviderRef::ProviderCustomer),
            customer.into_state(event_status),
        )
    };
    let target = target
        .filter(|t| !matches!(t, ProviderRef::KycLink(id) | ProviderRef::ProviderCustomer(id) if id.is_empty()))
        .ok_or_else(|| malformed("the event names no object id"))?;
    let state = state.map_err(unknown)?;
    Ok(KycUpdate {
        source: KycSource::Webhook,
        event_id: Some(event_id),
        target,
        kyc_status: state.kyc_status,
        tos_status: state.tos_status,
        rejection_reasons: state.rejection_reasons,
        provider_customer_id: state.provider_customer_id,
        order: KycOrder {
            sequence: envelope.event_sequence,
            at: envelope.event_created_at,
        },
    })
}

#[cfg(test)]
mod tests;
