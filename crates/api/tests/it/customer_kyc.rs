//! `GET /customer/{id}/kyc` with a mocked use case.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::TimeDelta;
use domain::{CustomerId, KycHistoryEntry, KycSource, KycStatus, RejectionReason, TosStatus};
use ports::{KycOverview, MockReadKyc, MockSubmitKyc, ReadCustomersError};
use serde_json::json;

use crate::support::{
    account, assert_error_shape, assert_unauthorized, call, customer_from, get, seed_body,
    seed_created_at, Ports,
};

fn overview() -> KycOverview {
    let input = api::customers::CreateCustomerBody::from_json(seed_body())
        .unwrap()
        .try_into_domain()
        .unwrap();
    let mut customer = customer_from(input);
    customer.kyc_state.kyc_status = KycStatus::Rejected;
    customer.kyc_state.rejection_reasons = vec![RejectionReason {
        reason: "ID expired".into(),
        developer_reason: None,
        created_at: seed_created_at(),
    }];
    customer.updated_at = Some(seed_created_at() + TimeDelta::minutes(5));
    customer.last_synced_at = Some(seed_created_at() + TimeDelta::minutes(6));
    let entry = |to, source, event_id: Option<&str>, minutes, applied| KycHistoryEntry {
        customer_id: customer.id,
        from: KycStatus::NotStarted,
        to,
        tos_status: TosStatus::Pending,
        source,
        event_id: event_id.map(str::to_owned),
        at: seed_created_at() + TimeDelta::minutes(minutes),
        recorded_at: seed_created_at() + TimeDelta::minutes(10),
        applied,
    };
    let history = vec![
        entry(
            KycStatus::UnderReview,
            KycSource::Webhook,
            Some("wh_1"),
            1,
            false,
        ),
        entry(KycStatus::Rejected, KycSource::Poll, None, 2, true),
    ];
    KycOverview::new(customer, history)
}

fn reading(answer: fn() -> Result<Option<KycOverview>, ReadCustomersError>) -> Ports {
    let mut read_kyc = MockReadKyc::new();
    read_kyc
        .expect_kyc_overview()
        .withf(|a, _| *a == account())
        .times(1)
        .returning(move |_, _| answer());
    // A customer without KYC submissions (their rendering is tested in `kyc_submit`).
    let mut submit = MockSubmitKyc::new();
    submit
        .expect_list_submissions()
        .returning(|_, _| Ok(Vec::new()));
    Ports {
        read_kyc,
        submit,
        ..Ports::new()
    }
}

#[actix_web::test]
async fn the_kyc_of_a_customer_shows_state_links_times_and_history_oldest_first() {
    let id = overview().customer.id;
    let reply = call(
        reading(|| Ok(Some(overview()))),
        get(&format!("/customer/{id}/kyc")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["message"], "KYC retrieved successfully");
    let data = &reply.body["data"];
    assert_eq!(data["kyc_status"], "rejected");
    assert_eq!(data["tos_status"], "pending");
    assert_eq!(data["rejection_reasons"][0]["reason"], "ID expired");
    assert_eq!(
        data["kyc_link"],
        "https://bridge.withpersona.com/verify?a=1&b=2"
    );
    assert!(data["tos_link"]
        .as_str()
        .unwrap()
        .starts_with("https://dashboard.bridge.xyz"));
    assert_eq!(data["updated_at"], "2024-12-01T18:51:15.392Z");
    assert_eq!(data["last_synced_at"], "2024-12-01T18:52:15.392Z");
    assert_eq!(data["submissions"], json!([]));
    assert_eq!(
        data["history"],
        json!([
            {"from": "not_started", "to": "under_review", "tos_status": "pending",
             "source": "webhook", "event_id": "wh_1", "at": "2024-12-01T18:47:15.392Z",
             "applied": false},
            {"from": "not_started", "to": "rejected", "tos_status": "pending",
             "source": "poll", "event_id": null, "at": "2024-12-01T18:48:15.392Z",
             "applied": true},
        ])
    );
}

#[actix_web::test]
async fn another_accounts_customer_an_unknown_id_and_a_malformed_id_are_404() {
    let reply = call(
        reading(|| Ok(None)),
        get(&format!("/customer/{}/kyc", CustomerId::new_random())),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
    let reply = call(Ports::new(), get("/customer/not-a-uuid/kyc")).await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn the_kyc_needs_a_token_and_a_store_outage_is_503() {
    let reply = call(
        Ports::new(),
        TestRequest::get().uri(&format!("/customer/{}/kyc", CustomerId::new_random())),
    )
    .await;
    assert_unauthorized(&reply);
    let reply = call(
        reading(|| {
            Err(ReadCustomersError::StoreUnavailable(anyhow::anyhow!(
                "pool timed out"
            )))
        }),
        get(&format!("/customer/{}/kyc", CustomerId::new_random())),
    )
    .await;
    assert_error_shape(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
}
