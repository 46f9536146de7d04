//! The real binary, configured through its environment, with a slow local stand-in for
//! Bridge: ten requests with one key while the first is in flight give one customer, one
//! provider call and `409 idempotency_key_in_use` for the others; the answer is replayed,
//! also after the process is restarted.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::TempSqlite;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Answer, Db};
use crate::helpers::{bridge_link, seed_body};
use crate::process::{server, Running};

const JWT_SECRET: &str = "idempotency-process-test-secret-0123456789";

/// The binary with `args`, configured for `db` and the Bridge stand-in at `bridge`.
fn binary(db: &Db, data: &TempSqlite, bridge: &str) -> std::process::Command {
    let mut command = server();
    command
        .env("DATABASE_URL", db.url())
        .env("DATA_DIR", data.dir())
        .env("JWT_SECRET", JWT_SECRET)
        .env("SECRETS_ENCRYPTION_KEY", crate::helpers::ENCRYPTION_KEY)
        .env("KYC_PROVIDER", "bridge")
        .env("BRIDGE_API_URL", bridge)
        .env("BRIDGE_API_KEY", "sk-test")
        .env("KYC_TIMEOUT_MS", "5000");
    command
}

/// A token for a new account, from `server token`.
fn token(db: &Db, data: &TempSqlite, bridge: &str) -> String {
    let output = binary(db, data, bridge).arg("token").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The binary serving on a free port; its address once it answers.
async fn serve(db: &Db, data: &TempSqlite, bridge: &str, log: &Path) -> (Running, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let running = Running(
        binary(db, data, bridge)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    );
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the server never answered; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (running, address)
}

async fn in_flight_requests_with_one_key_get_409_and_the_answer_survives_a_restart(db: Db) {
    let bridge = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v0/kyc_links"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(bridge_link())
                .set_delay(Duration::from_millis(1500)),
        )
        .expect(1)
        .mount(&bridge)
        .await;
    let data = TempSqlite::new();
    let log = data.dir().join("server.log");
    let token = Arc::new(token(&db, &data, &bridge.uri()));
    let (running, address) = serve(&db, &data, &bridge.uri(), &log).await;
    let client = reqwest::Client::new();
    let body = seed_body().to_string();

    let requests: Vec<_> = (0..10)
        .map(|_| {
            let (client, address, token, body) =
                (client.clone(), address.clone(), token.clone(), body.clone());
            tokio::spawn(async move {
                Answer::post(&client, &address, &token, Some("one-key"), &body).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }
    let created: Vec<_> = answers
        .iter()
        .filter(|a| a.status == 201 && !a.is_replay())
        .collect();
    assert_eq!(
        created.len(),
        1,
        "{answers:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let first = created[0].clone();
    let in_use: Vec<_> = answers.iter().filter(|a| a.status == 409).collect();
    assert!(!in_use.is_empty(), "{answers:?}");
    for answer in &in_use {
        assert_eq!(answer.json()["code"], "idempotency_key_in_use");
        assert_eq!(answer.retry_after.as_deref(), Some("1"));
    }
    assert_eq!(
        in_use.len()
            + answers
                .iter()
                .filter(|a| a.is_replay() && a.bytes == first.bytes)
                .count(),
        9,
        "every other answer is a 409 or the first answer replayed: {answers:?}"
    );

    let replay = Answer::post(&client, &address, &token, Some("one-key"), &body).await;
    assert!(replay.is_replay());
    assert_eq!((replay.status, &replay.bytes), (201, &first.bytes));

    // A new process on the same database replays the same answer.
    drop(running);
    let (_running, address) = serve(&db, &data, &bridge.uri(), &log).await;
    let replay = Answer::post(&client, &address, &token, Some("one-key"), &body).await;
    assert!(replay.is_replay());
    assert_eq!((replay.status, &replay.bytes), (201, &first.bytes));
    assert_eq!(db.count("customers"), 1);
    // The stand-in's expectation (exactly one call) is checked when it is dropped.
}

super::on_both_stores!(in_flight_requests_with_one_key_get_409_and_the_answer_survives_a_restart);
