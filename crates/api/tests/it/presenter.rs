//! Outgoing event bodies: the customer exactly as a read shows it, in the event envelope.

use api::presenter::JsonPresenter;
use domain::{EventId, KycStatus, TosStatus, WebhookEventType};
use ports::{EventDraft, EventSubject, Presenter};
use serde_json::{json, Value};

use crate::support::{customer_from, post_json, seed_body, succeeding_use_case};

#[actix_web::test]
async fn an_event_shows_the_customer_as_a_read_does_with_the_previous_statuses() {
    // The create answer's `data` is what a read shows for the same customer.
    let created = post_json(succeeding_use_case(), seed_body()).await;
    let input = api::customers::create::CreateCustomerBody::from_json(seed_body())
        .unwrap()
        .try_into_domain()
        .unwrap();
    let customer = customer_from(input);
    let at = "2026-01-02T03:04:05.678Z".parse().unwrap();
    let body = JsonPresenter.event_body(&EventDraft {
        id: EventId::from_stored("evt_0123".into()),
        event_type: WebhookEventType::CustomerKycUpdated,
        created_at: at,
        subject: EventSubject::Customer(Box::new(customer)),
        previous: Some((KycStatus::UnderReview, TosStatus::Pending)),
    });
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({
            "id": "evt_0123",
            "type": "customer.kyc.updated",
            "created_at": "2026-01-02T03:04:05.678Z",
            "data": created.body["data"],
            "previous": {"kyc_status": "under_review", "tos_status": "pending"}
        })
    );
}
