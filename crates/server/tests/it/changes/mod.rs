//! `PUT` and `DELETE /customer/{id}` end to end, on both stores: optimistic concurrency
//! with `ETag`/`If-Match`, account scoping, erasure that leaves nothing of the person in any
//! table, and an idempotent retry of the create after the erasure; and (`mail`) the KYC mail
//! around a change of address and an erasure, over a real SMTP conversation.

mod mail;

use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{bridge_link, bridge_ok, seed_body, TestApp};
use crate::idempotency::{on_both_stores, post, Db};

/// An answer: status, `ETag`, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub etag: Option<String>,
    pub body: Value,
}

/// `method path` with `token`, an optional `If-Match` and an optional JSON body.
pub async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request failed");
    Reply {
        status: response.status().as_u16(),
        etag: response
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.json().await.unwrap_or(Value::Null),
    }
}

/// A KYC link whose verification has not started, for `email`.
pub fn fresh_link(id: &str, email: &str) -> Value {
    let mut link = bridge_link();
    link["id"] = json!(id);
    link["email"] = json!(email);
    link["kyc_status"] = json!("not_started");
    link["kyc_link"] = json!(format!(
        "https://bridge.withpersona.com/verify?inquiry={id}"
    ));
    link["tos_link"] = json!(format!(
        "https://dashboard.bridge.xyz/accept-terms-of-service?link={id}"
    ));
    link["customer_id"] = Value::Null;
    link
}

/// Bridge issuing, for each `(email, link id)`, a not-started link to requests for that
/// address.
pub async fn bridge_by_address(links: &[(&str, &str)]) -> MockServer {
    let bridge = MockServer::start().await;
    for (email, id) in links {
        Mock::given(method("POST"))
            .and(path("/v0/kyc_links"))
            .and(body_partial_json(json!({ "email": email })))
            .respond_with(ResponseTemplate::new(200).set_body_json(fresh_link(id, email)))
            .mount(&bridge)
            .await;
    }
    bridge
}

impl Db {
    /// Every row of every table.
    fn dump(&self) -> Vec<(String, String)> {
        match self {
            Db::Postgres(db) => testkit::dump_postgres(db.url()),
            Db::Sqlite(file) => testkit::dump_sqlite(&file.path()),
        }
    }

    /// Runs `sql` on the database.
    fn execute(&self, sql: &str) {
        use diesel::connection::SimpleConnection as _;
        use diesel::Connection as _;
        match self {
            Db::Postgres(db) => diesel::PgConnection::establish(db.url())
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
            Db::Sqlite(file) => diesel::SqliteConnection::establish(file.path().to_str().unwrap())
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
        }
    }
}

async fn create(app: &TestApp, token: &str, body: &Value) -> String {
    let (status, created) = app.post_customer(token, body).await;
    assert_eq!(status, 201, "{created}");
    created["data"]["id"].as_str().unwrap().to_owned()
}

async fn two_updates_with_one_etag_give_one_200_and_one_412(db: Db) {
    let app = db.start(&bridge_ok().await, &[]).await;
    let token = app.token().await;
    let id = create(&app, &token, &seed_body()).await;
    let read = send(
        &app,
        reqwest::Method::GET,
        &format!("/customer/{id}"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(read.etag.as_deref(), Some("\"1\""));

    let put = |name: &'static str| {
        let (app, token, id) = (&app, &token, &id);
        async move {
            let body = json!({ "customer_name": name });
            let path = format!("/customer/{id}");
            send(
                app,
                reqwest::Method::PUT,
                &path,
                token,
                Some("\"1\""),
                Some(&body),
            )
            .await
        }
    };
    let (first, second) = tokio::join!(put("First Writer"), put("Second Writer"));

    let mut statuses = [first.status, second.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "{first:?} {second:?}");
    let (won, lost) = if first.status == 200 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(won.etag.as_deref(), Some("\"2\""));
    assert_eq!(won.body["message"], "Customer updated successfully");
    assert_eq!(lost.body["code"], "precondition_failed");
    let now = send(
        &app,
        reqwest::Method::GET,
        &format!("/customer/{id}"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(now.etag.as_deref(), Some("\"2\""));
    assert_eq!(now.body["data"]["full_name"], won.body["data"]["full_name"]);
    assert!(now.body["data"]["updated_at"].is_string());

    // Without If-Match the last write wins.
    let body = json!({"customer_phone": "+14155552671"});
    let path = format!("/customer/{id}");
    let last = send(&app, reqwest::Method::PUT, &path, &token, None, Some(&body)).await;
    assert_eq!(
        (last.status, last.etag.as_deref()),
        (200, Some("\"3\"")),
        "{last:?}"
    );
    assert_eq!(last.body["data"]["phone"], "+14155552671");
}

async fn a_new_address_after_kyc_started_is_409_email_locked(db: Db) {
    // The seed's Bridge link is already approved.
    let app = db.start(&bridge_ok().await, &[]).await;
    let token = app.token().await;
    let id = create(&app, &token, &seed_body()).await;
    let body = json!({"customer_email": "someone.else@example.com"});
    let path = format!("/customer/{id}");
    let reply = send(&app, reqwest::Method::PUT, &path, &token, None, Some(&body)).await;
    assert_eq!(
        (reply.status, &reply.body["code"]),
        (409, &json!("email_locked"))
    );
    // Another spelling of the same address is no new address.
    let body = json!({"customer_email": "TBash7676@Gmail.com"});
    let reply = send(&app, reqwest::Method::PUT, &path, &token, None, Some(&body)).await;
    assert_eq!(reply.status, 200, "{:?}", reply);
    assert_eq!(reply.body["data"]["email"], "TBash7676@Gmail.com");
}

async fn another_accounts_put_and_delete_are_404_and_change_nothing(db: Db) {
    let app = db.start(&bridge_ok().await, &[]).await;
    let (owner, stranger) = (app.token().await, app.token().await);
    let id = create(&app, &owner, &seed_body()).await;
    let path = format!("/customer/{id}");
    let body = json!({"customer_name": "Mallory"});

    let put = send(
        &app,
        reqwest::Method::PUT,
        &path,
        &stranger,
        None,
        Some(&body),
    )
    .await;
    assert_eq!((put.status, &put.body["code"]), (404, &json!("not_found")));
    let delete = send(
        &app,
        reqwest::Method::DELETE,
        &path,
        &stranger,
        Some("*"),
        None,
    )
    .await;
    assert_eq!(
        (delete.status, &delete.body["code"]),
        (404, &json!("not_found"))
    );

    let read = send(&app, reqwest::Method::GET, &path, &owner, None, None).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.etag.as_deref(), Some("\"1\""));
    assert_eq!(read.body["data"]["full_name"], "Emmanuel A Towoju");
}

async fn a_retry_of_the_create_after_the_delete_is_410_and_creates_no_one(db: Db) {
    let app = db.start(&bridge_ok().await, &[]).await;
    let token = app.token().await;
    let first = post(&app, &token, Some("create-1"), &seed_body()).await;
    assert_eq!(first.status, 201);
    let id = first.json()["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/customer/{id}");

    let deleted = send(&app, reqwest::Method::DELETE, &path, &token, None, None).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.body,
        json!({"status": "success", "status_code": 200, "message": "Customer successfully deleted"})
    );

    let retry = post(&app, &token, Some("create-1"), &seed_body()).await;
    assert_eq!(retry.status, 410, "{:?}", retry.json());
    assert_eq!(retry.json()["code"], "customer_deleted");
    assert_eq!(db.count("customers"), 0);
    let again = send(&app, reqwest::Method::DELETE, &path, &token, None, None).await;
    assert_eq!(again.status, 404);
    let read = send(&app, reqwest::Method::GET, &path, &token, None, None).await;
    assert_eq!(read.status, 404);
    // The address is free again: a new request (a new key) registers the person anew.
    let anew = post(&app, &token, Some("create-2"), &seed_body()).await;
    assert_eq!(anew.status, 201);
    assert_ne!(anew.json()["data"]["id"], json!(id));
}

async fn after_a_delete_no_table_holds_the_persons_name_address_or_phone(db: Db) {
    const NAME: &str = "Zebulon Quixote Erasable";
    const EMAIL: &str = "zebulon.erasable@example.net";
    const PHONE: &str = "+442071838750";
    let bridge = bridge_by_address(&[(EMAIL, "kyc_link_z")]).await;
    let app = db.start(&bridge, &[]).await;
    let (account, token) = app.account_token().await;
    // An endpoint, so that events are kept (with the customer's snapshot in their bodies).
    db.execute(&format!(
        "INSERT INTO webhook_endpoints (id, account_id, url, events, enabled, \
         secret_ciphertext, created_at) VALUES ('{}', '{account}', \
         'https://receiver.example/hook', '[]', true, 'sealed', '2026-01-01T00:00:00.000Z')",
        Uuid::new_v4()
    ));
    let body = json!({"customer_name": NAME, "customer_email": EMAIL,
        "customer_phone": PHONE, "customer_country": "GB"});
    let created = post(&app, &token, Some("create-z"), &body).await;
    assert_eq!(created.status, 201, "{:?}", created.json());
    let id = created.json()["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/customer/{id}");
    let renamed = json!({"customer_name": format!("{NAME} Jr")});
    let put = send(
        &app,
        reqwest::Method::PUT,
        &path,
        &token,
        Some("\"1\""),
        Some(&renamed),
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    let needles = [NAME, EMAIL, PHONE];
    let before: std::collections::BTreeSet<String> = testkit::traces(db.dump(), &needles)
        .into_iter()
        .map(|(table, _)| table)
        .collect();
    for table in ["customers", "webhook_events", "idempotency_keys"] {
        assert!(before.contains(table), "no trace in {table}: {before:?}");
    }

    let deleted = send(
        &app,
        reqwest::Method::DELETE,
        &path,
        &token,
        Some("\"2\""),
        None,
    )
    .await;
    assert_eq!(deleted.status, 200, "{deleted:?}");

    let left = testkit::traces(db.dump(), &needles);
    assert!(left.is_empty(), "traces of the erased person: {left:#?}");
    // What goes out about the person now is customer.deleted, and only that.
    let out: Vec<(String, String)> = db
        .dump()
        .into_iter()
        .filter(|(table, row)| table == "webhook_events" && row.contains(&id))
        .collect();
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].1.contains("customer.deleted"), "{out:#?}");
}

on_both_stores!(
    two_updates_with_one_etag_give_one_200_and_one_412,
    a_new_address_after_kyc_started_is_409_email_locked,
    another_accounts_put_and_delete_are_404_and_change_nothing,
    a_retry_of_the_create_after_the_delete_is_410_and_creates_no_one,
    after_a_delete_no_table_holds_the_persons_name_address_or_phone,
);
