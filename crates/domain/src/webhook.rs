//! Outgoing webhooks as the domain sees them: the kinds of event an account can subscribe
//! to, an endpoint's subscription filter, and the identifiers of endpoints and events.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The kinds of event sent to accounts' webhook endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEventType {
    /// A customer was registered.
    CustomerCreated,
    /// A customer's details were changed.
    CustomerUpdated,
    /// A customer was erased (the event carries the id alone).
    CustomerDeleted,
    /// The KYC or terms-of-service status changed.
    CustomerKycUpdated,
    /// The KYC status became `approved`.
    CustomerKycApproved,
    /// The KYC status became `rejected`.
    CustomerKycRejected,
    /// The KYC mail could not be delivered.
    CustomerKycMailFailed,
}

impl WebhookEventType {
    /// Every event type.
    pub const ALL: [Self; 7] = [
        Self::CustomerCreated,
        Self::CustomerUpdated,
        Self::CustomerDeleted,
        Self::CustomerKycUpdated,
        Self::CustomerKycApproved,
        Self::CustomerKycRejected,
        Self::CustomerKycMailFailed,
    ];

    /// The wire and storage spelling, e.g. `customer.kyc.approved`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::CustomerCreated => "customer.created",
            Self::CustomerUpdated => "customer.updated",
            Self::CustomerDeleted => "customer.deleted",
            Self::CustomerKycUpdated => "customer.kyc.updated",
            Self::CustomerKycApproved => "customer.kyc.approved",
            Self::CustomerKycRejected => "customer.kyc.rejected",
            Self::CustomerKycMailFailed => "customer.kyc_mail.failed",
        }
    }
}

impl fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WebhookEventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(Self::as_str).collect();
                format!("must be one of: {}", names.join(", "))
            })
    }
}

/// Which event types an endpoint receives: the listed ones, or every type when the list
/// is empty (the default, as with Stripe's `enabled_events: ["*"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter(Vec<WebhookEventType>);

impl EventFilter {
    /// A filter for these types, duplicates removed; an empty list means every type.
    pub fn new(types: impl IntoIterator<Item = WebhookEventType>) -> Self {
        let mut kept: Vec<WebhookEventType> = Vec::new();
        for t in types {
            if !kept.contains(&t) {
                kept.push(t);
            }
        }
        Self(kept)
    }

    /// Every event type.
    pub fn all() -> Self {
        Self(Vec::new())
    }

    /// Whether an endpoint with this filter receives events of type `t`.
    pub fn accepts(&self, t: WebhookEventType) -> bool {
        self.0.is_empty() || self.0.contains(&t)
    }

    /// The listed types (empty: every type).
    pub fn types(&self) -> &[WebhookEventType] {
        &self.0
    }
}

/// A webhook endpoint's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndpointId(pub Uuid);

impl EndpointId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An outgoing event's id, `evt_` and 32 hex digits: the same on every delivery attempt
/// (it is the `webhook-id` header), so receivers can deduplicate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId(String);

impl EventId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(format!("evt_{}", Uuid::new_v4().simple()))
    }

    /// An id read back from the store, where only ids made by [`EventId::new_random`] are
    /// written.
    pub fn from_stored(id: String) -> Self {
        Self(id)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_through_their_spelling() {
        for t in WebhookEventType::ALL {
            assert_eq!(t.as_str().parse::<WebhookEventType>().unwrap(), t);
        }
        let err = "customer.*".parse::<WebhookEventType>().unwrap_err();
        assert!(err.contains("customer.kyc.approved"), "{err}");
    }

    #[test]
    fn an_empty_filter_accepts_every_type_and_a_list_only_its_own() {
        for t in WebhookEventType::ALL {
            assert!(EventFilter::all().accepts(t));
        }
        let filter = EventFilter::new([
            WebhookEventType::CustomerKycApproved,
            WebhookEventType::CustomerKycApproved,
            WebhookEventType::CustomerKycRejected,
        ]);
        assert_eq!(filter.types().len(), 2);
        assert!(filter.accepts(WebhookEventType::CustomerKycRejected));
        assert!(!filter.accepts(WebhookEventType::CustomerCreated));
    }

    #[test]
    fn event_ids_are_prefixed_and_unique() {
        let a = EventId::new_random();
        assert!(
            a.as_str().starts_with("evt_") && a.as_str().len() == 36,
            "{a}"
        );
        assert_ne!(a, EventId::new_random());
    }
}
