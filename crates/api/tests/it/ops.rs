//! `/healthz`, `/readyz`, `/metrics` and request ids.

use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::test;
use ports::{MockReadCustomers, MockStoreHealth};
use serde_json::json;
use uuid::Uuid;

use crate::support::{call, call_all, get, post_customer, seed_body, succeeding_use_case, Ports};

#[actix_web::test]
async fn healthz_answers_ok_without_a_token() {
    let reply = call(Ports::new(), test::TestRequest::get().uri("/healthz")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ok"}));
}

fn health_answering(readiness: Result<(), String>) -> MockStoreHealth {
    let mut health = MockStoreHealth::new();
    health
        .expect_readiness()
        .times(1)
        .returning(move || readiness.clone());
    health
}

#[actix_web::test]
async fn readyz_follows_the_store() {
    let ports = Ports {
        health: health_answering(Ok(())),
        ..Ports::new()
    };
    let reply = call(ports, test::TestRequest::get().uri("/readyz")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ok"}));

    let ports = Ports {
        health: health_answering(Err("database unreachable".into())),
        ..Ports::new()
    };
    let reply = call(ports, test::TestRequest::get().uri("/readyz")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reply.body,
        json!({"status": "unavailable", "reason": "database unreachable"})
    );
}

#[actix_web::test]
async fn metrics_count_requests_by_route_template_and_show_pool_and_every_outbox_kind() {
    // The backlog is read once: the second scrape, within seconds, shows the same figures
    // without querying the store again.
    let mut health = MockStoreHealth::new();
    health.expect_pool_state().returning(|| ports::PoolState {
        in_use: 2,
        idle: 3,
        waiting: 1,
    });
    health.expect_outbox_backlogs().times(1).returning(|| {
        Ok(vec![
            (
                ports::JobKind::KycMail,
                ports::OutboxBacklog {
                    queued: 4,
                    oldest_age: Some(Duration::from_secs(90)),
                },
            ),
            (
                ports::JobKind::Webhook,
                ports::OutboxBacklog {
                    queued: 7,
                    oldest_age: None,
                },
            ),
        ])
    });
    let mut read = MockReadCustomers::new();
    read.expect_get_customer().returning(|_, _| Ok(None));
    let ports = Ports {
        health,
        read,
        ..Ports::with_create(succeeding_use_case())
    };
    let customer = format!("/customer/{}", Uuid::new_v4());
    let replies = call_all(
        ports,
        vec![
            post_customer().set_json(seed_body()),
            get(&customer),
            get(&customer),
            test::TestRequest::default()
                .method(actix_web::http::Method::from_bytes(b"AAAA1").unwrap())
                .uri("/healthz"),
            test::TestRequest::get().uri("/metrics"),
            test::TestRequest::get().uri("/metrics"),
        ],
    )
    .await;
    let text = replies[5].body.as_str().unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="OTHER",route="/healthz",status="405"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains("AAAA1"),
        "a client's method name must not become a label"
    );
    assert_eq!(
        replies[4].headers.get(header::CONTENT_TYPE).unwrap(),
        "text/plain; version=0.0.4"
    );
    for line in [
        r#"http_requests_total{method="POST",route="/customer",status="201"} 1"#,
        r#"http_requests_total{method="GET",route="/customer/{id}",status="404"} 2"#,
        r#"http_request_duration_seconds_count{method="POST",route="/customer",status="201"} 1"#,
        "db_pool_connections_in_use 2",
        "db_pool_connections_idle 3",
        "db_pool_waiting 1",
        "kyc_mail_outbox_queued 4",
        "kyc_mail_outbox_oldest_age_seconds 90",
        r#"outbox_jobs_queued{kind="kyc_mail"} 4"#,
        r#"outbox_jobs_queued{kind="webhook"} 7"#,
        r#"outbox_oldest_job_age_seconds{kind="kyc_mail"} 90"#,
        r#"outbox_oldest_job_age_seconds{kind="webhook"} 0"#,
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    assert!(!text.contains(&customer), "paths must not become labels");
}

#[actix_web::test]
async fn a_request_id_is_returned_taken_from_the_client_when_safe() {
    let reply = call(
        Ports::new(),
        test::TestRequest::get()
            .uri("/healthz")
            .insert_header(("X-Request-Id", "abc-123.x_y")),
    )
    .await;
    assert_eq!(reply.headers.get("x-request-id").unwrap(), "abc-123.x_y");

    let generated = call(Ports::new(), test::TestRequest::get().uri("/healthz")).await;
    let id = generated
        .headers
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(Uuid::parse_str(id).is_ok(), "{id}");

    for unsafe_id in ["a b", &"x".repeat(129), "<script>"] {
        let reply = call(
            Ports::new(),
            test::TestRequest::get()
                .uri("/nope")
                .insert_header(("X-Request-Id", unsafe_id)),
        )
        .await;
        let id = reply.headers.get("x-request-id").unwrap().to_str().unwrap();
        assert!(
            Uuid::parse_str(id).is_ok(),
            "{unsafe_id} was echoed as {id}"
        );
    }
}
