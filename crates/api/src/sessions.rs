//! `POST /auth/login` and `GET /auth/refresh-token`: access tokens for accounts, with
//! failed logins throttled per account and per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use domain::AccountId;
use ports::Authenticate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::Envelope;
use crate::error::ErrorBody;
use crate::{ApiError, AuthenticatedAccount, JwtKeys};

/// The body of `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The account id.
    #[schema(example = "0b9f2c1e-4f1a-4c1e-9a57-2f1f0c1d2e3f")]
    pub account_id: String,
    /// The account's app secret.
    #[schema(example = "sk_…")]
    pub app_secret: String,
}

/// An issued access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenData {
    /// The bearer token.
    pub access_token: String,
    /// Always `bearer`.
    #[schema(value_type = String, example = "bearer")]
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: u64,
}

/// Limits on failed logins, counted in a fixed window per key.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// Failures allowed per account id within `window`.
    pub per_account: u32,
    /// Failures allowed per client address within `window`.
    pub per_address: u32,
    /// The counting window.
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Counts failed logins; refuses further attempts with `429` once a key is over its limit.
pub struct LoginThrottle {
    settings: ThrottleSettings,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Most keys kept; beyond it expired entries are swept (and, if need be, all).
const MAX_KEYS: usize = 100_000;

impl LoginThrottle {
    /// A throttle with these limits.
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(account_id: &str, address: Option<IpAddr>) -> [(String, bool); 2] {
        [
            (
                format!("account:{}", account_id.trim().to_ascii_lowercase()),
                true,
            ),
            (
                format!(
                    "address:{}",
                    address.map_or_else(|| "unknown".into(), |a| a.to_string())
                ),
                false,
            ),
        ]
    }

    /// `Err(seconds to wait)` when either key is over its limit.
    fn check(&self, account_id: &str, address: Option<IpAddr>) -> Result<(), u32> {
        let Ok(failures) = self.failures.lock() else {
            return Ok(());
        };
        for (key, is_account) in Self::keys(account_id, address) {
            let limit = if is_account {
                self.settings.per_account
            } else {
                self.settings.per_address
            };
            if let Some((count, since)) = failures.get(&key) {
                let elapsed = since.elapsed();
                if elapsed < self.settings.window && *count >= limit {
                    let wait = self.settings.window - elapsed;
                    return Err(u32::try_from(wait.as_secs()).unwrap_or(u32::MAX).max(1));
                }
            }
        }
        Ok(())
    }

    fn record_failure(&self, account_id: &str, address: Option<IpAddr>) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_KEYS {
            let window = self.settings.window;
            failures.retain(|_, (_, since)| since.elapsed() < window);
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        for (key, _) in Self::keys(account_id, address) {
            let entry = failures.entry(key).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= self.settings.window {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    fn record_success(&self, account_id: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&Self::keys(account_id, None)[0].0);
        }
    }
}

fn token_response(
    keys: &JwtKeys,
    account: AccountId,
    message: &'static str,
) -> Result<HttpResponse, ApiError> {
    let access_token = keys.issue(account, keys.ttl()).map_err(|e| {
        tracing::error!(error = %e, "could not sign a token");
        ApiError::internal()
    })?;
    Ok(HttpResponse::Ok().json(Envelope {
        status: "success",
        status_code: 200,
        message,
        data: TokenData {
            access_token,
            token_type: "bearer",
            expires_in: keys.ttl().as_secs(),
        },
    }))
}

/// An access token for an account id and app secret. Unknown account, wrong secret and
/// disabled account all get the same `401`; repeated failures get `429`.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    operation_id = "login",
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Authenticated", body = Envelope<TokenData>),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 401, description = "Invalid account id or app secret", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 429, description = "Too many failed logins", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.login", skip_all)]
pub async fn login(
    req: HttpRequest,
    body: web::Json<LoginBody>,
    auth: web::Data<dyn Authenticate>,
    keys: web::Data<JwtKeys>,
    throttle: web::Data<LoginThrottle>,
) -> Result<HttpResponse, ApiError> {
    let address = req.peer_addr().map(|a| a.ip());
    let body = body.into_inner();
    throttle
        .check(&body.account_id, address)
        .map_err(ApiError::too_many_requests)?;
    match auth.login(&body.account_id, &body.app_secret).await {
        Ok(account) => {
            throttle.record_success(&body.account_id);
            tracing::info!(account_id = %account, "login succeeded");
            token_response(&keys, account, "Authentication successful")
        }
        Err(ports::LoginError::InvalidCredentials) => {
            throttle.record_failure(&body.account_id, address);
            Err(ApiError::invalid_credentials())
        }
        Err(other) => Err(other.into()),
    }
}

/// A fresh token for the account of a valid one.
#[utoipa::path(
    get,
    path = "/auth/refresh-token",
    tag = "auth",
    operation_id = "refresh_token",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A fresh token", body = Envelope<TokenData>),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.refresh_token", skip_all, fields(account_id = %account.0))]
pub async fn refresh(
    account: AuthenticatedAccount,
    keys: web::Data<JwtKeys>,
) -> Result<HttpResponse, ApiError> {
    token_response(&keys, account.0, "Token refreshed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_refuses_after_the_limit_and_forgets_on_success() {
        let throttle = LoginThrottle::new(ThrottleSettings {
            per_account: 2,
            per_address: 100,
            window: Duration::from_secs(60),
        });
        let ip = Some("127.0.0.1".parse().unwrap());
        assert!(throttle.check("a", ip).is_ok());
        throttle.record_failure("a", ip);
        throttle.record_failure("a", ip);
        let wait = throttle.check("A", ip).unwrap_err();
        assert!(wait > 0 && wait <= 60);
        assert!(throttle.check("b", ip).is_ok());
        throttle.record_success("a");
        assert!(throttle.check("a", ip).is_ok());
    }

    #[test]
    fn the_throttle_limits_one_address_across_accounts() {
        let throttle = LoginThrottle::new(ThrottleSettings {
            per_account: 100,
            per_address: 3,
            window: Duration::from_secs(60),
        });
        let ip = Some("10.0.0.1".parse().unwrap());
        for account in ["a", "b", "c"] {
            throttle.record_failure(account, ip);
        }
        assert!(throttle.check("d", ip).is_err());
        assert!(throttle
            .check("d", Some("10.0.0.2".parse().unwrap()))
            .is_ok());
    }
}
