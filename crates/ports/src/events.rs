//! Outgoing events: what a use case writes, in the same transaction as the change that
//! causes it, so that no change is ever without its event and no event without its change.
//! The body is rendered when the event is written — a delivery sends those bytes, however
//! late — by the [`Presenter`], which the API crate implements because it owns the wire
//! shapes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{AccountId, Customer, CustomerId, EventId, KycStatus, TosStatus, WebhookEventType};

/// An event to write with a change. The store keeps it, and queues one delivery to each
/// of the account's enabled endpoints whose filter accepts its type (an event nobody
/// receives is not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// `evt_…`, the same on every delivery attempt.
    pub id: EventId,
    /// The account whose endpoints receive it.
    pub account_id: AccountId,
    /// The customer it is about: erasing the customer erases its events.
    pub customer_id: Option<CustomerId>,
    /// Its type.
    pub event_type: WebhookEventType,
    /// The exact body every delivery sends.
    pub body: String,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

/// What an event says about its customer.
#[derive(Debug, Clone, PartialEq)]
pub enum EventSubject {
    /// The customer as a read shows it, as of the event.
    Customer(Box<Customer>),
    /// Only the id: the customer was erased, and an event must not bring it back.
    Erased(CustomerId),
}

/// Everything an event body is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    /// The event's id.
    pub id: EventId,
    /// Its type.
    pub event_type: WebhookEventType,
    /// When it happened.
    pub created_at: DateTime<Utc>,
    /// The customer.
    pub subject: EventSubject,
    /// For `customer.kyc.updated`: the statuses before the change.
    pub previous: Option<(KycStatus, TosStatus)>,
}

/// Renders what the service stores to send later, in the API's wire shapes.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Presenter: Send + Sync + 'static {
    /// The JSON body of an outgoing event: `{"id", "type", "created_at", "data",
    /// "previous"?}`.
    fn event_body(&self, draft: &EventDraft) -> String;
}

/// Makes the events use cases write.
#[derive(Clone)]
pub struct Events {
    presenter: Arc<dyn Presenter>,
}

impl Events {
    /// Events rendered by `presenter`.
    pub fn new(presenter: Arc<dyn Presenter>) -> Self {
        Self { presenter }
    }

    /// An event about `customer` as it is now (after the change), at `at`.
    pub fn about(
        &self,
        event_type: WebhookEventType,
        customer: &Customer,
        previous: Option<(KycStatus, TosStatus)>,
        at: DateTime<Utc>,
    ) -> NewEvent {
        self.make(
            event_type,
            customer.account_id,
            customer.id,
            EventSubject::Customer(Box::new(customer.clone())),
            previous,
            at,
        )
    }

    /// `customer.deleted`, which carries the id alone.
    pub fn erased(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        at: DateTime<Utc>,
    ) -> NewEvent {
        self.make(
            WebhookEventType::CustomerDeleted,
            account_id,
            customer_id,
            EventSubject::Erased(customer_id),
            None,
            at,
        )
    }

    fn make(
        &self,
        event_type: WebhookEventType,
        account_id: AccountId,
        customer_id: CustomerId,
        subject: EventSubject,
        previous: Option<(KycStatus, TosStatus)>,
        at: DateTime<Utc>,
    ) -> NewEvent {
        let draft = EventDraft {
            id: EventId::new_random(),
            event_type,
            created_at: at,
            subject,
            previous,
        };
        NewEvent {
            body: self.presenter.event_body(&draft),
            id: draft.id,
            account_id,
            customer_id: Some(customer_id),
            event_type,
            created_at: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn an_erasure_event_names_the_customer_only_by_id() {
        let mut presenter = MockPresenter::new();
        presenter
            .expect_event_body()
            .withf(|d| {
                d.event_type == WebhookEventType::CustomerDeleted
                    && matches!(d.subject, EventSubject::Erased(_))
                    && d.previous.is_none()
            })
            .returning(|d| format!("{{\"id\":\"{}\"}}", d.id));
        let events = Events::new(Arc::new(presenter));
        let customer = CustomerId(Uuid::from_u128(3));
        let event = events.erased(AccountId(Uuid::from_u128(1)), customer, Utc::now());
        assert_eq!(event.event_type, WebhookEventType::CustomerDeleted);
        assert_eq!(event.customer_id, Some(customer));
        assert_eq!(event.body, format!("{{\"id\":\"{}\"}}", event.id));
    }
}
