//! Logins and tokens: parallel correct logins, lock-out from one and from many addresses,
//! `nbf`, and a token crafted to forge a log line.

use std::time::Duration;

use serde_json::json;
use testkit::TempSqlite;

use super::{app, b64, claims_for, client_from, login_from, token_with};
use crate::helpers::SECRET;

#[tokio::test]
async fn ten_parallel_correct_logins_all_get_200_and_parallel_guesses_stop_at_five() {
    let data = TempSqlite::new();
    let app = app(&data, &[]).await;
    let (id, secret) = app.new_account().await;
    let id = id.to_string();

    let logins = (0..10).map(|_| app.login(&id, &secret));
    let statuses: Vec<u16> = futures_util::future::join_all(logins)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    assert_eq!(statuses, [200; 10]);

    let guesses = (0..10).map(|_| app.login(&id, "sk_guess"));
    let mut statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
}

#[tokio::test]
async fn guesses_from_one_address_do_not_lock_the_owner_out_but_guesses_from_many_do() {
    let data = TempSqlite::new();
    let app = app(&data, &["--login-max-failures-per-account", "8"]).await;
    let (id, secret) = app.new_account().await;
    let id = id.to_string();
    let stranger = client_from([127, 0, 0, 2]);
    let owner = client_from([127, 0, 0, 1]);

    for _ in 0..5 {
        let guess = login_from(&stranger, &app, &id, "sk_guess").await;
        assert_eq!(guess.status().as_u16(), 401);
    }
    // The stranger's address is now refused, even with the right secret…
    let refused = login_from(&stranger, &app, &id, &secret).await;
    assert_eq!(refused.status().as_u16(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // …but the owner, at another address, is not.
    let response = login_from(&owner, &app, &id, &secret).await;
    assert_eq!(response.status().as_u16(), 200);

    // Guesses spread over many addresses still meet the per-account limit (8 here).
    for n in 3..11 {
        let guess = login_from(&client_from([127, 0, 0, n]), &app, &id, "sk_guess").await;
        assert_eq!(guess.status().as_u16(), 401);
    }
    let response = login_from(&owner, &app, &id, &secret).await;
    assert_eq!(response.status().as_u16(), 429);
}

#[tokio::test]
async fn a_token_with_nbf_an_hour_ahead_is_401() {
    let data = TempSqlite::new();
    let app = app(&data, &[]).await;
    let (account, _) = app.new_account().await;
    let mut claims = claims_for(account);
    claims["nbf"] = json!(chrono::Utc::now().timestamp() + 3600);
    let (status, body) = app.get(&token_with(&claims), "/customers").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "invalid_token");
    claims["nbf"] = json!(chrono::Utc::now().timestamp() - 3600);
    let (status, body) = app.get(&token_with(&claims), "/customers").await;
    assert_eq!(status, 200, "{body}");
}

/// The real binary in its default (pretty) log format: a token whose `alg` holds a newline
/// starts no forged log line, and no log line grows with the size of what a client sends.
#[tokio::test]
async fn a_newline_in_a_tokens_alg_cannot_forge_a_log_line() {
    use crate::process::{server, Running};

    let data = TempSqlite::new();
    let log_path = data.dir().join("server.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("http://127.0.0.1:{port}");
    let running = Running(
        server()
            .args([
                "--data-dir",
                data.dir().to_str().unwrap(),
                "--listen-addr",
                &format!("127.0.0.1:{port}"),
                "--jwt-secret",
                SECRET,
            ])
            .env_remove("LOG_FORMAT")
            .env("RUST_LOG", "info,api=debug")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let forged_header =
        br#"{"alg":"HS256\nFORGED INFO api::sessions: login succeeded","typ":"JWT"}"#;
    let claims = claims_for(uuid::Uuid::new_v4()).to_string();
    let long_header = format!(r#"{{"alg":"{}","typ":"JWT"}}"#, "A".repeat(10_000));
    for header in [forged_header.to_vec(), long_header.into_bytes()] {
        let token = format!(
            "{}.{}.{}",
            b64(&header),
            b64(claims.as_bytes()),
            b64(b"sig")
        );
        let response = client
            .get(format!("{address}/customers"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
    }
    drop(running);

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("rejected a bearer token"), "{log}");
    for line in log.lines() {
        assert!(
            !line.trim_start().starts_with("FORGED"),
            "forged line: {line}"
        );
        assert!(line.len() < 4096, "a {}-byte log line", line.len());
    }
    assert!(
        !log.contains("FORGED"),
        "client text reached the log:\n{log}"
    );
}
