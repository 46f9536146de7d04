//! The real binary: an event committed just before a `kill -9` is delivered after the
//! restart, and the signing secret shows up neither in the logs (at debug level) nor in the
//! SQLite files.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;
use testkit::TempSqlite;
use wiremock::ResponseTemplate;

use super::{receiver, verifies, wait_for};
use crate::helpers::seed_body;
use crate::process::{field, run_ok, server, Running};

/// The binary on `data_dir` with local receivers allowed; its log goes to `log`.
fn spawn(data_dir: &str, port: u16, poll_ms: &str, log: &Path) -> Running {
    let log = std::fs::File::create(log).unwrap();
    Running(
        server()
            .args([
                "--data-dir",
                data_dir,
                "--listen-addr",
                &format!("127.0.0.1:{port}"),
            ])
            .env("WEBHOOK_ALLOW_HTTP", "true")
            .env("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
            .env("WEBHOOK_POLL_INTERVAL_MS", poll_ms)
            .env("WEBHOOK_RETRY_SCHEDULE", "100ms,100ms")
            .env("RUST_LOG", "debug")
            .env_remove("LOG_FORMAT")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_until_ready(address: &str, log: &Path) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .map_or(true, |r| !r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "the server never became ready; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every byte of every file in `dir` (the database, its WAL, the logs…), by file.
fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_before_a_kill_9_is_delivered_after_the_restart() {
    let data = TempSqlite::new();
    let data_dir = data.dir().to_str().unwrap().to_owned();
    let hook = receiver(ResponseTemplate::new(200)).await;
    let created = run_ok(&data_dir, &["accounts", "create", "--name", "Hooks"]);
    let account = field(&created, "account_id");
    let token = run_ok(&data_dir, &["token", "--account-id", &account])
        .trim()
        .to_owned();

    // The first instance's worker looks once at start-up and then not for an hour.
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let first_log = data.dir().join("first.log");
    let mut first = spawn(&data_dir, port, "3600000", &first_log);
    wait_until_ready(&address, &first_log).await;
    let client = reqwest::Client::new();
    let registered: serde_json::Value = client
        .post(format!("{address}/webhook-endpoints"))
        .bearer_auth(&token)
        .json(&json!({"url": format!("{}/hook", hook.uri())}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = registered["data"]["secret"].as_str().unwrap().to_owned();
    let customer: serde_json::Value = client
        .post(format!("{address}/customer"))
        .bearer_auth(&token)
        .json(&seed_body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(customer["status_code"], 201, "{customer}");

    // Committed, not sent: the process dies without any chance to clean up.
    let killed = Command::new("kill")
        .args(["-KILL", &first.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = first.0.wait();
    assert!(hook.received_requests().await.unwrap().is_empty());

    let port = free_port();
    let second_log = data.dir().join("second.log");
    let _second = spawn(&data_dir, port, "50", &second_log);
    wait_until_ready(&format!("http://127.0.0.1:{port}"), &second_log).await;
    let requests = wait_for(&hook, 1).await;
    assert_eq!(
        requests.len(),
        1,
        "the event was not delivered after the restart; log:\n{}",
        std::fs::read_to_string(&second_log).unwrap_or_default()
    );
    assert!(verifies(&requests[0], &secret));
    let event: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(event["type"], "customer.created");
    assert_eq!(event["data"]["id"], customer["data"]["id"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hook.received_requests().await.unwrap().len(), 1);

    // Nowhere in the data directory — database, WAL, logs at debug level — is the secret
    // in the clear: not its text, not its key in base64, not the key's bytes.
    let key_text = secret.trim_start_matches("whsec_").to_owned();
    let key = base64::engine::general_purpose::STANDARD
        .decode(&key_text)
        .unwrap();
    let files = files_in(data.dir());
    assert!(
        files.iter().any(|(name, _)| name == "customers.db"),
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(files
        .iter()
        .any(|(name, bytes)| name == "second.log" && contains(bytes, b"webhook delivered")));
    for (name, bytes) in &files {
        for needle in [secret.as_bytes(), key_text.as_bytes(), key.as_slice()] {
            assert!(!contains(bytes, needle), "{name} holds the signing secret");
        }
    }
}
