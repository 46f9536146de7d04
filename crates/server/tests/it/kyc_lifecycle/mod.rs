//! The KYC lifecycle on the real application: the sandbox walk-through in "browser" forms
//! (here); Bridge's webhook key, its signed webhooks on PostgreSQL, and the poller against a
//! local Bridge (`bridge`).

mod bridge;

use serde_json::{json, Value};
use testkit::TempSqlite;

use crate::helpers::{seed_body, TestApp};

/// A browser that does not follow redirects, so each step can be checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The application's metrics page, as text.
async fn metrics(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn with_zero_configuration_a_customer_is_walked_to_approved_in_the_browser() {
    let data = TempSqlite::new();
    let app = TestApp::start(&["--data-dir".into(), data.dir().to_str().unwrap().into()])
        .await
        .unwrap();
    let (_, token) = app.account_token().await;
    let (status, created) = app.post_customer(&token, &seed_body()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let kyc_link = created["data"]["kyc_link"].as_str().unwrap().to_owned();
    let tos_link = created["data"]["tos_link"].as_str().unwrap().to_owned();

    let page = browser().get(&kyc_link).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("form-action 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<strong>not_started</strong>") && html.contains("Approve"),
        "{html}"
    );

    // Approve, as the page's form posts it; the answer sends the browser back.
    let decided = browser()
        .post(&kyc_link)
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status().as_u16(), 303);
    let location = decided.headers()["location"].to_str().unwrap().to_owned();
    let back = reqwest::Url::parse(&kyc_link)
        .unwrap()
        .join(&location)
        .unwrap();
    assert_eq!(back.as_str(), kyc_link);
    let html = browser()
        .get(back)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<strong>approved</strong>"), "{html}");

    let accepted = browser()
        .post(&tos_link)
        .form(&[("decision", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status().as_u16(), 303);

    let (status, read) = app.get(&token, &format!("/customer/{id}")).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["data"]["kyc_status"], "approved");
    assert_eq!(read["data"]["tos_status"], "approved");
    assert!(read["data"]["updated_at"].is_string());
    let (status, kyc) = app.get(&token, &format!("/customer/{id}/kyc")).await;
    assert_eq!(status, 200, "{kyc}");
    let history = kyc["data"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{kyc}");
    assert_eq!(
        (
            &history[0]["from"],
            &history[0]["to"],
            &history[0]["source"]
        ),
        (&json!("not_started"), &json!("approved"), &json!("sandbox"))
    );
    assert_eq!(history[1]["tos_status"], "approved");
    assert!(history.iter().all(|h| h["applied"] == true));
    let (status, listed) = app.get(&token, "/customers?kyc_status=approved").await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"][0]["id"], json!(id));

    // Another customer, rejected with a reason.
    let mut other = seed_body();
    other["customer_email"] = "other@example.com".into();
    let (_, created) = app.post_customer(&token, &other).await;
    let link = created["data"]["kyc_link"].as_str().unwrap();
    let rejected = browser()
        .post(link)
        .form(&[("decision", "reject"), ("reason", "ID photo is blurry")])
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status().as_u16(), 303);
    let (_, read) = app
        .get(
            &token,
            &format!("/customer/{}", created["data"]["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(read["data"]["kyc_status"], "rejected");
    assert_eq!(
        read["data"]["rejection_reasons"][0]["reason"],
        "ID photo is blurry"
    );

    assert!(metrics(&app)
        .await
        .contains(r#"kyc_events_total{outcome="applied",source="sandbox"} 3"#));
    // The document lists the sandbox pages, since they are served; webhooks are off.
    let doc: Value = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/sandbox/kyc/{id}"]["post"].is_object());
    let off = app
        .client
        .post(format!("{}/webhooks/bridge", app.address))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(off.status().as_u16(), 404);
}
