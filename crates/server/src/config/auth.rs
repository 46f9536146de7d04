//! Authentication settings: bearer tokens, the account-status cache, login throttling.

use std::time::Duration;

use clap::Args;

use super::Redacted;

/// How clients authenticate, and how failed logins are limited.
#[derive(Debug, Clone, Args)]
pub struct AuthSettings {
    /// HS256 secret for bearer tokens, at least 32 bytes. Required with PostgreSQL;
    /// otherwise generated once into DATA_DIR/jwt_secret.
    #[arg(long, env = "JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<Redacted>,

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
}

impl AuthSettings {
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

    /// How long an "account is active" answer may be reused.
    pub fn account_status_ttl(&self) -> Duration {
        Duration::from_secs(self.account_status_cache_seconds)
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
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn a_jwt_leeway_over_five_minutes_is_refused() {
        assert!(Config::from_args(["server", "--jwt-leeway-seconds", "301"]).is_err());
        assert!(Config::from_args(["server", "--jwt-leeway-seconds", "300"]).is_ok());
    }
}
