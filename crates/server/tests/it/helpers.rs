//! Starting the application for a test, and talking to it.

use serde_json::{json, Value};
use server::{Application, Config};
use testkit::TestPostgres;
use uuid::Uuid;
use wiremock::MockServer;

pub const SECRET: &str = "black-box-test-secret-black-box-test-secret";
/// The key that seals webhook secrets in the PostgreSQL-backed test apps.
pub const ENCRYPTION_KEY: &str = "5f1d3c0b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060504";

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub handle: actix_web::dev::ServerHandle,
    pub accounts: std::sync::Arc<ports::AccountService>,
    /// The DATA_DIR of an app whose data lives elsewhere, removed when the app is dropped.
    _scratch: Option<testkit::TempSqlite>,
}

impl TestApp {
    /// Builds and starts the application from command-line style arguments.
    pub async fn start(args: &[String]) -> anyhow::Result<Self> {
        let mut all = vec![
            "server".to_owned(),
            "--listen-addr".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--http-workers".to_owned(),
            "1".to_owned(),
        ];
        all.extend_from_slice(args);
        let config = Config::from_args(all)?;
        let app = Application::build(config).await?;
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        let accounts = app.accounts();
        tokio::spawn(app.run_until_stopped());
        Ok(Self {
            address,
            client: reqwest::Client::new(),
            handle,
            accounts,
            _scratch: None,
        })
    }

    /// Creates an account the way `server accounts create` does; returns its id and
    /// app secret.
    pub async fn new_account(&self) -> (Uuid, String) {
        let (account, secret) = self
            .accounts
            .create_account(domain::AccountName::parse("test client").unwrap())
            .await
            .expect("could not create an account");
        (account.id.0, secret)
    }

    /// `POST /auth/login`; the status and body.
    pub async fn login(&self, account_id: &str, app_secret: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/auth/login", self.address))
            .json(&json!({"account_id": account_id, "app_secret": app_secret}))
            .send()
            .await
            .expect("request failed");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A new account and an access token for it, obtained by logging in over HTTP.
    pub async fn account_token(&self) -> (Uuid, String) {
        let (id, secret) = self.new_account().await;
        let (status, body) = self.login(&id.to_string(), &secret).await;
        assert_eq!(status, 200, "login failed: {body}");
        let token = body["data"]["access_token"].as_str().unwrap().to_owned();
        (id, token)
    }

    /// An access token for a new account.
    pub async fn token(&self) -> String {
        self.account_token().await.1
    }

    /// `GET path` with `token`; the status and body.
    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("request failed");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn post_customer(&self, token: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/customer", self.address))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request failed");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }
}

/// The seed document's request body.
pub fn seed_body() -> Value {
    api::openapi::seed_request_example()
}

/// The application on a fresh Postgres database with Bridge at `bridge`.
pub async fn start_on_postgres(db: &TestPostgres, bridge: &MockServer) -> TestApp {
    start_on_postgres_with(db, bridge, &[]).await
}

/// The same, with extra settings.
pub async fn start_on_postgres_with(
    db: &TestPostgres,
    bridge: &MockServer,
    extra: &[&str],
) -> TestApp {
    start_on_database_url(db.url(), bridge, extra).await
}

/// The application on the PostgreSQL database at `url` with Bridge at `bridge`.
pub async fn start_on_database_url(url: &str, bridge: &MockServer, extra: &[&str]) -> TestApp {
    let bridge_url = bridge.uri();
    let defaults = [
        ("--database-url", url),
        ("--jwt-secret", SECRET),
        ("--secrets-encryption-key", ENCRYPTION_KEY),
        ("--kyc-provider", "bridge"),
        ("--bridge-api-url", bridge_url.as_str()),
        ("--bridge-api-key", "sk-test-key"),
        ("--kyc-timeout-ms", "700"),
        ("--kyc-max-attempts", "2"),
        ("--db-pool-size", "4"),
    ];
    // A setting given in `extra` replaces its default (clap refuses one given twice).
    let mut args: Vec<String> = defaults
        .iter()
        .filter(|(flag, _)| !extra.contains(flag))
        .flat_map(|(flag, value)| [flag.to_string(), value.to_string()])
        .collect();
    // Mail files (when no SMTP_URL is given) go to a scratch DATA_DIR, not the source tree.
    let scratch = testkit::TempSqlite::new();
    args.push("--data-dir".into());
    args.push(scratch.dir().to_str().unwrap().into());
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut app = TestApp::start(&args)
        .await
        .expect("the application should start");
    app._scratch = Some(scratch);
    app
}

/// How many customers the database holds.
pub fn count_customers(db: &TestPostgres) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = PgConnection::establish(db.url()).unwrap();
    diesel::sql_query("SELECT count(*) AS n FROM customers")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n
}

/// The stored KYC mail status of the customer with `email`.
pub fn mail_status(db: &TestPostgres, email: &str) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Status {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kyc_mail_status: String,
    }
    let mut conn = PgConnection::establish(db.url()).unwrap();
    diesel::sql_query("SELECT kyc_mail_status FROM customers WHERE email = $1")
        .bind::<diesel::sql_types::Text, _>(email)
        .get_result::<Status>(&mut conn)
        .unwrap()
        .kyc_mail_status
}

/// The status line and headers the server answered on `stream` with, read until they are
/// complete (or the connection ends), failing if they take longer than `within`.
pub async fn answer_head(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    within: std::time::Duration,
) -> String {
    use tokio::io::AsyncReadExt as _;
    let read = async {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buffer).await.unwrap();
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the server should have answered by now")
}

/// Everything the server sent on `stream` until it closed the connection (or reset it, as
/// it may when the client is still sending), failing if that takes longer than `within`.
pub async fn answer_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    within: std::time::Duration,
) -> String {
    use tokio::io::AsyncReadExt as _;
    let read = async {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Ok(n @ 1..) = stream.read(&mut buffer).await {
            answer.extend_from_slice(&buffer[..n]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the server should have closed the connection by now")
}

/// Waits until `check` holds or `timeout` passes; returns whether it held.
pub async fn eventually(timeout: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    check()
}

/// Bridge's KYC link object as its documentation and our seed show it.
pub fn bridge_link() -> Value {
    json!({
        "id": "kyc_link_123",
        "full_name": "Emmanuel A Towoju",
        "email": "tbash7676@gmail.com",
        "type": "individual",
        "kyc_link": "https://bridge.withpersona.com/verify?inquiry-template-id=itmpl_NtHYpb9AbEYCPxGo5iRbc9d2&fields[developer_id]=2da859f2&reference-id=7d5b9315&redirect-uri=https%3A%2F%2Fexample.com%2F",
        "tos_link": "https://dashboard.bridge.xyz/accept-terms-of-service?customer_id=7d5b9315-796e-4d4d-b771-1ee5997e4abf",
        "kyc_status": "approved",
        "rejection_reasons": [],
        "tos_status": "pending",
        "created_at": "2024-12-01T18:46:15.392Z",
        "customer_id": "7d5b9315-796e-4d4d-b771-1ee5997e4abf",
        "persona_inquiry_type": "gov_id_db"
    })
}

/// A customer's `data` without `kyc_mail_status`, which the mail worker moves on by
/// itself between two reads.
pub fn settled(data: &Value) -> Value {
    let mut data = data.clone();
    if let Some(object) = data.as_object_mut() {
        object.remove("kyc_mail_status");
    }
    data
}

/// Waits until the async `check` holds or `timeout` passes; returns whether it held.
pub async fn eventually_async<F, Fut>(timeout: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    check().await
}

/// A local HTTP server playing Bridge that issues [`bridge_link`] for every request.
pub async fn bridge_ok() -> MockServer {
    let bridge = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/v0/kyc_links"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(bridge_link()))
        .mount(&bridge)
        .await;
    bridge
}
