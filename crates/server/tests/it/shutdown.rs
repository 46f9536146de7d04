//! Graceful shutdown of the real binary: SIGTERM while requests are in flight.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::TempSqlite;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{bridge_link, seed_body};
use crate::process::{field, run_ok, server, Running};

/// Requests in flight when SIGTERM arrives.
const IN_FLIGHT: usize = 20;

/// A free loopback port (released again, for the child to bind).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary serving on `data_dir` and `port` with Bridge at `bridge`; its log goes to
/// `log` so a failure can show it.
fn spawn_server(data_dir: &str, port: u16, bridge: &str, log: &Path) -> Running {
    let log = std::fs::File::create(log).unwrap();
    Running(
        server()
            .args([
                "--kyc-provider",
                "bridge",
                "--bridge-api-url",
                bridge,
                "--bridge-api-key",
                "sk-test",
                "--data-dir",
                data_dir,
                "--listen-addr",
                &format!("127.0.0.1:{port}"),
            ])
            .env_remove("SHUTDOWN_GRACE_SECONDS")
            .stdout(Stdio::null())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .unwrap(),
    )
}

/// Waits until the server at `address` answers HTTP at all.
async fn wait_until_answering(address: &str, log: &Path) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{address}/customers"))
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
}

/// Waits up to `timeout` for the child to exit by itself; its status, if it did.
async fn wait_for_exit(running: &mut Running, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM while 20 `POST /customer` requests wait on a slow Bridge: every one of them
/// completes with 201 and is stored, the process then exits by itself with success, and
/// nothing accepts connections on its port any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_requests_finish_then_exits_cleanly() {
    let data = TempSqlite::new();
    let data_dir = data.dir().to_str().unwrap().to_owned();
    let log = data.dir().join("server.log");
    let bridge = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v0/kyc_links"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(bridge_link())
                .set_delay(Duration::from_millis(800)),
        )
        .mount(&bridge)
        .await;

    let created = run_ok(
        &data_dir,
        &["accounts", "create", "--name", "Shutdown Test"],
    );
    let account_id = field(&created, "account_id");
    let token = run_ok(&data_dir, &["token", "--account-id", &account_id])
        .trim()
        .to_owned();

    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let mut running = spawn_server(&data_dir, port, &bridge.uri(), &log);
    wait_until_answering(&address, &log).await;

    // Twenty requests, each for a distinct customer, all held up by the slow Bridge.
    let client = reqwest::Client::new();
    let completed = Arc::new(AtomicUsize::new(0));
    let emails: BTreeSet<String> = (0..IN_FLIGHT)
        .map(|i| format!("shutdown-{i}@example.com"))
        .collect();
    let requests: Vec<_> = emails
        .iter()
        .map(|email| {
            let mut body = seed_body();
            body["customer_email"] = serde_json::json!(email);
            let request = client
                .post(format!("{address}/customer"))
                .bearer_auth(&token)
                .json(&body)
                .timeout(Duration::from_secs(60));
            let completed = completed.clone();
            tokio::spawn(async move {
                let outcome = match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body = response.text().await.unwrap_or_default();
                        Ok((status, body))
                    }
                    Err(error) => Err(format!("{error:#}")),
                };
                completed.fetch_add(1, Ordering::SeqCst);
                outcome
            })
        })
        .collect();

    // Wait until Bridge has seen all of them (they are then waiting on its 800 ms delay),
    // rather than guessing with a fixed sleep.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = bridge.received_requests().await.unwrap_or_default().len();
        if seen >= IN_FLIGHT {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {seen} of {IN_FLIGHT} requests reached Bridge; server log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let pid = running.0.id();
    let done_before_sigterm = completed.load(Ordering::SeqCst);
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -TERM {pid} failed");
    let sigterm_at = Instant::now();
    assert!(
        done_before_sigterm < IN_FLIGHT,
        "every request finished before SIGTERM; nothing was in flight"
    );

    let mut outcomes = Vec::new();
    for request in requests {
        outcomes.push(request.await.unwrap());
    }
    let failures: Vec<_> = outcomes
        .iter()
        .filter(|outcome| !matches!(outcome, Ok((201, _))))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {IN_FLIGHT} in-flight requests did not get 201 after SIGTERM: {failures:#?}\nserver log:\n{}",
        failures.len(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // Close the client's idle keep-alive connections; the server need not wait them out.
    drop(client);

    let status = wait_for_exit(&mut running, Duration::from_secs(15)).await;
    let exited_after = sigterm_at.elapsed();
    let status = status.unwrap_or_else(|| {
        panic!(
            "the server was still running 15 s after SIGTERM; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert!(
        status.success(),
        "the server exited with {status} after SIGTERM; its log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    eprintln!(
        "{done_before_sigterm} of {IN_FLIGHT} requests had finished at SIGTERM; \
         the server exited with {status} {exited_after:?} after it"
    );

    // Nothing listens on the port any more.
    assert!(
        std::net::TcpStream::connect_timeout(
            &format!("127.0.0.1:{port}").parse().unwrap(),
            Duration::from_secs(5)
        )
        .is_err(),
        "a new connection was accepted after the server exited"
    );

    // A fresh instance on the same data directory holds exactly the twenty customers.
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let restart_log = data.dir().join("server-restart.log");
    let _restarted = spawn_server(&data_dir, port, &bridge.uri(), &restart_log);
    wait_until_answering(&address, &restart_log).await;
    let response = reqwest::Client::new()
        .get(format!("{address}/customers?limit=100"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let listed: serde_json::Value = response.json().await.unwrap();
    let stored: BTreeSet<String> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|customer| customer["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        IN_FLIGHT,
        "{listed}"
    );
    assert_eq!(stored, emails);
}
