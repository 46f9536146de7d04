//! Reading Bridge's event envelope, category by category.

use super::*;
use domain::{KycStatus, TosStatus};
use serde_json::{json, Value};

fn envelope(category: &str, event_type: &str, object: Value) -> Value {
    json!({
        "api_version": "v0",
        "event_id": "wh_t8TAhPPYrRV2v8Asi9ed3sw",
        "event_developer_id": "371983-uery-1238-1238971",
        "event_category": category,
        "event_type": event_type,
        "event_object_id": object.get("id").cloned().unwrap_or(Value::Null),
        "event_object_status": null,
        "event_object": object,
        "event_object_changes": {},
        "event_created_at": "2024-02-01T04:32:28.978Z"
    })
}

fn read(value: &Value) -> Result<KycUpdate, EventRejection> {
    read_event(value.to_string().as_bytes())
}

#[test]
fn a_kyc_link_event_reports_the_links_state_as_of_its_creation() {
    let update = read(&envelope(
        "kyc_link",
        "kyc_link.updated.status_transitioned",
        json!({"id": "kyc_link_123", "kyc_status": "approved", "tos_status": "approved",
               "customer_id": "cust_1", "email": "ada@example.com", "kyc_link": "https://x"}),
    ))
    .unwrap();
    assert_eq!(update.source, KycSource::Webhook);
    assert_eq!(
        update.event_id.as_deref(),
        Some("wh_t8TAhPPYrRV2v8Asi9ed3sw")
    );
    assert_eq!(update.target, ProviderRef::KycLink("kyc_link_123".into()));
    assert_eq!(update.kyc_status, Some(KycStatus::Approved));
    assert_eq!(update.tos_status, Some(TosStatus::Approved));
    assert_eq!(update.provider_customer_id.as_deref(), Some("cust_1"));
    assert_eq!(update.rejection_reasons, None);
    assert_eq!(
        update.order,
        KycOrder::at("2024-02-01T04:32:28.978Z".parse().unwrap())
    );
}

#[test]
fn the_event_type_may_come_without_the_category_prefix() {
    let update = read(&envelope(
        "kyc_link",
        "updated",
        json!({"id": "kyc_link_123", "kyc_status": "incomplete"}),
    ))
    .unwrap();
    assert_eq!(update.kyc_status, Some(KycStatus::Incomplete));
    for deleted in ["customer.deleted", "deleted"] {
        let err = read(&envelope("customer", deleted, json!({"id": "cust_1"}))).unwrap_err();
        assert!(matches!(err, EventRejection::Ignored { .. }), "{err:?}");
    }
}

#[test]
fn a_customer_event_reports_status_terms_and_reasons_by_customer_id() {
    let update = read(&envelope(
        "customer",
        "customer.updated.status_transitioned",
        json!({"id": "cust_1", "status": "rejected", "has_accepted_terms_of_service": true,
               "first_name": "Ada",
               "rejection_reasons": [{"reason": "ID expired", "developer_reason": "expired",
                                      "created_at": "2024-02-01T04:30:00.000Z"}]}),
    ))
    .unwrap();
    assert_eq!(
        update.target,
        ProviderRef::ProviderCustomer("cust_1".into())
    );
    assert_eq!(update.kyc_status, Some(KycStatus::Rejected));
    assert_eq!(update.tos_status, Some(TosStatus::Approved));
    assert_eq!(update.rejection_reasons.unwrap()[0].reason, "ID expired");
    let active = read(&envelope(
        "customer",
        "customer.updated",
        json!({"id": "cust_1", "status": "active"}),
    ))
    .unwrap();
    assert_eq!(active.kyc_status, Some(KycStatus::Approved));
}

#[test]
fn the_envelope_status_stands_in_and_the_sequence_orders_when_present() {
    let mut event = envelope(
        "kyc_link",
        "kyc_link.updated",
        json!({"id": "kyc_link_123"}),
    );
    event["event_object_status"] = "manual_review".into();
    event["event_sequence"] = 42.into();
    let update = read(&event).unwrap();
    assert_eq!(update.kyc_status, Some(KycStatus::UnderReview));
    assert_eq!(update.order.sequence, Some(42));
}

#[test]
fn the_object_id_may_come_from_the_envelope_alone() {
    let mut event = envelope(
        "kyc_link",
        "kyc_link.updated",
        json!({"kyc_status": "approved"}),
    );
    event["event_object_id"] = "kyc_link_9".into();
    assert_eq!(
        read(&event).unwrap().target,
        ProviderRef::KycLink("kyc_link_9".into())
    );
    event["event_object_id"] = Value::Null;
    assert!(matches!(
        read(&event),
        Err(EventRejection::Malformed { .. })
    ));
}

#[test]
fn other_categories_are_ignored() {
    let err = read(&envelope(
        "transfer",
        "transfer.updated.status_transitioned",
        json!({"id": "tr_1", "state": "payment_processed"}),
    ))
    .unwrap_err();
    assert_eq!(
        err,
        EventRejection::Ignored {
            kind: "transfer".into()
        }
    );
}

#[test]
fn bodies_that_are_not_events_are_refused_by_kind() {
    assert_eq!(read_event(b"not json"), Err(EventRejection::NotJson));
    assert_eq!(read_event(b""), Err(EventRejection::NotJson));
    let mut event = envelope("kyc_link", "kyc_link.updated", json!({"id": "l"}));
    event.as_object_mut().unwrap().remove("event_id");
    let err = read(&event).unwrap_err();
    assert!(
        matches!(&err, EventRejection::Malformed { reason } if reason.contains("event_id")),
        "{err:?}"
    );
    let mut event = envelope("kyc_link", "kyc_link.updated", json!({"id": "l"}));
    event["event_created_at"] = "yesterday".into();
    assert!(matches!(
        read(&event),
        Err(EventRejection::Malformed { .. })
    ));
    let mut event = envelope("kyc_link", "kyc_link.updated", json!({"id": "l"}));
    event["event_object"] = json!({"id": "l", "kyc_status": 7});
    assert!(matches!(
        read(&event),
        Err(EventRejection::Malformed { .. })
    ));
    let mut event = envelope("kyc_link", "kyc_link.updated", json!({"id": "l"}));
    event["event_id"] = "e".repeat(201).into();
    assert!(matches!(
        read(&event),
        Err(EventRejection::Malformed { .. })
    ));
}

#[test]
fn an_unknown_status_is_refused_with_its_raw_value() {
    let err = read(&envelope(
        "kyc_link",
        "kyc_link.updated",
        json!({"id": "kyc_link_123", "kyc_status": "pending_review"}),
    ))
    .unwrap_err();
    assert_eq!(
        err,
        EventRejection::UnknownValue {
            field: "kyc_status",
            value: "pending_review".into()
        }
    );
}
