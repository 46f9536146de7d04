//! The zero-configuration shape: SQLite in a data directory, the sandbox provider, a
//! generated development secret — and all of it surviving a restart.

use testkit::TempSqlite;
use uuid::Uuid;

use crate::helpers::{seed_body, TestApp};

fn zero_config_args(data_dir: &std::path::Path) -> Vec<String> {
    vec!["--data-dir".into(), data_dir.to_str().unwrap().into()]
}

/// Mints a token the way `server token` does: with the secret the data directory holds.
fn token_from_data_dir(data_dir: &std::path::Path, account: Uuid) -> String {
    let secret = std::fs::read_to_string(server::secret::secret_path(data_dir)).unwrap();
    let config = server::Config::from_args(["server"]).unwrap();
    api::JwtKeys::new(&config.auth.jwt_settings(secret.trim().as_bytes().to_vec()))
        .unwrap()
        .issue(
            domain::AccountId(account),
            std::time::Duration::from_secs(600),
        )
        .unwrap()
}

#[tokio::test]
async fn zero_config_creates_customers_with_sandbox_links_that_survive_a_restart() {
    let data = TempSqlite::new();
    let app = TestApp::start(&zero_config_args(data.dir())).await.unwrap();
    let (account, _) = app.new_account().await;
    let token = token_from_data_dir(data.dir(), account);

    let (status, body) = app.post_customer(&token, &seed_body()).await;
    assert_eq!(status, 201, "{body}");
    let kyc_link = body["data"]["kyc_link"].as_str().unwrap().to_owned();
    let tos_link = body["data"]["tos_link"].as_str().unwrap().to_owned();
    assert!(
        kyc_link.starts_with(&format!("{}/sandbox/kyc/", app.address)),
        "{kyc_link}"
    );
    assert_eq!(body["data"]["kyc_status"], "not_started");
    assert_eq!(body["data"]["tos_status"], "pending");

    for link in [&kyc_link, &tos_link] {
        let page = app.client.get(link).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.text().await.unwrap().contains("Sandbox"));
    }

    app.handle.stop(true).await;
    let restarted = TestApp::start(&zero_config_args(data.dir())).await.unwrap();

    // The same token still works, and the stored customer is still there.
    let (status, read) = restarted
        .get(
            &token,
            &format!("/customer/{}", body["data"]["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200, "{read}");
    for field in ["id", "email", "kyc_link", "tos_link", "created_at", "phone"] {
        assert_eq!(read["data"][field], body["data"][field], "{field}");
    }
    let (status, body) = restarted.post_customer(&token, &seed_body()).await;
    assert_eq!(status, 409, "{body}");
    let mut another = seed_body();
    another["customer_email"] = "someone.else@example.com".into();
    assert_eq!(restarted.post_customer(&token, &another).await.0, 201);
}

#[tokio::test]
async fn concurrent_requests_on_sqlite_do_not_fail_with_database_locked() {
    let data = TempSqlite::new();
    let app = std::sync::Arc::new(TestApp::start(&zero_config_args(data.dir())).await.unwrap());
    let token = app.token().await;

    let requests: Vec<_> = (0..24)
        .map(|i| {
            let app = app.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let mut body = seed_body();
                body["customer_email"] = format!("customer{i}@example.com").into();
                app.post_customer(&token, &body).await
            })
        })
        .collect();
    for request in requests {
        let (status, body) = request.await.unwrap();
        assert_eq!(status, 201, "{body}");
    }
}

#[tokio::test]
async fn sandbox_pages_answer_404_for_ids_the_sandbox_never_issued() {
    let data = TempSqlite::new();
    let app = TestApp::start(&zero_config_args(data.dir())).await.unwrap();
    let page = app
        .client
        .get(format!("{}/sandbox/kyc/%3Cscript%3E", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 404);
}
