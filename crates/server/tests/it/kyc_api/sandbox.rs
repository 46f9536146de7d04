//! KYC by API on the zero-configuration app: the sandbox's deterministic outcomes, the
//! rules around them, and a SQLite file that keeps nothing sensitive.

use reqwest::Method;
use serde_json::{json, Value};
use testkit::TempSqlite;

use super::{assert_none_in, new_customer, sandbox_app, secrets_of, send, sqlite_bytes};

fn kyc(customer: &str) -> String {
    format!("/customer/{customer}/kyc")
}

#[tokio::test]
async fn terms_then_a_submission_put_the_customer_under_review_and_sqlite_keeps_no_secret() {
    let data = TempSqlite::new();
    let app = sandbox_app(&data, &[]).await;
    let token = app.token().await;
    let customer = new_customer(&app, &token, "ada@example.com").await;

    // Without an acceptance anywhere, nothing is sent.
    let mut submission = testkit::individual_submission_body();
    submission
        .as_object_mut()
        .unwrap()
        .remove("signed_agreement_id");
    let (status, refused) = send(
        &app,
        Method::POST,
        &token,
        &kyc(&customer),
        Some(&submission),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["details"]["signed_agreement_id"].is_string(),
        "{refused}"
    );

    let (status, link) = send(
        &app,
        Method::POST,
        &token,
        &format!("/customer/{customer}/tos-link"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{link}");
    let url = link["data"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/sandbox/tos-acceptance?redirect_uri=",
            app.address
        )),
        "{url}"
    );
    let page = app.client.get(url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let (_, read) = app.get(&token, &format!("/customer/{customer}")).await;
    assert_eq!(read["data"]["tos_status"], "approved", "{read}");

    let (status, submitted) = send(
        &app,
        Method::POST,
        &token,
        &kyc(&customer),
        Some(&submission),
    )
    .await;
    assert_eq!(status, 202, "{submitted}");
    assert_eq!(submitted["status_code"], 202);
    assert_eq!(submitted["data"]["kyc_status"], "under_review");
    assert!(submitted["data"]["customer_id"]
        .as_str()
        .unwrap()
        .starts_with("sandbox_customer_"));
    assert!(submitted["data"]["updated_at"].is_string());

    // Under review: a second submission waits.
    let (status, busy) = send(
        &app,
        Method::POST,
        &token,
        &kyc(&customer),
        Some(&submission),
    )
    .await;
    assert_eq!(status, 409, "{busy}");
    assert_eq!(busy["code"], "kyc_in_progress");

    let (status, listed) = send(&app, Method::GET, &token, &kyc(&customer), None).await;
    assert_eq!(status, 200, "{listed}");
    let records = listed["data"]["submissions"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{listed}");
    let record = &records[0];
    assert_eq!(record["outcome"], "accepted");
    assert_eq!(record["kyc_status"], "under_review");
    assert_eq!(
        record["identifying_information"][0]["number_last_four"],
        "6789"
    );
    assert_eq!(
        record["identifying_information"][1]["number_last_four"],
        "5432"
    );
    assert_eq!(
        record["identifying_information"][1]["image_front"],
        "image/jpeg"
    );
    assert!(record["fields"]
        .as_array()
        .unwrap()
        .contains(&json!("birth_date")));

    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"kyc_provider_operation_duration_seconds_count{operation="submit_kyc",outcome="ok",provider="sandbox"} 1"#,
        r#"kyc_provider_operation_duration_seconds_count{operation="create_tos_link",outcome="ok",provider="sandbox"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }

    let secrets = secrets_of(&submission);
    assert_none_in(listed.to_string().as_bytes(), &secrets, "the listing");
    assert_none_in(&sqlite_bytes(&data), &secrets, "the SQLite database");
}

#[tokio::test]
async fn the_sandbox_rejects_the_last_name_reject_and_refuses_the_ssn_000000000() {
    let data = TempSqlite::new();
    let app = sandbox_app(&data, &[]).await;
    let token = app.token().await;
    let customer = new_customer(&app, &token, "grace@example.com").await;

    let mut refused = testkit::individual_submission_body();
    refused["identifying_information"][0]["number"] = "000-00-0000".into();
    let (status, body) = send(&app, Method::POST, &token, &kyc(&customer), Some(&refused)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "kyc_rejected");
    assert!(
        body["details"]["fields"]["identifying_information[0].number"].is_string(),
        "{body}"
    );

    let mut rejected = testkit::individual_submission_body();
    rejected["last_name"] = "Reject".into();
    let (status, body) = send(&app, Method::POST, &token, &kyc(&customer), Some(&rejected)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["data"]["kyc_status"], "rejected");
    assert!(
        body["data"]["rejection_reasons"][0]["reason"].is_string(),
        "{body}"
    );

    // After a rejection a new submission is allowed.
    let good = testkit::individual_submission_body();
    let (status, body) = send(&app, Method::POST, &token, &kyc(&customer), Some(&good)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["data"]["kyc_status"], "under_review");

    let (_, listed) = send(&app, Method::GET, &token, &kyc(&customer), None).await;
    let outcomes: Vec<&Value> = listed["data"]["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["outcome"])
        .collect();
    assert_eq!(
        outcomes,
        [&json!("accepted"), &json!("accepted"), &json!("refused")]
    );
    assert_eq!(
        listed["data"]["submissions"][2]["refused_fields"],
        json!(["identifying_information[0].number"])
    );
    assert_eq!(listed["data"]["submissions"][1]["kyc_status"], "rejected");
}

#[tokio::test]
async fn another_accounts_customer_and_the_wrong_kind_of_body_are_refused() {
    let data = TempSqlite::new();
    let app = sandbox_app(&data, &[]).await;
    let token = app.token().await;
    let customer = new_customer(&app, &token, "lin@example.com").await;
    let stranger = app.token().await;
    let body = testkit::individual_submission_body();
    for (method, path, payload) in [
        (Method::POST, kyc(&customer), Some(&body)),
        (Method::GET, kyc(&customer), None),
        (Method::POST, format!("/customer/{customer}/tos-link"), None),
    ] {
        let (status, answer) = send(&app, method.clone(), &stranger, &path, payload).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    let (status, answer) = send(
        &app,
        Method::POST,
        &token,
        &kyc(&customer),
        Some(&testkit::business_submission_body()),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["details"]["customer_type"].is_string(), "{answer}");
    let (status, _) = send(&app, Method::GET, &token, &kyc(&customer), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_business_submits_its_company_persons_and_documents() {
    let data = TempSqlite::new();
    let app = sandbox_app(&data, &[]).await;
    let token = app.token().await;
    let mut body = crate::helpers::seed_body();
    body["customer_email"] = "acme@example.com".into();
    body["customer_type"] = "business".into();
    let (status, created) = app.post_customer(&token, &body).await;
    assert_eq!(status, 201, "{created}");
    let customer = created["data"]["id"].as_str().unwrap().to_owned();
    let submission = testkit::business_submission_body();
    let (status, submitted) = send(
        &app,
        Method::POST,
        &token,
        &kyc(&customer),
        Some(&submission),
    )
    .await;
    assert_eq!(status, 202, "{submitted}");
    assert_eq!(submitted["data"]["kyc_status"], "under_review");
    let (_, listed) = send(&app, Method::GET, &token, &kyc(&customer), None).await;
    let record = &listed["data"]["submissions"][0];
    assert_eq!(record["customer_type"], "business");
    assert_eq!(record["documents"][0]["file"], "application/pdf");
    assert_eq!(
        record["identifying_information"][1]["path"],
        "associated_persons[0].identifying_information[0]"
    );
    // An individual's body for a business is refused, naming the type.
    let (status, refused) = send(
        &app,
        Method::POST,
        &token,
        &kyc(&customer),
        Some(&testkit::individual_submission_body()),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["details"]["customer_type"].is_string(), "{refused}");
}
