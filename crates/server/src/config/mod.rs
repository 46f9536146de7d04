//! Command line and configuration. Every setting is an environment variable and a
//! `--flag`; `server --help` documents them all, grouped as the settings are: one module
//! and one struct per concern.

mod auth;
mod database;
mod http;
mod idempotency;
mod kyc;
mod kyc_api;
mod lifecycle;
mod limits;
mod log;
mod mail;
mod redacted;
mod webhooks;

pub use auth::AuthSettings;
pub use database::{DatabaseSettings, Storage};
pub use http::HttpSettings;
pub use idempotency::IdempotencySettings;
pub use kyc::{KycProviderKind, KycSettings};
pub use kyc_api::KycApiSettings;
pub use lifecycle::LifecycleSettings;
pub use limits::LimitsSettings;
pub use log::{LogFormat, LogSettings};
pub use mail::MailSettings;
pub use redacted::Redacted;
pub use webhooks::WebhookSettings;

use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

/// Customer-onboarding service: `POST /customer` registers a customer, obtains a hosted
/// KYC link and stores it.
///
/// With no configuration at all it runs on SQLite in ./data with the sandbox KYC
/// provider and a generated development token secret.
#[derive(Debug, Parser)]
#[command(name = "server", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub config: Config,
}

/// The server binary's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a bearer token for an existing, enabled account, signed with the configured
    /// secret (for development; clients normally use POST /auth/login).
    Token {
        /// The account the token is for. When omitted, a new account named "development"
        /// is created and its id and app secret are printed on stderr.
        #[arg(long, env = "ACCOUNT_ID")]
        account_id: Option<Uuid>,
        /// Token lifetime in seconds.
        #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
        ttl_seconds: u64,
    },
    /// Manage accounts (the API clients that log in with an app secret).
    #[command(subcommand)]
    Accounts(AccountsCommand),
}

/// `server accounts …`.
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account; prints its account_id and app_secret (shown only this once).
    Create {
        /// A name for the account, 1 to 100 characters.
        #[arg(long)]
        name: String,
    },
    /// List every account (id, created_at, status, name); secrets are never shown.
    List,
    /// Disable an account: it can no longer log in, and its tokens stop working within
    /// ACCOUNT_STATUS_CACHE_SECONDS.
    Disable {
        /// The account id.
        id: Uuid,
    },
    /// Re-enable a disabled account.
    Enable {
        /// The account id.
        id: Uuid,
    },
}

/// Every setting of the service, grouped by concern. Each setting is one environment
/// variable and one `--flag`; a field keeps the flag's name, so one grep finds all three.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Listening, threads, shutdown.
    #[command(flatten, next_help_heading = "HTTP")]
    pub http: HttpSettings,
    /// Requests processed at once, refused beyond, and stalled bodies.
    #[command(flatten, next_help_heading = "Load limits")]
    pub limits: LimitsSettings,
    /// The store, the data directory, the connection pool.
    #[command(flatten, next_help_heading = "Database")]
    pub database: DatabaseSettings,
    /// Tokens, the account-status cache, login throttling.
    #[command(flatten, next_help_heading = "Authentication")]
    pub auth: AuthSettings,
    /// The KYC provider.
    #[command(flatten, next_help_heading = "KYC provider")]
    pub kyc: KycSettings,
    /// Following each customer's KYC: provider webhooks, polling, event receipts.
    #[command(flatten, next_help_heading = "KYC lifecycle")]
    pub lifecycle: LifecycleSettings,
    /// KYC by API: the submission route's limits.
    #[command(flatten, next_help_heading = "KYC by API")]
    pub kyc_api: KycApiSettings,
    /// The KYC mail: transport, sender, retries.
    #[command(flatten, next_help_heading = "Mail")]
    pub mail: MailSettings,
    /// Idempotency keys: lifetime, lease, whether required, purge.
    #[command(flatten, next_help_heading = "Idempotency")]
    pub idempotency: IdempotencySettings,
    /// Outgoing webhooks: the secrets' key, URL rules, delivery pace, retries, retention.
    #[command(flatten, next_help_heading = "Webhooks")]
    pub webhooks: WebhookSettings,
    /// Logging.
    #[command(flatten, next_help_heading = "Logging")]
    pub log: LogSettings,
}

impl Config {
    /// Parses configuration from command-line `args` and the environment.
    pub fn from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Cli::try_parse_from(args).map(|cli| cli.config)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The configuration these arguments (after the program name) give.
    pub(crate) fn config(args: &[&str]) -> Config {
        let mut all = vec!["server"];
        all.extend_from_slice(args);
        Config::from_args(all).unwrap()
    }

    #[test]
    fn every_flag_keeps_its_name_and_lands_in_its_group() {
        let c = config(&[
            "--listen-addr=0.0.0.0:9000",
            "--public-url=https://p.example",
            "--http-workers=3",
            "--blocking-threads=9",
            "--shutdown-grace-seconds=5",
            "--database-url=sqlite://x.db",
            "--data-dir=/d",
            "--db-pool-size=6",
            "--db-pool-timeout-ms=7",
            "--jwt-secret=s",
            "--jwt-leeway-seconds=8",
            "--jwt-issuer=i",
            "--jwt-audience=a",
            "--token-ttl-seconds=9",
            "--account-status-cache-seconds=10",
            "--login-max-failures-per-account=11",
            "--login-max-failures-per-address=12",
            "--login-failure-window-seconds=13",
            "--kyc-provider=sandbox",
            "--bridge-api-url=https://b.example",
            "--bridge-api-key=k",
            "--kyc-connect-timeout-ms=14",
            "--kyc-timeout-ms=15",
            "--kyc-max-attempts=4",
            "--smtp-url=smtp://h:25",
            "--mail-from=m@example.com",
            "--smtp-timeout-ms=16",
            "--mail-max-attempts=17",
            "--mail-retry-base-ms=18",
            "--mail-retry-max-ms=19",
            "--mail-poll-interval-ms=20",
            "--mail-lease-seconds=21",
            "--idempotency-ttl-seconds=22",
            "--idempotency-lease-seconds=23",
            "--idempotency-key-required=true",
            "--idempotency-purge-interval-seconds=24",
            "--kyc-sync-interval-seconds=25",
            "--kyc-sync-batch=26",
            "--provider-event-retention-days=27",
            "--log-format=json",
        ]);
        let h = &c.http;
        assert_eq!(h.listen_addr.to_string(), "0.0.0.0:9000");
        assert_eq!(h.public_url.as_deref(), Some("https://p.example"));
        assert_eq!(
            (h.http_workers, h.blocking_threads, h.shutdown_grace_seconds),
            (3, 9, 5)
        );
        let d = &c.database;
        assert_eq!(d.database_url.as_deref(), Some("sqlite://x.db"));
        assert_eq!(d.data_dir, std::path::PathBuf::from("/d"));
        assert_eq!((d.db_pool_size, d.db_pool_timeout_ms), (6, 7));
        let a = &c.auth;
        assert_eq!(a.jwt_secret.as_deref(), Some("s"));
        assert_eq!((a.jwt_issuer.as_str(), a.jwt_audience.as_str()), ("i", "a"));
        assert_eq!(
            (
                a.jwt_leeway_seconds,
                a.token_ttl_seconds,
                a.account_status_cache_seconds,
                a.login_failure_window_seconds
            ),
            (8, 9, 10, 13)
        );
        assert_eq!(
            (
                a.login_max_failures_per_account,
                a.login_max_failures_per_address
            ),
            (11, 12)
        );
        let k = &c.kyc;
        assert_eq!(k.kyc_provider, Some(KycProviderKind::Sandbox));
        assert_eq!(k.bridge_api_url, "https://b.example");
        assert_eq!(k.bridge_api_key.as_deref(), Some("k"));
        assert_eq!(
            (
                k.kyc_connect_timeout_ms,
                k.kyc_timeout_ms,
                k.kyc_max_attempts
            ),
            (14, 15, 4)
        );
        let l = &c.lifecycle;
        assert_eq!(
            (
                l.kyc_sync_interval_seconds,
                l.kyc_sync_batch,
                l.provider_event_retention_days
            ),
            (25, 26, 27)
        );
        let m = &c.mail;
        assert_eq!(m.smtp_url.as_deref(), Some("smtp://h:25"));
        assert_eq!(m.mail_from, "m@example.com");
        assert_eq!(
            (
                m.smtp_timeout_ms,
                m.mail_retry_base_ms,
                m.mail_retry_max_ms,
                m.mail_poll_interval_ms,
                m.mail_lease_seconds
            ),
            (16, 18, 19, 20, 21)
        );
        assert_eq!(m.mail_max_attempts, 17);
        let i = &c.idempotency;
        assert_eq!(
            (
                i.idempotency_ttl_seconds,
                i.idempotency_lease_seconds,
                i.idempotency_purge_interval_seconds
            ),
            (22, 23, 24)
        );
        assert!(i.idempotency_key_required);
        assert_eq!(c.log.log_format, LogFormat::Json);
    }

    #[test]
    fn settings_are_global_so_they_follow_a_subcommand_too() {
        let cli = Cli::try_parse_from(["server", "migrate", "--data-dir", "/m"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Migrate)));
        assert_eq!(cli.config.database.data_dir, std::path::PathBuf::from("/m"));
    }

    #[test]
    fn help_documents_every_setting_and_its_environment_variable() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for var in [
            "DATABASE_URL",
            "DATA_DIR",
            "LISTEN_ADDR",
            "PUBLIC_URL",
            "JWT_SECRET",
            "JWT_LEEWAY_SECONDS",
            "JWT_ISSUER",
            "JWT_AUDIENCE",
            "TOKEN_TTL_SECONDS",
            "ACCOUNT_STATUS_CACHE_SECONDS",
            "LOGIN_MAX_FAILURES_PER_ACCOUNT",
            "LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS",
            "LOGIN_MAX_FAILURES_PER_ADDRESS",
            "LOGIN_FAILURE_WINDOW_SECONDS",
            "KYC_PROVIDER",
            "BRIDGE_API_URL",
            "BRIDGE_API_KEY",
            "KYC_CONNECT_TIMEOUT_MS",
            "KYC_TIMEOUT_MS",
            "KYC_MAX_ATTEMPTS",
            "KYC_SUBMIT_TIMEOUT_MS",
            "KYC_SANDBOX_APPROVAL_DELAY_MS",
            "KYC_BODY_LIMIT_BYTES",
            "KYC_MAX_CONCURRENT_SUBMISSIONS",
            "KYC_BODY_IDLE_TIMEOUT_MS",
            "DB_POOL_SIZE",
            "DB_POOL_TIMEOUT_MS",
            "HTTP_WORKERS",
            "BLOCKING_THREADS",
            "SHUTDOWN_GRACE_SECONDS",
            "LOG_FORMAT",
            "MAX_IN_FLIGHT_REQUESTS",
            "MAX_QUEUED_REQUESTS",
            "MAX_QUEUE_WAIT_MS",
            "QUEUE_TARGET_WAIT_MS",
            "BODY_READ_TIMEOUT_MS",
            "BODY_READ_DEADLINE_MS",
            "MAX_IN_FLIGHT_LOGINS",
            "SMTP_URL",
            "MAIL_FROM",
            "SMTP_TIMEOUT_MS",
            "MAIL_MAX_ATTEMPTS",
            "MAIL_RETRY_BASE_MS",
            "MAIL_RETRY_MAX_MS",
            "MAIL_POLL_INTERVAL_MS",
            "MAIL_LEASE_SECONDS",
            "MAIL_CONCURRENCY",
            "IDEMPOTENCY_TTL_SECONDS",
            "IDEMPOTENCY_LEASE_SECONDS",
            "IDEMPOTENCY_KEY_REQUIRED",
            "IDEMPOTENCY_PURGE_INTERVAL_SECONDS",
            "BRIDGE_WEBHOOK_PUBLIC_KEY",
            "BRIDGE_WEBHOOK_PUBLIC_KEY_FILE",
            "KYC_SYNC_INTERVAL_SECONDS",
            "KYC_SYNC_BATCH",
            "PROVIDER_EVENT_RETENTION_DAYS",
            "SECRETS_ENCRYPTION_KEY",
            "WEBHOOK_ALLOW_HTTP",
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
            "WEBHOOK_CONCURRENCY",
            "WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT",
            "WEBHOOK_TIMEOUT_MS",
            "WEBHOOK_RETRY_SCHEDULE",
            "WEBHOOK_POLL_INTERVAL_MS",
            "WEBHOOK_LEASE_SECONDS",
            "WEBHOOK_DELIVERY_RETENTION_DAYS",
        ] {
            assert!(
                help.contains(&format!("env: {var}")),
                "{var} missing from --help"
            );
        }
    }

    #[test]
    fn help_groups_the_settings_under_one_heading_per_concern() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        let at = |text: &str| {
            help.find(text)
                .unwrap_or_else(|| panic!("{text} missing from --help"))
        };
        let headings = [
            "HTTP:",
            "Load limits:",
            "Database:",
            "Authentication:",
            "KYC provider:",
            "KYC lifecycle:",
            "KYC by API:",
            "Mail:",
            "Idempotency:",
            "Webhooks:",
            "Logging:",
        ];
        let positions: Vec<_> = headings.iter().map(|h| at(h)).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{help}");
        // A setting sits under its own heading.
        assert!(
            at("Database:") < at("--db-pool-size") && at("--db-pool-size") < at("Authentication:")
        );
        assert!(at("Mail:") < at("--smtp-url") && at("--smtp-url") < at("Webhooks:"));
        assert!(
            at("Webhooks:") < at("--webhook-retry-schedule")
                && at("--webhook-retry-schedule") < at("Logging:")
        );
    }
}
