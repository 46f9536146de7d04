//! KYC by API on PostgreSQL with a local server playing Bridge: the terms round trip
//! through Bridge's acceptance link, the submission as a `PUT` of Bridge's customer, a
//! refusal mapped to our paths, and a `pg_dump` that holds nothing sensitive.

use reqwest::Method;
use serde_json::{json, Value};
use testkit::TestPostgres;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use super::{assert_none_in, new_customer, secrets_of, send};
use crate::helpers::{bridge_ok, start_on_postgres};

/// The customer id in the KYC link [`crate::helpers::bridge_link`] issues.
const BRIDGE_CUSTOMER: &str = "7d5b9315-796e-4d4d-b771-1ee5997e4abf";

fn pg_dump(db: &TestPostgres) -> Vec<u8> {
    let output = std::process::Command::new("pg_dump")
        .args(["--data-only", "--no-owner", "--dbname", db.url()])
        .output()
        .expect("pg_dump must be installed (postgresql-client)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[tokio::test]
async fn a_bridge_submission_updates_bridges_customer_and_postgres_keeps_no_secret() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_ok().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v0/customers/{BRIDGE_CUSTOMER}/tos_acceptance_link"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "url": "https://dashboard.bridge.xyz/accept-terms-of-service?t=74ea"
        })))
        .expect(1)
        .mount(&bridge)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/v0/customers/{BRIDGE_CUSTOMER}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": BRIDGE_CUSTOMER,
            "status": "under_review",
            "has_accepted_terms_of_service": true,
            "rejection_reasons": []
        })))
        .expect(1)
        .mount(&bridge)
        .await;
    let app = start_on_postgres(&db, &bridge).await;
    let token = app.token().await;
    let customer = new_customer(&app, &token, "ada@example.com").await;

    // Bridge's page sends the customer back with the acceptance's id.
    let (status, link) = send(
        &app,
        Method::POST,
        &token,
        &format!("/customer/{customer}/tos-link"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{link}");
    let url = reqwest::Url::parse(link["data"]["url"].as_str().unwrap()).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert!(
        redirect.starts_with(&format!("{}/tos/complete?state=", app.address)),
        "{redirect}"
    );
    let back = app
        .client
        .get(format!("{redirect}&signed_agreement_id=bridge-agreement-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status().as_u16(), 200);
    let thanks = back.text().await.unwrap();
    let etag = |response: &reqwest::Response| response.headers()["etag"].clone();
    let read = || {
        app.client
            .get(format!("{}/customer/{customer}", app.address))
            .bearer_auth(&token)
            .send()
    };
    let accepted = etag(&read().await.unwrap());

    // The state is still valid: replayed with another id, it is thanked alike and changes
    // nothing (neither the stored acceptance, checked below, nor the customer's version).
    let replay = app
        .client
        .get(format!(
            "{redirect}&signed_agreement_id=replayed-agreement-2"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status().as_u16(), 200);
    assert_eq!(replay.text().await.unwrap(), thanks);
    assert_eq!(etag(&read().await.unwrap()), accepted);

    let mut submission = testkit::individual_submission_body();
    submission
        .as_object_mut()
        .unwrap()
        .remove("signed_agreement_id");
    let (status, submitted) = send(
        &app,
        Method::POST,
        &token,
        &format!("/customer/{customer}/kyc"),
        Some(&submission),
    )
    .await;
    assert_eq!(status, 202, "{submitted}");
    assert_eq!(submitted["data"]["kyc_status"], "under_review");
    assert_eq!(submitted["data"]["customer_id"], BRIDGE_CUSTOMER);

    let received = bridge.received_requests().await.unwrap();
    let put = received
        .iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    let sent: Value = serde_json::from_slice(&put.body).unwrap();
    assert_eq!(
        sent["signed_agreement_id"], "bridge-agreement-1",
        "the stored acceptance is sent"
    );
    assert_eq!(
        sent["identifying_information"][0]["number"],
        testkit::SUBMITTED_SSN
    );
    assert!(put.headers.get("Idempotency-Key").is_none());

    assert_none_in(
        &pg_dump(&db),
        &secrets_of(&submission),
        "the PostgreSQL dump",
    );
}

#[tokio::test]
async fn a_bridge_refusal_is_422_with_our_paths_and_the_submission_is_kept_as_refused() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_ok().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": "bad_customer_request",
            "message": "fields missing from customer body.",
            "name": "residential_address.subdivision,ssn"
        })))
        .expect(1)
        .mount(&bridge)
        .await;
    let app = start_on_postgres(&db, &bridge).await;
    let token = app.token().await;
    let customer = new_customer(&app, &token, "grace@example.com").await;
    let submission = testkit::individual_submission_body();
    let (status, refused) = send(
        &app,
        Method::POST,
        &token,
        &format!("/customer/{customer}/kyc"),
        Some(&submission),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["details"]["provider_message"],
        "fields missing from customer body."
    );
    let fields = refused["details"]["fields"].as_object().unwrap();
    let mut paths: Vec<&String> = fields.keys().collect();
    paths.sort();
    assert_eq!(
        paths,
        ["identifying_information", "residential_address.subdivision"]
    );

    let (_, listed) = send(
        &app,
        Method::GET,
        &token,
        &format!("/customer/{customer}/kyc"),
        None,
    )
    .await;
    assert_eq!(listed["data"]["submissions"][0]["outcome"], "refused");
    assert_eq!(
        listed["data"]["submissions"][0]["refused_fields"],
        json!(["residential_address.subdivision", "identifying_information"])
    );
    // The customer is unchanged by a refusal.
    let (_, read) = app.get(&token, &format!("/customer/{customer}")).await;
    assert_eq!(read["data"]["kyc_status"], "approved");
    assert_none_in(
        &pg_dump(&db),
        &secrets_of(&submission),
        "the PostgreSQL dump",
    );
}
