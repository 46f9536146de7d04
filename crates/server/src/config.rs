//! Command line and configuration. Every setting is an environment variable and a
//! `--flag`; `server --help` documents them all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
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

/// Which KYC provider issues links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KycProviderKind {
    /// Bridge's KYC Links API (needs BRIDGE_API_KEY).
    Bridge,
    /// An in-process provider whose links point at this service (offline development).
    Sandbox,
}

impl KycProviderKind {
    /// The setting's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Bridge => "bridge",
            Self::Sandbox => "sandbox",
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Every setting of the service.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database: `postgres://…` for PostgreSQL, `sqlite://PATH` or a bare path for SQLite.
    /// Unset: SQLite at DATA_DIR/customers.db.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for the SQLite database and the generated development secret.
    #[arg(long, env = "DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Address and port to listen on.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen_addr: SocketAddr,

    /// Base URL under which clients reach this service (used in sandbox links).
    /// Default: http://LISTEN_ADDR.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// HS256 secret for bearer tokens, at least 32 bytes. Required with PostgreSQL;
    /// otherwise generated once into DATA_DIR/jwt_secret.
    #[arg(long, env = "JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Clock skew tolerated when checking a token's expiry, in seconds.
    #[arg(long, env = "JWT_LEEWAY_SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=300), global = true)]
    pub jwt_leeway_seconds: u64,

    /// The `iss` claim of issued tokens, required on every token.
    #[arg(
        long,
        env = "JWT_ISSUER",
        default_value = "customer-onboarding",
        global = true
    )]
    pub jwt_issuer: String,

    /// The `aud` claim of issued tokens, required on every token.
    #[arg(
        long,
        env = "JWT_AUDIENCE",
        default_value = "customer-onboarding-api",
        global = true
    )]
    pub jwt_audience: String,

    /// Lifetime of tokens from POST /auth/login and GET /auth/refresh-token, in seconds.
    #[arg(long, env = "TOKEN_TTL_SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub token_ttl_seconds: u64,

    /// How long "this token's account is enabled" is cached, in seconds: a disabled
    /// account's tokens stop working at most this long after `accounts disable`.
    #[arg(
        long,
        env = "ACCOUNT_STATUS_CACHE_SECONDS",
        default_value_t = 30,
        global = true
    )]
    pub account_status_cache_seconds: u64,

    /// Failed logins allowed per account id, from all addresses together, in
    /// LOGIN_FAILURE_WINDOW_SECONDS before further attempts (from anywhere) get 429.
    #[arg(long, env = "LOGIN_MAX_FAILURES_PER_ACCOUNT", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub login_max_failures_per_account: u32,

    /// Failed logins allowed per account id from one client address in
    /// LOGIN_FAILURE_WINDOW_SECONDS before further attempts from that address get 429.
    #[arg(long, env = "LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub login_max_failures_per_account_address: u32,

    /// Failed logins allowed per client address in LOGIN_FAILURE_WINDOW_SECONDS before
    /// further attempts get 429.
    #[arg(long, env = "LOGIN_MAX_FAILURES_PER_ADDRESS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub login_max_failures_per_address: u32,

    /// The window in which failed logins are counted, in seconds.
    #[arg(long, env = "LOGIN_FAILURE_WINDOW_SECONDS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub login_failure_window_seconds: u64,

    /// KYC provider. Default: bridge when BRIDGE_API_KEY is set, sandbox otherwise.
    #[arg(long, env = "KYC_PROVIDER", value_enum, global = true)]
    pub kyc_provider: Option<KycProviderKind>,

    /// Bridge API base URL.
    #[arg(
        long,
        env = "BRIDGE_API_URL",
        default_value = "https://api.bridge.xyz",
        global = true
    )]
    pub bridge_api_url: String,

    /// Bridge API key (sent as the Api-Key header).
    #[arg(long, env = "BRIDGE_API_KEY", global = true, hide_env_values = true)]
    pub bridge_api_key: Option<String>,

    /// KYC provider connect timeout, in milliseconds.
    #[arg(
        long,
        env = "KYC_CONNECT_TIMEOUT_MS",
        default_value_t = 3_000,
        global = true
    )]
    pub kyc_connect_timeout_ms: u64,

    /// KYC provider timeout for one whole request, in milliseconds.
    #[arg(long, env = "KYC_TIMEOUT_MS", default_value_t = 10_000, global = true)]
    pub kyc_timeout_ms: u64,

    /// Attempts per KYC request on timeouts, 429 and 5xx (same idempotency key each time).
    #[arg(long, env = "KYC_MAX_ATTEMPTS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=5), global = true)]
    pub kyc_max_attempts: u32,

    /// Most database connections in the pool.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub db_pool_size: u32,

    /// How long a request waits for a database connection before failing with 503, in
    /// milliseconds.
    #[arg(
        long,
        env = "DB_POOL_TIMEOUT_MS",
        default_value_t = 2_000,
        global = true
    )]
    pub db_pool_timeout_ms: u64,

    /// HTTP worker threads (0: one per CPU core).
    #[arg(long, env = "HTTP_WORKERS", default_value_t = 0, global = true)]
    pub http_workers: usize,

    /// Blocking threads per HTTP worker for database calls.
    #[arg(long, env = "BLOCKING_THREADS", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024), global = true)]
    pub blocking_threads: u64,

    /// Seconds to let in-flight requests finish on shutdown.
    #[arg(
        long,
        env = "SHUTDOWN_GRACE_SECONDS",
        default_value_t = 30,
        global = true
    )]
    pub shutdown_grace_seconds: u64,

    /// SMTP server for KYC mails: `smtp://[user:pass@]host:port` (add `?tls=required` for
    /// STARTTLS) or `smtps://…`. Unset: mails are written as .eml files to DATA_DIR/mail.
    #[arg(long, env = "SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of KYC mails.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "Customer Onboarding <onboarding@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Limit for one SMTP conversation, in milliseconds.
    #[arg(long, env = "SMTP_TIMEOUT_MS", default_value_t = 10_000, global = true)]
    pub smtp_timeout_ms: u64,

    /// Attempts per KYC mail before it is marked failed.
    #[arg(long, env = "MAIL_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100), global = true)]
    pub mail_max_attempts: u32,

    /// Delay after a mail's first failed attempt, in milliseconds (doubled each time, with jitter).
    #[arg(
        long,
        env = "MAIL_RETRY_BASE_MS",
        default_value_t = 5_000,
        global = true
    )]
    pub mail_retry_base_ms: u64,

    /// Longest delay between two attempts of a mail, in milliseconds.
    #[arg(
        long,
        env = "MAIL_RETRY_MAX_MS",
        default_value_t = 3_600_000,
        global = true
    )]
    pub mail_retry_max_ms: u64,

    /// How often the mail worker looks for due mails, in milliseconds.
    #[arg(long, env = "MAIL_POLL_INTERVAL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..), global = true)]
    pub mail_poll_interval_ms: u64,

    /// How long a claimed mail is reserved for one worker, in seconds; after that another
    /// instance may retry it. Must be more than twice SMTP_TIMEOUT_MS.
    #[arg(long, env = "MAIL_LEASE_SECONDS", default_value_t = 120, global = true)]
    pub mail_lease_seconds: u64,

    /// Log format.
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,
}

/// Where customers are stored, as chosen from DATABASE_URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// PostgreSQL at this URL.
    Postgres(String),
    /// SQLite in this file.
    Sqlite(PathBuf),
}

impl Storage {
    /// A short name for the banner.
    pub fn describe(&self) -> String {
        match self {
            Self::Postgres(_) => "postgres".into(),
            Self::Sqlite(path) => format!("sqlite ({})", path.display()),
        }
    }
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

    /// The storage DATABASE_URL names.
    pub fn storage(&self) -> anyhow::Result<Storage> {
        match self.database_url.as_deref().map(str::trim) {
            None | Some("") => Ok(Storage::Sqlite(self.data_dir.join("customers.db"))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Storage::Postgres(url.to_owned()))
            }
            Some(url) if url.contains("://") && !url.starts_with("sqlite://") => anyhow::bail!(
                "DATABASE_URL must start with postgres://, postgresql:// or sqlite:// (or be a file path)"
            ),
            Some(url) => Ok(Storage::Sqlite(
                adapters::sqlite::path_from_url(url)
                    .map_err(|e| anyhow::anyhow!("DATABASE_URL is invalid: {e}"))?,
            )),
        }
    }

    /// The KYC provider to use.
    pub fn kyc_provider(&self) -> anyhow::Result<KycProviderKind> {
        let key_set = self
            .bridge_api_key
            .as_deref()
            .is_some_and(|k| !k.trim().is_empty());
        match self.kyc_provider {
            Some(KycProviderKind::Bridge) if !key_set => {
                anyhow::bail!("KYC_PROVIDER=bridge needs BRIDGE_API_KEY to be set")
            }
            Some(kind) => Ok(kind),
            None if key_set => Ok(KycProviderKind::Bridge),
            None => Ok(KycProviderKind::Sandbox),
        }
    }

    /// The mail retry policy.
    pub fn retry_policy(&self) -> ports::RetryPolicy {
        ports::RetryPolicy {
            max_attempts: self.mail_max_attempts,
            base_delay: Duration::from_millis(self.mail_retry_base_ms),
            max_delay: Duration::from_millis(self.mail_retry_max_ms.max(self.mail_retry_base_ms)),
        }
    }

    /// The mail lease, checked against the SMTP timeout.
    pub fn mail_lease(&self) -> anyhow::Result<Duration> {
        let lease = Duration::from_secs(self.mail_lease_seconds);
        anyhow::ensure!(
            lease > Duration::from_millis(self.smtp_timeout_ms) * 2,
            "MAIL_LEASE_SECONDS must be more than twice SMTP_TIMEOUT_MS, or a slow send could be retried by another instance while in flight"
        );
        Ok(lease)
    }

    /// Token settings with this `secret`.
    pub fn jwt_settings(&self, secret: Vec<u8>) -> api::JwtSettings {
        api::JwtSettings {
            secret,
            leeway: Duration::from_secs(self.jwt_leeway_seconds),
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            ttl: Duration::from_secs(self.token_ttl_seconds),
        }
    }

    /// Failed-login limits.
    pub fn throttle_settings(&self) -> api::sessions::ThrottleSettings {
        api::sessions::ThrottleSettings {
            per_account: self.login_max_failures_per_account,
            per_account_address: self.login_max_failures_per_account_address,
            per_address: self.login_max_failures_per_address,
            window: Duration::from_secs(self.login_failure_window_seconds),
        }
    }

    /// Connection-pool settings.
    pub fn pool_settings(&self) -> adapters::PoolSettings {
        adapters::PoolSettings {
            max_size: self.db_pool_size,
            connection_timeout: Duration::from_millis(self.db_pool_timeout_ms.max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        let mut all = vec!["server"];
        all.extend_from_slice(args);
        Config::from_args(all).unwrap()
    }

    #[test]
    fn storage_defaults_to_sqlite_in_the_data_directory() {
        let c = config(&["--data-dir", "/tmp/x"]);
        assert_eq!(
            c.storage().unwrap(),
            Storage::Sqlite("/tmp/x/customers.db".into())
        );
    }

    #[test]
    fn storage_follows_the_database_url_scheme() {
        let pg = config(&["--database-url", "postgres://u@h/db"]);
        assert!(matches!(pg.storage().unwrap(), Storage::Postgres(_)));
        let lite = config(&["--database-url", "sqlite://var/c.db"]);
        assert_eq!(lite.storage().unwrap(), Storage::Sqlite("var/c.db".into()));
        let bare = config(&["--database-url", "/srv/c.db"]);
        assert_eq!(bare.storage().unwrap(), Storage::Sqlite("/srv/c.db".into()));
        let bad = config(&["--database-url", "mysql://h/db"]);
        assert!(bad
            .storage()
            .unwrap_err()
            .to_string()
            .contains("DATABASE_URL"));
    }

    #[test]
    fn kyc_provider_defaults_to_sandbox_without_a_key_and_bridge_with_one() {
        assert_eq!(
            config(&[]).kyc_provider().unwrap(),
            KycProviderKind::Sandbox
        );
        let with_key = config(&["--bridge-api-key", "sk"]);
        assert_eq!(with_key.kyc_provider().unwrap(), KycProviderKind::Bridge);
    }

    #[test]
    fn bridge_without_a_key_names_the_missing_setting() {
        let err = config(&["--kyc-provider", "bridge"])
            .kyc_provider()
            .unwrap_err();
        assert!(err.to_string().contains("BRIDGE_API_KEY"), "{err}");
    }

    #[test]
    fn a_mail_lease_shorter_than_the_smtp_timeout_is_refused() {
        let err = config(&["--mail-lease-seconds", "5", "--smtp-timeout-ms", "10000"])
            .mail_lease()
            .unwrap_err();
        assert!(err.to_string().contains("MAIL_LEASE_SECONDS"), "{err}");
        assert!(
            config(&["--mail-lease-seconds", "15", "--smtp-timeout-ms", "10000"])
                .mail_lease()
                .is_err()
        );
        assert!(config(&[]).mail_lease().is_ok());
    }

    #[test]
    fn a_jwt_leeway_over_five_minutes_is_refused() {
        assert!(Config::from_args(["server", "--jwt-leeway-seconds", "301"]).is_err());
        assert!(Config::from_args(["server", "--jwt-leeway-seconds", "300"]).is_ok());
    }

    #[test]
    fn a_bad_listen_address_names_the_setting() {
        let err = Config::from_args(["server", "--listen-addr", "nowhere"]).unwrap_err();
        assert!(err.to_string().contains("listen-addr"), "{err}");
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
            "DB_POOL_SIZE",
            "DB_POOL_TIMEOUT_MS",
            "HTTP_WORKERS",
            "BLOCKING_THREADS",
            "SHUTDOWN_GRACE_SECONDS",
            "LOG_FORMAT",
            "SMTP_URL",
            "MAIL_FROM",
            "SMTP_TIMEOUT_MS",
            "MAIL_MAX_ATTEMPTS",
            "MAIL_RETRY_BASE_MS",
            "MAIL_RETRY_MAX_MS",
            "MAIL_POLL_INTERVAL_MS",
            "MAIL_LEASE_SECONDS",
        ] {
            assert!(
                help.contains(&format!("env: {var}")),
                "{var} missing from --help"
            );
        }
    }
}
