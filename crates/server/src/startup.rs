//! Builds the application from configuration: chooses and connects the adapters, runs
//! migrations, binds the listener and wires the HTTP server.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::web;
use adapters::bridge::BridgeKycProvider;
use adapters::mail::{FileMailer, SmtpMailer, SmtpSettings};
use adapters::metrics::{MeteredKycProvider, OutboxMetrics};
use adapters::password::Argon2Hasher;
use adapters::sandbox::SandboxKycProvider;
use adapters::Store;
use anyhow::Context as _;
use api::kyc::{TosLinks, TosStateKey};
use api::sessions::LoginThrottle;
use api::JwtKeys;
use domain::KycUpdate;
use ports::{
    AccountRepository, AccountService, AccountStatus, Authenticate, CreateCustomer,
    CustomerDirectory, CustomerRepository, CustomerService, DeleteCustomer, Events, Idempotency,
    IdempotencyStore, JobHandler, KycMailHandler, KycProvider, KycReports, KycSubmissionRepository,
    KycSubmissionService, KycSyncQueue, Mailer, ManageDeliveries, ManageWebhookEndpoints, Outbox,
    OutboxWorker, ReadCustomers, RetrySchedule, StatisticsRefresh, StoreHealth, StoreStatistics,
    SubmitKyc, TermsOfService, UpdateCustomer, WebhookDeliveries, WebhookEndpointRepository,
    WorkerSettings,
};

use crate::config::{
    Config, DatabaseSettings, KycProviderKind, KycSettings, MailSettings, Storage,
};
use crate::http::{http_server, AppState};
use crate::lifecycle::Lifecycle;
use crate::placement::OnRuntime;
use crate::secret::{self, SecretSource};
use crate::webhooks::Webhooks;

/// A bound, wired, not yet running service, and its background workers (the KYC mail and
/// webhook deliveries, the delivery retention job, the idempotency key purge, the KYC
/// poller and receipt retention).
pub struct Application {
    port: u16,
    server: Server,
    workers: Vec<tokio::task::JoinHandle<()>>,
    stop_workers: tokio::sync::watch::Sender<bool>,
    grace: Duration,
    accounts: Arc<AccountService>,
}

/// How often the store looks for tables whose planner statistics went stale (a look is one
/// read of PostgreSQL's table counters; see `ports::StoreStatistics`).
const STATISTICS_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// The ports the storage adapter serves.
struct Stores {
    customers: Arc<dyn CustomerRepository>,
    directory: Arc<dyn CustomerDirectory>,
    outbox: Arc<dyn Outbox>,
    accounts: Arc<dyn AccountRepository>,
    health: Arc<dyn StoreHealth>,
    statistics: Arc<dyn StoreStatistics>,
    idempotency: Arc<dyn IdempotencyStore>,
    kyc: Arc<dyn KycReports>,
    sync: Arc<dyn KycSyncQueue>,
    endpoints: Arc<dyn WebhookEndpointRepository>,
    deliveries: Arc<dyn WebhookDeliveries>,
    submissions: Arc<dyn KycSubmissionRepository>,
}

impl Stores {
    fn from_store(store: Store) -> Self {
        let store = Arc::new(store);
        Self {
            customers: store.clone(),
            directory: store.clone(),
            outbox: store.clone(),
            accounts: store.clone(),
            health: store.clone(),
            statistics: store.clone(),
            idempotency: store.clone(),
            kyc: store.clone(),
            sync: store.clone(),
            endpoints: store.clone(),
            deliveries: store.clone(),
            submissions: store,
        }
    }
}

impl Application {
    /// Connects to storage (migrating it), builds the KYC provider, binds LISTEN_ADDR.
    /// Every failure names the setting or dependency at fault.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let storage = config.database.storage()?;
        let (keys, tos_key) = token_keys(&config, &storage)?;
        let sealing_key = crate::webhooks::sealing_key(&config, &storage)?;
        let kyc_kind = config.kyc.provider()?;
        let webhook_verifier = config.lifecycle.webhook_verifier()?;
        let listener = TcpListener::bind(config.http.listen_addr).with_context(|| {
            format!(
                "could not listen on LISTEN_ADDR={}",
                config.http.listen_addr
            )
        })?;
        let address = listener.local_addr()?;
        let public_url = config.http.public_url_or(address);
        let lease = config.mail.lease()?;
        let limit_settings = config.limits.limit_settings()?;
        let key_policy = config.idempotency.policy(&config.kyc, &config.database)?;
        let mailer = build_mailer(&config.mail, &config.database.data_dir)?;
        let stores = connect_storage(&storage, &config.database).await?;
        let registry = prometheus::Registry::new();
        let ChosenProvider {
            provider: kyc,
            sandbox_updates,
        } = build_kyc_provider(&config.kyc, kyc_kind, &public_url, &registry)?;
        let outbox_metrics = OutboxMetrics::new(&registry)?;
        let webhooks = Webhooks::build(
            &config,
            &sealing_key,
            stores.endpoints.clone(),
            stores.deliveries.clone(),
            &outbox_metrics,
        )?;
        // Events are rendered in the API's wire shapes when they are written.
        let events = Events::new(Arc::new(api::presenter::JsonPresenter));
        let lifecycle = Lifecycle::build(
            stores.kyc.clone(),
            stores.sync.clone(),
            stores.customers.clone(),
            events.clone(),
            webhook_verifier,
            &registry,
        )?;
        if let Some(updates) = sandbox_updates {
            // The sandbox's simulated outcomes (an approval some seconds after a submission)
            // take the path every provider report takes. The task ends with the provider.
            tokio::spawn(ports::drain_updates(
                ports::SANDBOX_PROVIDER,
                updates,
                lifecycle.apply.clone(),
            ));
        }
        let kyc_submissions = Arc::new(KycSubmissionService::new(
            stores.customers.clone(),
            stores.directory.clone(),
            stores.submissions,
            kyc.clone(),
            events.clone(),
            config.kyc.submission_policy(),
        ));
        let customers = Arc::new(CustomerService::new(
            stores.customers,
            kyc.clone(),
            events.clone(),
        ));
        let idempotency = Arc::new(Idempotency::new(stores.idempotency, key_policy));
        let accounts = Arc::new(build_accounts(
            stores.accounts,
            config.auth.account_status_ttl(),
        )?);

        // One set of limits for the process, shared by every HTTP worker.
        let limits = web::Data::new(api::limits::Limits::new(limit_settings, &registry)?);
        let state = AppState {
            limits,
            metrics: web::Data::new(api::ops::Metrics::new(registry)?),
            health: web::Data::from(stores.health),
            keys: web::Data::new(keys),
            // Registrations run on this runtime, the application's own, not on the HTTP
            // worker that received them (see `placement`).
            create: web::Data::from(Arc::new(OnRuntime::new(
                customers.clone(),
                tokio::runtime::Handle::current(),
            )) as Arc<dyn CreateCustomer>),
            read: web::Data::from(customers.clone() as Arc<dyn ReadCustomers>),
            update: web::Data::from(customers.clone() as Arc<dyn UpdateCustomer>),
            delete: web::Data::from(customers as Arc<dyn DeleteCustomer>),
            authenticate: web::Data::from(accounts.clone() as Arc<dyn Authenticate>),
            status: web::Data::from(accounts.clone() as Arc<dyn AccountStatus>),
            endpoints: web::Data::from(webhooks.service.clone() as Arc<dyn ManageWebhookEndpoints>),
            deliveries: web::Data::from(webhooks.service.clone() as Arc<dyn ManageDeliveries>),
            throttle: web::Data::new(LoginThrottle::new(config.auth.throttle_settings())),
            idempotency: web::Data::from(idempotency.clone()),
            read_kyc: web::Data::from(lifecycle.read.clone()),
            lifecycle: web::Data::from(lifecycle.apply.clone()),
            webhooks: lifecycle.verifier.clone().map(web::Data::from),
            submit: web::Data::from(kyc_submissions.clone() as Arc<dyn SubmitKyc>),
            terms: web::Data::from(kyc_submissions as Arc<dyn TermsOfService>),
            // Built here, once, so that every worker shares the permits.
            upload_limits: web::Data::new(config.kyc_api.upload_limits()?),
            tos_links: web::Data::new(TosLinks {
                public_url: public_url.trim_end_matches('/').to_owned(),
                key: tos_key,
            }),
            sandbox_routes: kyc_kind == KycProviderKind::Sandbox,
        };
        let server = http_server(&config.http, listener, state)?;

        let (stop_workers, stop) = tokio::sync::watch::channel(false);
        let mail = KycMailHandler::new(mailer.mailer, stores.directory, events);
        let mut workers = vec![spawn_mail_worker(
            &config.mail,
            stores.outbox.clone(),
            Arc::new(outbox_metrics.wrap(Arc::new(mail))),
            lease,
            stop.clone(),
        )];
        workers.extend(webhooks.spawn(stores.outbox, &stop));
        workers.push(tokio::spawn(idempotency.purge_periodically(
            config.idempotency.purge_interval(),
            stop.clone(),
        )));
        workers.extend(lifecycle.spawn_workers(&config.lifecycle, kyc, stop.clone()));
        workers.push(tokio::spawn(
            StatisticsRefresh::new(stores.statistics, STATISTICS_REFRESH_INTERVAL)
                .run(stop.clone()),
        ));

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
            workers,
            stop_workers,
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
    /// background workers after the batch each is sending.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        tracing::info!("HTTP server stopped; stopping the KYC mail and webhook workers");
        let _ = self.stop_workers.send(true);
        // A mail or delivery still in flight afterwards keeps its lease and is sent again
        // later (same Message-ID, same webhook-id), a poll cut off is retried by any instance
        // once its lease ends, and a purge in progress is one short statement: so the wait is
        // short and bounded.
        let worker_grace = self.grace.min(Duration::from_secs(10));
        let all_stopped = futures_util::future::join_all(self.workers);
        if tokio::time::timeout(worker_grace, all_stopped)
            .await
            .is_err()
        {
            tracing::warn!("a background worker did not stop in time; its jobs will be retried");
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

/// The keys that sign and check bearer tokens, with the secret JWT_SECRET gives or, on
/// SQLite without it, the development secret in DATA_DIR; and the key of terms-of-service
/// link states, derived from the same secret under its own label (one secret to manage).
fn token_keys(config: &Config, storage: &Storage) -> anyhow::Result<(JwtKeys, TosStateKey)> {
    let (secret, source) = secret::resolve(config, storage)?;
    let tos_key = TosStateKey::derive(&secret)?;
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
    Ok((keys, tos_key))
}

/// The configured KYC provider.
struct ChosenProvider {
    provider: Arc<dyn KycProvider>,
    /// With the sandbox, the channel on which it reports the outcomes it decides later.
    sandbox_updates: Option<tokio::sync::mpsc::Receiver<KycUpdate>>,
}

/// The KYC provider port: Bridge or the sandbox (whose links point at `public_url`),
/// metered into `registry` either way.
fn build_kyc_provider(
    settings: &KycSettings,
    kind: KycProviderKind,
    public_url: &str,
    registry: &prometheus::Registry,
) -> anyhow::Result<ChosenProvider> {
    let (provider, updates): (Arc<dyn KycProvider>, _) = match kind {
        KycProviderKind::Bridge => (
            Arc::new(BridgeKycProvider::new(settings.bridge_settings())?),
            None,
        ),
        KycProviderKind::Sandbox => {
            let (sandbox, updates) =
                SandboxKycProvider::with_updates(public_url, settings.sandbox_approval_delay());
            (Arc::new(sandbox), Some(updates))
        }
    };
    Ok(ChosenProvider {
        provider: Arc::new(MeteredKycProvider::new(provider, registry)?),
        sandbox_updates: updates,
    })
}

/// Starts the KYC mail worker (the outbox engine with the KYC mail handler); it runs until
/// `stopped` says `true`.
fn spawn_mail_worker(
    settings: &MailSettings,
    outbox: Arc<dyn Outbox>,
    handler: Arc<dyn JobHandler>,
    lease: Duration,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let worker = OutboxWorker::new(
        outbox,
        handler,
        WorkerSettings {
            batch_size: 20,
            lease,
            concurrency: settings.concurrency(),
            per_endpoint: None,
            schedule: RetrySchedule::Exponential(settings.retry_policy()),
        },
    );
    tokio::spawn(worker.run(settings.poll_interval(), stopped))
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
