//! Builds the application from configuration: chooses and connects the adapters, runs
//! migrations, binds the listener and wires the HTTP server.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use adapters::bridge::BridgeKycProvider;
use adapters::mail::{FileMailer, SmtpMailer, SmtpSettings};
use adapters::metrics::MeteredKycProvider;
use adapters::password::Argon2Hasher;
use adapters::sandbox::SandboxKycProvider;
use adapters::Store;
use anyhow::Context as _;
use api::sessions::LoginThrottle;
use api::JwtKeys;
use ports::{
    AccountRepository, AccountService, AccountStatus, Authenticate, CreateCustomer,
    CustomerRepository, CustomerService, KycMailWorker, KycProvider, MailOutbox, Mailer,
    ReadCustomers, StoreHealth,
};

use crate::config::{
    Config, DatabaseSettings, HttpSettings, KycProviderKind, KycSettings, MailSettings, Storage,
};
use crate::secret::{self, SecretSource};

/// A bound, wired, not yet running service, and its KYC mail worker.
pub struct Application {
    port: u16,
    server: Server,
    worker: tokio::task::JoinHandle<()>,
    stop_worker: tokio::sync::watch::Sender<bool>,
    grace: Duration,
    accounts: Arc<AccountService>,
}

/// The ports the storage adapter serves.
struct Stores {
    customers: Arc<dyn CustomerRepository>,
    outbox: Arc<dyn MailOutbox>,
    accounts: Arc<dyn AccountRepository>,
    health: Arc<dyn StoreHealth>,
}

impl Stores {
    fn from_store<S>(store: S) -> Self
    where
        S: CustomerRepository + MailOutbox + AccountRepository + StoreHealth,
    {
        let store = Arc::new(store);
        Self {
            customers: store.clone(),
            outbox: store.clone(),
            accounts: store.clone(),
            health: store,
        }
    }
}

impl Application {
    /// Connects to storage (migrating it), builds the KYC provider, binds LISTEN_ADDR.
    /// Every failure names the setting or dependency at fault.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let storage = config.database.storage()?;
        let keys = token_keys(&config, &storage)?;
        let kyc_kind = config.kyc.provider()?;
        let listener = TcpListener::bind(config.http.listen_addr).with_context(|| {
            format!(
                "could not listen on LISTEN_ADDR={}",
                config.http.listen_addr
            )
        })?;
        let address = listener.local_addr()?;
        let public_url = config.http.public_url_or(address);
        let lease = config.mail.lease()?;
        let mailer = build_mailer(&config.mail, &config.database.data_dir)?;
        let stores = connect_storage(&storage, &config.database).await?;
        let registry = prometheus::Registry::new();
        let kyc = build_kyc_provider(&config.kyc, kyc_kind, &public_url, &registry)?;
        let customers = Arc::new(CustomerService::new(stores.customers, kyc));
        let accounts = Arc::new(build_accounts(
            stores.accounts,
            config.auth.account_status_ttl(),
        )?);

        // One set of limits for the process, shared by every HTTP worker.
        let limits = web::Data::new(api::limits::Limits::new(
            config.limits.limit_settings(),
            &registry,
        )?);
        let state = AppState {
            limits,
            metrics: web::Data::new(api::ops::Metrics::new(registry)?),
            health: web::Data::from(stores.health),
            keys: web::Data::new(keys),
            create: web::Data::from(customers.clone() as Arc<dyn CreateCustomer>),
            read: web::Data::from(customers as Arc<dyn ReadCustomers>),
            authenticate: web::Data::from(accounts.clone() as Arc<dyn Authenticate>),
            status: web::Data::from(accounts.clone() as Arc<dyn AccountStatus>),
            throttle: web::Data::new(LoginThrottle::new(config.auth.throttle_settings())),
            sandbox_routes: kyc_kind == KycProviderKind::Sandbox,
        };
        let server = http_server(&config.http, listener, state)?;

        let (worker, stop_worker) =
            spawn_mail_worker(&config.mail, stores.outbox, mailer.mailer, lease);

        tracing::info!(
            listen = %address,
            storage = %storage.describe(),
            kyc_provider = kyc_kind.as_str(),
            mail = %mailer.describe,
            "customer-onboarding service ready; API reference at /docs. Create an account with `server accounts create --name NAME` and log in at POST /auth/login, or mint a development token with `server token`"
        );
        Ok(Self {
            port: address.port(),
            server,
            worker,
            stop_worker,
            grace: config.http.shutdown_grace(),
            accounts,
        })
    }

    /// The port actually bound (useful with LISTEN_ADDR=…:0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The account use cases this application serves (what `server accounts` drives).
    pub fn accounts(&self) -> Arc<AccountService> {
        self.accounts.clone()
    }

    /// A handle to stop the server (gracefully or not) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM, letting in-flight requests finish, then stops the
    /// mail worker after the batch it is sending.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        tracing::info!("HTTP server stopped; stopping the KYC mail worker");
        let _ = self.stop_worker.send(true);
        // A mail still in flight afterwards keeps its lease and is sent again later (with
        // the same Message-ID), so the wait is short and bounded.
        let worker_grace = self.grace.min(Duration::from_secs(10));
        if tokio::time::timeout(worker_grace, self.worker)
            .await
            .is_err()
        {
            tracing::warn!("the KYC mail worker did not stop in time; its mail will be retried");
        }
        tracing::info!("shut down cleanly");
        served
    }
}

async fn connect_storage(storage: &Storage, config: &DatabaseSettings) -> anyhow::Result<Stores> {
    let settings = config.pool_settings();
    let storage = storage.clone();
    // Opening a pool and migrating block; keep that off the async runtime.
    tokio::task::spawn_blocking(move || -> anyhow::Result<Stores> {
        match storage {
            Storage::Postgres(url) => {
                let store = Store::connect_postgres(&url, &settings)
                    .context("could not connect to PostgreSQL at DATABASE_URL")?;
                let applied = store.run_migrations()?;
                tracing::info!(applied, "PostgreSQL migrations up to date");
                Ok(Stores::from_store(store))
            }
            Storage::Sqlite(path) => {
                let store = Store::connect_sqlite(&path, &settings)?;
                let applied = store.run_migrations()?;
                tracing::info!(applied, "SQLite migrations up to date");
                Ok(Stores::from_store(store))
            }
        }
    })
    .await
    .context("start-up task failed")?
}

/// What every HTTP worker's `App` is given.
#[derive(Clone)]
struct AppState {
    limits: web::Data<api::limits::Limits>,
    metrics: web::Data<api::ops::Metrics>,
    health: web::Data<dyn StoreHealth>,
    keys: web::Data<JwtKeys>,
    create: web::Data<dyn CreateCustomer>,
    read: web::Data<dyn ReadCustomers>,
    authenticate: web::Data<dyn Authenticate>,
    status: web::Data<dyn AccountStatus>,
    throttle: web::Data<LoginThrottle>,
    /// The sandbox provider's pages are served only when it is the provider.
    sandbox_routes: bool,
}

/// The HTTP server on `listener`, with every route, the load limits and the
/// observability middleware (outermost, so that refusals are logged and counted too).
fn http_server(
    settings: &HttpSettings,
    listener: TcpListener,
    state: AppState,
) -> anyhow::Result<actix_web::dev::Server> {
    let mut server = HttpServer::new(move || {
        let state = state.clone();
        App::new()
            .wrap(middleware::from_fn(api::limits::body_idle_timeout))
            .wrap(middleware::from_fn(api::limits::admit))
            .wrap(middleware::from_fn(api::ops::observe))
            .app_data(state.limits)
            .app_data(state.metrics)
            .app_data(state.health)
            .app_data(state.keys)
            .app_data(state.create)
            .app_data(state.read)
            .app_data(state.authenticate)
            .app_data(state.status)
            .app_data(state.throttle)
            .configure(api::configure)
            .configure(|cfg| {
                if state.sandbox_routes {
                    api::sandbox::configure(cfg);
                }
            })
            .default_service(web::to(api::not_found))
    })
    .worker_max_blocking_threads(usize::try_from(settings.blocking_threads)?)
    .shutdown_timeout(settings.shutdown_grace_seconds)
    .listen(listener)?;
    if settings.http_workers > 0 {
        server = server.workers(settings.http_workers);
    }
    Ok(server.run())
}

/// The keys that sign and check bearer tokens, with the secret JWT_SECRET gives or, on
/// SQLite without it, the development secret in DATA_DIR.
fn token_keys(config: &Config, storage: &Storage) -> anyhow::Result<JwtKeys> {
    let (secret, source) = secret::resolve(config, storage)?;
    let keys = JwtKeys::new(&config.auth.jwt_settings(secret))?;
    match &source {
        SecretSource::Generated(path) => tracing::info!(
            path = %path.display(),
            "generated a development JWT secret (set JWT_SECRET in production)"
        ),
        SecretSource::File(path) => {
            tracing::info!(path = %path.display(), "using the development JWT secret")
        }
        SecretSource::Environment => {}
    }
    Ok(keys)
}

/// The KYC provider port: Bridge or the sandbox (whose links point at `public_url`),
/// metered into `registry` either way.
fn build_kyc_provider(
    settings: &KycSettings,
    kind: KycProviderKind,
    public_url: &str,
    registry: &prometheus::Registry,
) -> anyhow::Result<Arc<dyn KycProvider>> {
    let provider: Arc<dyn KycProvider> = match kind {
        KycProviderKind::Bridge => Arc::new(BridgeKycProvider::new(settings.bridge_settings())?),
        KycProviderKind::Sandbox => Arc::new(SandboxKycProvider::new(public_url)),
    };
    Ok(Arc::new(MeteredKycProvider::new(provider, registry)?))
}

/// Starts the KYC mail worker; it runs until the returned sender says `true`.
fn spawn_mail_worker(
    settings: &MailSettings,
    outbox: Arc<dyn MailOutbox>,
    mailer: Arc<dyn Mailer>,
    lease: Duration,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::watch::Sender<bool>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = KycMailWorker::new(outbox, mailer, settings.retry_policy(), lease);
    let running = tokio::spawn(worker.run(settings.poll_interval(), stopped));
    (running, stop)
}

/// The configured mail transport and how to describe it in the banner.
struct ChosenMailer {
    mailer: Arc<dyn Mailer>,
    describe: String,
}

/// The mailer port: SMTP when SMTP_URL is set, else `.eml` files in DATA_DIR/mail.
fn build_mailer(settings: &MailSettings, data_dir: &Path) -> anyhow::Result<ChosenMailer> {
    let from = adapters::mail::parse_from(&settings.mail_from)?;
    match settings.smtp_url() {
        Some(url) => Ok(ChosenMailer {
            mailer: Arc::new(SmtpMailer::new(SmtpSettings {
                url: url.to_owned(),
                from,
                timeout: settings.smtp_timeout(),
            })?),
            describe: "smtp (SMTP_URL)".into(),
        }),
        None => {
            let dir = data_dir.join("mail");
            let mailer = FileMailer::new(&dir, from)?;
            Ok(ChosenMailer {
                mailer: Arc::new(mailer),
                describe: format!("file ({})", dir.display()),
            })
        }
    }
}

/// The account use cases over `repository`, hashing secrets with argon2id. Builds the
/// hasher's decoy hash, which blocks for a few tens of milliseconds: start-up only.
fn build_accounts(
    repository: Arc<dyn AccountRepository>,
    status_ttl: Duration,
) -> anyhow::Result<AccountService> {
    let hasher = Arc::new(Argon2Hasher::new()?);
    Ok(AccountService::new(repository, hasher, status_ttl))
}

/// Applies migrations for the configured storage.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    connect_storage(&config.database.storage()?, &config.database)
        .await
        .map(drop)
}

/// The account use cases on the configured storage (migrated first), for the CLI.
pub async fn account_service(config: &Config) -> anyhow::Result<AccountService> {
    let stores = connect_storage(&config.database.storage()?, &config.database).await?;
    build_accounts(stores.accounts, Duration::ZERO)
}
