//! The `server` binary as a user runs it: `--help`, `token`, and a real process serving.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testkit::TempSqlite;

use crate::helpers::{seed_body, settled};

/// The binary with none of the service's settings inherited from the environment.
pub(crate) fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    for var in [
        "DATABASE_URL",
        "DATA_DIR",
        "LISTEN_ADDR",
        "PUBLIC_URL",
        "JWT_SECRET",
        "SECRETS_ENCRYPTION_KEY",
        "WEBHOOK_ALLOW_HTTP",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
        "WEBHOOK_POLL_INTERVAL_MS",
        "WEBHOOK_RETRY_SCHEDULE",
        "KYC_PROVIDER",
        "BRIDGE_API_URL",
        "BRIDGE_API_KEY",
        "ACCOUNT_ID",
        "BRIDGE_WEBHOOK_PUBLIC_KEY",
        "BRIDGE_WEBHOOK_PUBLIC_KEY_FILE",
        "KYC_SYNC_INTERVAL_SECONDS",
    ] {
        command.env_remove(var);
    }
    command
}

pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn help_lists_the_subcommands_and_settings() {
    let output = server().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "serve",
        "migrate",
        "token",
        "accounts",
        "DATABASE_URL",
        "JWT_SECRET",
        "BRIDGE_API_KEY",
    ] {
        assert!(
            help.contains(needle),
            "{needle} missing from --help:\n{help}"
        );
    }
}

#[test]
fn a_bad_setting_stops_start_up_with_a_message_naming_it() {
    let data = TempSqlite::new();
    let output = server()
        .args(["--data-dir", data.dir().to_str().unwrap()])
        .env("KYC_PROVIDER", "bridge")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("BRIDGE_API_KEY"), "{stderr}");
}

#[test]
fn start_up_says_whether_bridge_webhooks_are_on_and_refuses_a_bad_key() {
    use std::io::{BufRead as _, BufReader};
    let data = TempSqlite::new();
    let mut child = Running(
        server()
            .args(["--data-dir", data.dir().to_str().unwrap()])
            .args(["--listen-addr", "127.0.0.1:0", "--log-format", "json"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let mut said = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        said.push_str(&line);
        said.push('\n');
        if line.contains("service ready") {
            break;
        }
    }
    assert!(said.contains("Bridge webhooks are off"), "{said}");
    drop(child);

    let keyfile = data.dir().join("bridge.pem");
    std::fs::write(
        &keyfile,
        "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let output = server()
        .args(["--data-dir", data.dir().to_str().unwrap()])
        .env("BRIDGE_WEBHOOK_PUBLIC_KEY_FILE", &keyfile)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("BRIDGE_WEBHOOK_PUBLIC_KEY_FILE"),
        "{stderr}"
    );
}

/// Runs the binary with `args` on `data_dir`; its stdout, or a panic with its stderr.
pub(crate) fn run_ok(data_dir: &str, args: &[&str]) -> String {
    let output = server()
        .args(args)
        .args(["--data-dir", data_dir])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The value of `key: value` in the CLI's output.
pub(crate) fn field(output: &str, key: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in {output}"))
        .trim()
        .to_owned()
}

/// A server process on `data_dir`, and its address once it answers.
async fn serve(data_dir: &str) -> (Running, String) {
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
                data_dir,
                "--listen-addr",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client
        .get(format!("{address}/customers"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the server never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (running, address)
}

async fn login(
    client: &reqwest::Client,
    address: &str,
    id: &str,
    secret: &str,
) -> reqwest::Response {
    client
        .post(format!("{address}/auth/login"))
        .json(&serde_json::json!({"account_id": id, "app_secret": secret}))
        .send()
        .await
        .unwrap()
}

/// The README's walk-through, on the real binary: create accounts with the CLI, log in,
/// create and read back a customer; the second account sees none of it; a disabled
/// account can no longer log in.
#[tokio::test]
async fn the_readme_walk_through_works_on_the_real_binary() {
    let data = TempSqlite::new();
    let data_dir = data.dir().to_str().unwrap().to_owned();
    let (_running, address) = serve(&data_dir).await;
    let client = reqwest::Client::new();

    let created = run_ok(&data_dir, &["accounts", "create", "--name", "Acme Fintech"]);
    let (id, secret) = (field(&created, "account_id"), field(&created, "app_secret"));
    assert!(secret.starts_with("sk_"), "{created}");

    let response = login(&client, &address, &id, &secret).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Authentication successful");
    assert_eq!(body["data"]["expires_in"], 600);
    let token = body["data"]["access_token"].as_str().unwrap().to_owned();

    let response = client
        .post(format!("{address}/customer"))
        .bearer_auth(&token)
        .json(&seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    let customer = created["data"]["id"].as_str().unwrap().to_owned();

    let read: serde_json::Value = client
        .get(format!("{address}/customer/{customer}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settled(&read["data"]), settled(&created["data"]));

    // `token --account-id` mints a working token for an existing account only.
    let minted = run_ok(&data_dir, &["token", "--account-id", &id]);
    let listed: serde_json::Value = client
        .get(format!("{address}/customers"))
        .bearer_auth(minted.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let unknown = server()
        .args([
            "token",
            "--data-dir",
            &data_dir,
            "--account-id",
            &uuid::Uuid::new_v4().to_string(),
        ])
        .output()
        .unwrap();
    assert!(!unknown.status.success());

    // A second account sees nothing of the first.
    let other = run_ok(&data_dir, &["token"]);
    let other = other.trim();
    let response = client
        .get(format!("{address}/customer/{customer}"))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let listed: serde_json::Value = client
        .get(format!("{address}/customers"))
        .bearer_auth(other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"], serde_json::json!([]));

    let accounts = run_ok(&data_dir, &["accounts", "list"]);
    assert!(
        accounts.contains(&id) && accounts.contains("Acme Fintech"),
        "{accounts}"
    );
    assert!(accounts.contains("development"), "{accounts}");
    assert!(
        !accounts.contains(&secret),
        "the list must never show a secret"
    );

    run_ok(&data_dir, &["accounts", "disable", &id]);
    assert_eq!(
        login(&client, &address, &id, &secret)
            .await
            .status()
            .as_u16(),
        401
    );
    assert!(run_ok(&data_dir, &["accounts", "list"]).contains("disabled"));
}
