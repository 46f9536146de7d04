//! Builds the application from configuration: chooses and connects the adapters, runs
//! migrations, binds the listener and wires the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use adapters::bridge::{BridgeKycProvider, BridgeSettings};
use adapters::mail::{FileMailer, SmtpMailer, SmtpSettings};
use adapters::metrics::MeteredKycProvider;
use adapters::postgres::PgStore;
use adapters::sandbox::SandboxKycProvider;
use adapters::sqlite::SqliteStore;
use anyhow::Context as _;
use api::sessions::LoginThrottle;
use api::JwtKeys;
use ports::{
    AccountRepository, AccountService, AccountStatus, Authenticate, CreateCustomer,
    CustomerRepository, CustomerService, KycMailWorker, KycProvider, MailOutbox, Mailer,
    ReadCustomers, StoreHealth,
};

use crate::config::{Config, KycProviderKind, Storage};
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
        let storage = config.storage()?;
        let (secret, secret_source) = secret::resolve(&config, &storage)?;
        let keys = web::Data::new(JwtKeys::new(&config.jwt_settings(secret))?);
        match &secret_source {
            SecretSource::Generated(path) => tracing::info!(
                path = %path.display(),
                "generated a development JWT secret (set JWT_SECRET in production)"
            ),
            SecretSource::File(path) => {
                tracing::info!(path = %path.display(), "using the development JWT secret")
            }
            SecretSource::Environment => {}
        }

        let kyc_kind = config.kyc_provider()?;
        let listener = TcpListener::bind(config.listen_addr)
            .with_context(|| format!("could not listen on LISTEN_ADDR={}", config.listen_addr))?;
        let address = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));

        let lease = config.mail_lease()?;
        let mailer = build_mailer(&config)?;
        let stores = connect_storage(&storage, &config).await?;
        let repository = stores.customers;
        let kyc: Arc<dyn KycProvider> = match kyc_kind {
            KycProviderKind::Bridge => Arc::new(BridgeKycProvider::new(BridgeSettings {
                base_url: config.bridge_api_url.clone(),
                api_key: config.bridge_api_key.clone().unwrap_or_default(),
                connect_timeout: Duration::from_millis(config.kyc_connect_timeout_ms),
                request_timeout: Duration::from_millis(config.kyc_timeout_ms),
                max_attempts: config.kyc_max_attempts,
                retry_backoff: Duration::from_millis(200),
            })?),
            KycProviderKind::Sandbox => Arc::new(SandboxKycProvider::new(&public_url)),
        };
        let registry = prometheus::Registry::new();
        let kyc: Arc<dyn KycProvider> = Arc::new(MeteredKycProvider::new(kyc, &registry)?);
        let metrics = web::Data::new(api::ops::Metrics::new(registry)?);
        let health = web::Data::from(stores.health);
        let customers = Arc::new(CustomerService::new(repository, kyc));
        let create: Arc<dyn CreateCustomer> = customers.clone();
        let create = web::Data::from(create);
        let read: Arc<dyn ReadCustomers> = customers;
        let read = web::Data::from(read);
        let accounts = Arc::new(AccountService::new(
            stores.accounts,
            Duration::from_secs(config.account_status_cache_seconds),
        )?);
        let authenticate: Arc<dyn Authenticate> = accounts.clone();
        let authenticate = web::Data::from(authenticate);
        let status: Arc<dyn AccountStatus> = accounts.clone();
        let status = web::Data::from(status);
        let throttle = web::Data::new(LoginThrottle::new(config.throttle_settings()));
        let sandbox = kyc_kind == KycProviderKind::Sandbox;

        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(middleware::from_fn(api::hardening::guard))
                .wrap(middleware::from_fn(api::ops::observe))
                .app_data(metrics.clone())
                .app_data(health.clone())
                .app_data(keys.clone())
                .app_data(create.clone())
                .app_data(read.clone())
                .app_data(authenticate.clone())
                .app_data(status.clone())
                .app_data(throttle.clone())
                .configure(api::configure)
                .configure(|cfg| {
                    if sandbox {
                        api::sandbox::configure(cfg);
                    }
                })
                .default_service(web::to(api::not_found))
        })
        .worker_max_blocking_threads(usize::try_from(config.blocking_threads)?)
        .shutdown_timeout(config.shutdown_grace_seconds)
        .listen(listener)?;
        if config.http_workers > 0 {
            server = server.workers(config.http_workers);
        }

        let mail_transport = mailer.describe.clone();
        let (stop_worker, stopped) = tokio::sync::watch::channel(false);
        let worker = KycMailWorker::new(stores.outbox, mailer.mailer, config.retry_policy(), lease);
        let worker =
            tokio::spawn(worker.run(Duration::from_millis(config.mail_poll_interval_ms), stopped));

        tracing::info!(
            listen = %address,
            storage = %storage.describe(),
            kyc_provider = kyc_kind.as_str(),
            mail = %mail_transport,
            "customer-onboarding service ready; API reference at /docs. Create an account with `server accounts create --name NAME` and log in at POST /auth/login, or mint a development token with `server token`"
        );
        Ok(Self {
            port: address.port(),
            server: server.run(),
            worker,
            stop_worker,
            grace: Duration::from_secs(config.shutdown_grace_seconds),
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

async fn connect_storage(storage: &Storage, config: &Config) -> anyhow::Result<Stores> {
    let settings = config.pool_settings();
    let storage = storage.clone();
    // Opening a pool and migrating block; keep that off the async runtime.
    tokio::task::spawn_blocking(move || -> anyhow::Result<Stores> {
        match storage {
            Storage::Postgres(url) => {
                let pool = adapters::postgres::connect(&url, &settings)
                    .context("could not connect to PostgreSQL at DATABASE_URL")?;
                let applied = adapters::postgres::run_migrations(&pool)?;
                tracing::info!(applied, "PostgreSQL migrations up to date");
                Ok(Stores::from_store(PgStore::new(pool)))
            }
            Storage::Sqlite(path) => {
                let pool = adapters::sqlite::connect(&path, &settings)?;
                let applied = adapters::sqlite::run_migrations(&pool)?;
                tracing::info!(applied, "SQLite migrations up to date");
                Ok(Stores::from_store(SqliteStore::new(pool)))
            }
        }
    })
    .await
    .context("start-up task failed")?
}

/// The configured mail transport and how to describe it in the banner.
struct ChosenMailer {
    mailer: Arc<dyn Mailer>,
    describe: String,
}

fn build_mailer(config: &Config) -> anyhow::Result<ChosenMailer> {
    let from = adapters::mail::parse_from(&config.mail_from)?;
    match config
        .smtp_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(url) => Ok(ChosenMailer {
            mailer: Arc::new(SmtpMailer::new(SmtpSettings {
                url: url.to_owned(),
                from,
                timeout: Duration::from_millis(config.smtp_timeout_ms),
            })?),
            describe: "smtp (SMTP_URL)".into(),
        }),
        None => {
            let dir = config.data_dir.join("mail");
            let mailer = FileMailer::new(&dir, from)?;
            Ok(ChosenMailer {
                mailer: Arc::new(mailer),
                describe: format!("file ({})", dir.display()),
            })
        }
    }
}

/// Applies migrations for the configured storage.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    connect_storage(&config.storage()?, config).await.map(drop)
}

/// The account use cases on the configured storage (migrated first), for the CLI.
pub async fn account_service(config: &Config) -> anyhow::Result<AccountService> {
    let stores = connect_storage(&config.storage()?, config).await?;
    AccountService::new(stores.accounts, Duration::ZERO)
}
