//! Operability over HTTP: `/readyz` following the database through an outage, `/metrics`
//! moving under requests, and logs free of personal data and secrets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::{
    bridge_ok, eventually_async, seed_body, start_on_database_url, start_on_postgres_with, TestApp,
};
use testkit::TestPostgres;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy in front of PostgreSQL that a test can cut (closing every connection
/// and refusing new ones, as a stopped server would) and restore on the same port.
struct CuttableProxy {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl CuttableProxy {
    async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            port: listener.local_addr().unwrap().port(),
            target: target.to_owned(),
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let tasks = self.tasks.clone();
        let target = self.target.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(connection);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the listener and every proxied connection.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same port.
    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }

    /// `url` with its host and port replaced by the proxy's.
    fn url_through(&self, url: &str) -> String {
        let (scheme_user, rest) = url.split_once('@').unwrap();
        let (_, database) = rest.split_once('/').unwrap();
        format!("{scheme_user}@127.0.0.1:{}/{database}", self.port)
    }
}

fn authority(url: &str) -> String {
    let rest = url.split_once('@').unwrap().1;
    rest.split_once('/').unwrap().0.to_owned()
}

async fn status_of(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn readyz_turns_503_while_postgres_is_down_and_200_when_it_is_back() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let proxy = CuttableProxy::start(&authority(db.url())).await;
    let url = proxy.url_through(db.url());
    let app =
        start_on_database_url(&url, &bridge_ok().await, &["--db-pool-timeout-ms", "500"]).await;
    assert_eq!(status_of(&app, "/readyz").await.0, 200);
    assert_eq!(status_of(&app, "/healthz").await.0, 200);

    proxy.cut();
    let (status, body) = status_of(&app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["reason"], "database unreachable");
    assert!(!body.to_string().contains("postgres://"));
    assert_eq!(
        status_of(&app, "/healthz").await.0,
        200,
        "alive while not ready"
    );
    let token_less = app.post_customer("x", &seed_body()).await.0;
    assert_eq!(token_less, 401);

    proxy.restore().await;
    assert!(
        eventually_async(Duration::from_secs(10), || async {
            status_of(&app, "/readyz").await.0 == 200
        })
        .await,
        "/readyz never recovered"
    );
    let token = app.token().await;
    assert_eq!(app.post_customer(&token, &seed_body()).await.0, 201);
}

#[tokio::test]
async fn metrics_move_under_requests() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let app = start_on_postgres_with(
        &db,
        &bridge_ok().await,
        &["--mail-poll-interval-ms", "3600000"],
    )
    .await;
    let token = app.token().await;
    assert_eq!(app.post_customer(&token, &seed_body()).await.0, 201);
    assert_eq!(app.post_customer(&token, &seed_body()).await.0, 409);

    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    for line in [
        r#"http_requests_total{method="POST",route="/customer",status="201"} 1"#,
        r#"http_requests_total{method="POST",route="/customer",status="409"} 1"#,
        r#"http_requests_total{method="POST",route="/auth/login",status="200"} 1"#,
        r#"kyc_provider_request_duration_seconds_count{outcome="ok",provider="bridge"} 1"#,
        "kyc_mail_outbox_queued 1",
        "db_pool_connections_idle",
        "db_pool_connections_in_use",
        "db_pool_waiting",
        "kyc_mail_outbox_oldest_age_seconds",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}

/// The real binary, logging JSON at debug level for the service's own crates, through a
/// login, customers created, read, listed and mailed, a rejected body, and KYC submissions
/// (invalid, refused, taken): its log names no e-mail address, phone number, name, app
/// secret, token or JWT secret, and no identity number, birth date or image bytes.
#[tokio::test]
async fn logs_carry_request_ids_but_no_personal_data_or_secrets() {
    use crate::process::{field, run_ok, server, Running};

    let data = testkit::TempSqlite::new();
    let data_dir = data.dir().to_str().unwrap().to_owned();
    let log_path = data.dir().join("server.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("http://127.0.0.1:{port}");
    let created = run_ok(&data_dir, &["accounts", "create", "--name", "Log Check"]);
    let (id, secret) = (field(&created, "account_id"), field(&created, "app_secret"));

    let running = Running(
        server()
            .args([
                "--data-dir",
                &data_dir,
                "--listen-addr",
                &format!("127.0.0.1:{port}"),
            ])
            .env("LOG_FORMAT", "json")
            .env(
                "RUST_LOG",
                "info,api=debug,ports=debug,adapters=debug,server=debug",
            )
            .env("MAIL_POLL_INTERVAL_MS", "50")
            .env("KYC_SANDBOX_APPROVAL_DELAY_MS", "50")
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

    let login = |secret: String| {
        client
            .post(format!("{address}/auth/login"))
            .json(&serde_json::json!({"account_id": id, "app_secret": secret}))
            .send()
    };
    assert_eq!(
        login("sk_wrong-guess".into())
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    let body: serde_json::Value = login(secret.clone()).await.unwrap().json().await.unwrap();
    let token = body["data"]["access_token"].as_str().unwrap().to_owned();

    let mut customer = seed_body();
    customer["customer_name"] = "Zed Privacy".into();
    customer["customer_email"] = "pii.check@example.com".into();
    customer["customer_phone"] = "+1 (415) 555-2671".into();
    let created: serde_json::Value = client
        .post(format!("{address}/customer"))
        .bearer_auth(&token)
        .json(&customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let customer_id = created["data"]["id"].as_str().unwrap().to_owned();
    // KYC by API: a submission refused by validation, one refused by the sandbox, and one
    // taken, each with an identity number, a birth date and an image.
    let submission = testkit::individual_submission_body();
    let kyc = format!("{address}/customer/{customer_id}/kyc");
    let mut invalid = submission.clone();
    invalid["residential_address"]["subdivision"] = "QQ".into();
    let mut refused = submission.clone();
    refused["identifying_information"][0]["number"] = "000000000".into();
    for (body, status) in [(&invalid, 400), (&refused, 422), (&submission, 202)] {
        let response = client
            .post(&kyc)
            .bearer_auth(&token)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
    }
    let mut bad = customer.clone();
    bad["customer_email"] = "bad@@pii.example.com".into();
    bad["customer_phone"] = "++99912345".into();
    let rejected = client
        .post(format!("{address}/customer"))
        .bearer_auth(&token)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status().as_u16(), 400);
    for path in [
        format!("/customer/{customer_id}"),
        "/customers?email=pii.check%40example.com".to_owned(),
    ] {
        let response = client
            .get(format!("{address}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    let mail_dir = data.dir().join("mail");
    assert!(
        crate::helpers::eventually(Duration::from_secs(10), || std::fs::read_dir(&mail_dir)
            .map(|d| d.count() == 1)
            .unwrap_or(false))
        .await,
        "the KYC mail was never written"
    );
    // The sandbox's later approval went through the KYC lifecycle (and was logged, by
    // identifiers only) before the log is read.
    assert!(
        crate::helpers::eventually(Duration::from_secs(10), || std::fs::read_to_string(
            &log_path
        )
        .map(|log| log
            .lines()
            .any(|l| l.contains("KYC report handled") && l.contains("\"source\":\"sandbox\"")))
        .unwrap_or(false))
        .await,
        "the sandbox's update never arrived"
    );
    drop(running);

    let log = std::fs::read_to_string(&log_path).unwrap();
    let jwt_secret = std::fs::read_to_string(server::secret::secret_path(data.dir())).unwrap();
    assert!(log.contains("request completed"), "{log}");
    assert!(log.contains("\"request_id\""), "{log}");
    assert!(log.contains(&customer_id), "ids are fine to log");
    for needle in [
        "pii.check",
        "example.com",
        "Zed Privacy",
        "4155552671",
        "555-2671",
        "99912345",
        secret.as_str(),
        "sk_wrong-guess",
        token.as_str(),
        jwt_secret.trim(),
        "Bearer",
    ] {
        assert!(!log.contains(needle), "the log contains {needle:?}:\n{log}");
    }
    assert!(
        log.contains("/customer/{id}/kyc"),
        "the KYC requests were logged: {log}"
    );
    for needle in crate::kyc_api::secrets_of(&submission) {
        assert!(
            !log.contains(&needle),
            "the log contains {needle:?}:\n{log}"
        );
    }
}
