//! The seed document's examples, shared by the OpenAPI document, the wire types' schemas
//! and the tests. Depends on nothing else in this crate.

use serde_json::{json, Value};

/// The seed document's request body.
pub fn seed_request_example() -> Value {
    json!({
        "customer_name": "Emmanuel A Towoju",
        "customer_email": "tbash7676@gmail.com",
        "customer_phone": "+2349039395114",
        "customer_country": "USA",
        "customer_type": "individual",
        "send_kyc_mail": true
    })
}

/// The seed document's customer, with this service's additions.
pub fn seed_customer_example() -> Value {
    json!({
        "id": "25ea7e0b-1f53-4a92-bbf6-9fa4da7a32b1",
        "full_name": "Emmanuel A Towoju",
        "email": "tbash7676@gmail.com",
        "phone": "+2349039395114",
        "country": "USA",
        "type": "individual",
        "kyc_link": "https://bridge.withpersona.com/verify?inquiry-template-id=itmpl_NtHYpb9AbEYCPxGo5iRbc9d2&fields[developer_id]=2da859f2&reference-id=7d5b9315",
        "tos_link": "https://dashboard.bridge.xyz/accept-terms-of-service?customer_id=7d5b9315-796e-4d4d-b771-1ee5997e4abf",
        "kyc_status": "approved",
        "rejection_reasons": [],
        "tos_status": "pending",
        "created_at": "2024-12-01T18:46:15.392Z",
        "customer_id": "7d5b9315-796e-4d4d-b771-1ee5997e4abf",
        "persona_inquiry_type": "gov_id_db",
        "kyc_mail_status": "queued",
        "updated_at": null
    })
}
