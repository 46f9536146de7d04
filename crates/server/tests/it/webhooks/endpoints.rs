//! Endpoints: account scoping, the limit, the guard against requests into the service's own
//! network (at registration and at delivery), redirects, and secrets at rest.

use reqwest::Method;
use serde_json::{json, Value};
use testkit::TestPostgres;
use uuid::Uuid;
use wiremock::ResponseTemplate;

use super::{
    app, call, create_customer, received, receiver, register, settled_delivery, LOCAL_RECEIVERS,
};
use crate::helpers::{bridge_ok, start_on_postgres_with};

#[tokio::test]
async fn another_accounts_endpoint_is_404_on_every_route() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(&db, &LOCAL_RECEIVERS).await;
    let (owner, intruder) = (app.token().await, app.token().await);
    let hook = receiver(ResponseTemplate::new(200)).await;
    let (endpoint, _) = register(&app, &owner, &hook, json!([])).await;
    create_customer(&app, &owner, 1).await;
    let delivery = settled_delivery(&app, &owner, &endpoint, "delivered").await;
    let delivery = delivery["id"].as_str().unwrap();

    let base = format!("/webhook-endpoints/{endpoint}");
    for (method, path, body) in [
        (Method::GET, base.clone(), None),
        (Method::PATCH, base.clone(), Some(json!({"enabled": false}))),
        (Method::DELETE, base.clone(), None),
        (Method::POST, format!("{base}/rotate-secret"), None),
        (Method::GET, format!("{base}/deliveries"), None),
        (
            Method::POST,
            format!("{base}/deliveries/{delivery}/retry"),
            None,
        ),
    ] {
        let (status, answer) = call(&app, method.clone(), &intruder, &path, body).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
        assert_eq!(answer["code"], "not_found");
    }
    let (_, listed) = app.get(&intruder, "/webhook-endpoints").await;
    assert_eq!(listed["data"], json!([]));
    // Untouched for its owner.
    let (status, read) = app.get(&owner, &base).await;
    assert_eq!((status, &read["data"]["enabled"]), (200, &json!(true)));
    // An unknown delivery of one's own endpoint is 404 too.
    let (status, _) = call(
        &app,
        Method::POST,
        &owner,
        &format!("{base}/deliveries/{}/retry", Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_eleventh_endpoint_is_refused_with_409() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(&db, &LOCAL_RECEIVERS).await;
    let token = app.token().await;
    let hook = receiver(ResponseTemplate::new(200)).await;
    for _ in 0..10 {
        register(&app, &token, &hook, json!([])).await;
    }
    let (status, body) = call(
        &app,
        Method::POST,
        &token,
        "/webhook-endpoints",
        Some(json!({"url": format!("{}/hook", hook.uri())})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "endpoint_limit_reached");
    let (_, listed) = app.get(&token, "/webhook-endpoints").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 10);
    // Deleting one makes room.
    let first = listed["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        Method::DELETE,
        &token,
        &format!("/webhook-endpoints/{first}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    register(&app, &token, &hook, json!([])).await;
}

/// The URLs a production configuration refuses at registration.
const REFUSED: [&str; 11] = [
    "https://127.0.0.1/hook",
    "https://localhost:8443/hook",
    "https://10.0.0.1/hook",
    "https://192.168.1.20/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://0.0.0.0/hook",
    "https://2130706433/hook",
];

#[tokio::test]
async fn urls_into_the_services_own_network_are_refused_at_registration_naming_url() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(&db, &[]).await;
    let token = app.token().await;
    for url in REFUSED {
        let (status, body) = call(
            &app,
            Method::POST,
            &token,
            "/webhook-endpoints",
            Some(json!({"url": url})),
        )
        .await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["code"], "invalid_request");
        assert!(
            body["details"]["url"]
                .as_str()
                .unwrap()
                .contains("non-public address"),
            "{url}: {body}"
        );
    }
    let (status, body) = call(
        &app,
        Method::POST,
        &token,
        "/webhook-endpoints",
        Some(json!({"url": "http://hooks.example.com/in"})),
    )
    .await;
    assert_eq!(
        (status, &body["details"]["url"]),
        (400, &json!("must be an https URL"))
    );

    // A public address passes, and a change to a refused one is refused the same way.
    let (status, body) = call(
        &app,
        Method::POST,
        &token,
        "/webhook-endpoints",
        Some(json!({"url": "https://203.0.114.7/in"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap();
    let (status, body) = call(
        &app,
        Method::PATCH,
        &token,
        &format!("/webhook-endpoints/{id}"),
        Some(json!({"url": "https://169.254.169.254/"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["details"]["url"].is_string());
}

#[tokio::test]
async fn a_destination_refused_at_delivery_is_a_failed_attempt_and_nothing_is_sent() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_ok().await;
    let hook = receiver(ResponseTemplate::new(200)).await;
    // Registered while loopback was allowed (as in development)…
    let lenient = start_on_postgres_with(&db, &bridge, &LOCAL_RECEIVERS).await;
    let token = lenient.token().await;
    let (endpoint, _) = register(&lenient, &token, &hook, json!([])).await;
    lenient.handle.stop(true).await;
    // …then delivered by an instance that does not allow it.
    let strict = start_on_postgres_with(
        &db,
        &bridge,
        &[
            "--webhook-allow-http",
            "--webhook-poll-interval-ms=50",
            "--webhook-retry-schedule=",
        ],
    )
    .await;
    create_customer(&strict, &token, 1).await;

    let failed = settled_delivery(&strict, &token, &endpoint, "failed").await;
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .starts_with("refused: the host is or resolves to a non-public address"),
        "{failed}"
    );
    assert!(
        received(&hook).await.is_empty(),
        "the receiver was contacted"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_counts_as_a_failed_attempt() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(
        &db,
        &[
            "--webhook-allow-http",
            "--webhook-allow-private-networks",
            "--webhook-poll-interval-ms=50",
            "--webhook-retry-schedule=",
        ],
    )
    .await;
    let token = app.token().await;
    let target = receiver(ResponseTemplate::new(200)).await;
    let redirecting = receiver(
        ResponseTemplate::new(307).insert_header("location", format!("{}/hook", target.uri())),
    )
    .await;
    let (endpoint, _) = register(&app, &token, &redirecting, json!([])).await;
    create_customer(&app, &token, 1).await;

    let failed = settled_delivery(&app, &token, &endpoint, "failed").await;
    assert_eq!(failed["last_http_status"], 307);
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed"),
        "{failed}"
    );
    assert_eq!(received(&redirecting).await.len(), 1);
    assert!(received(&target).await.is_empty());
}

/// Every row of every table of the database, as text.
fn dump(db: &TestPostgres) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text: String,
    }
    let mut conn = PgConnection::establish(db.url()).unwrap();
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
    }
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT table_name::text AS table_name FROM information_schema.tables \
         WHERE table_schema = 'public'",
    )
    .load(&mut conn)
    .unwrap();
    assert!(tables.iter().any(|t| t.table_name == "webhook_endpoints"));
    let mut all = String::new();
    for table in tables {
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT row_to_json(t)::text AS text FROM \"{}\" t",
            table.table_name
        ))
        .load(&mut conn)
        .unwrap();
        for row in rows {
            all.push_str(&row.text);
            all.push('\n');
        }
    }
    all
}

#[tokio::test]
async fn signing_secrets_are_never_in_the_database_in_the_clear() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(&db, &LOCAL_RECEIVERS).await;
    let token = app.token().await;
    let hook = receiver(ResponseTemplate::new(200)).await;
    let (endpoint, first) = register(&app, &token, &hook, json!([])).await;
    let (_, rotated) = call(
        &app,
        Method::POST,
        &token,
        &format!("/webhook-endpoints/{endpoint}/rotate-secret"),
        None,
    )
    .await;
    let second = rotated["data"]["secret"].as_str().unwrap().to_owned();
    create_customer(&app, &token, 1).await;
    settled_delivery(&app, &token, &endpoint, "delivered").await;

    let dumped = dump(&db);
    assert!(dumped.contains(&endpoint), "the dump missed the endpoint");
    for secret in [&first, &second] {
        let key_text = secret.trim_start_matches("whsec_");
        assert!(
            !dumped.contains(secret.as_str()),
            "a secret is stored in the clear"
        );
        assert!(
            !dumped.contains(key_text),
            "a secret's key is stored in the clear"
        );
    }
    let sealed: Value = serde_json::from_str(
        dumped
            .lines()
            .find(|l| l.contains("secret_ciphertext"))
            .unwrap(),
    )
    .unwrap();
    assert!(sealed["secret_ciphertext"]
        .as_str()
        .unwrap()
        .starts_with("v1:"));
    assert!(sealed["previous_secret_ciphertext"]
        .as_str()
        .unwrap()
        .starts_with("v1:"));
}
