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

use crate::auth::{AuthenticatedAccount, JwtKeys};
use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};

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

/// Counts failed logins per account and per client address; refuses further attempts
/// with `429` once a key is over its limit. Each attempt is counted *before* the secret is
/// checked (and uncounted if it succeeds), so parallel attempts cannot slip past the limit.
pub struct LoginThrottle {
    settings: ThrottleSettings,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Most keys kept; beyond it expired entries are swept, then the oldest dropped.
const MAX_KEYS: usize = 100_000;

/// The two keys an attempt counts against.
struct Keys {
    account: String,
    address: String,
}

impl Keys {
    fn of(account_id: &str, address: Option<IpAddr>) -> Self {
        // One key per account however its id is spelled; one shared key for non-ids.
        let account = uuid::Uuid::parse_str(account_id.trim()).map_or_else(
            |_| "account:invalid".to_owned(),
            |id| format!("account:{id}"),
        );
        let address = match address {
            // One IPv6 holder usually has a whole /64.
            Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Some(IpAddr::V6(v6)) => format!("address:{}", v6.to_canonical()),
            Some(ip) => format!("address:{ip}"),
            None => "address:unknown".to_owned(),
        };
        Self { account, address }
    }
}

impl LoginThrottle {
    /// A throttle with these limits.
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt against both keys, or `Err(seconds to wait)` when either is
    /// already at its limit (and then counts nothing).
    fn reserve(&self, keys: &Keys) -> Result<(), u32> {
        let Ok(mut failures) = self.failures.lock() else {
            return Ok(());
        };
        let window = self.settings.window;
        let limits = [
            (&keys.account, self.settings.per_account),
            (&keys.address, self.settings.per_address),
        ];
        for (key, limit) in limits {
            if let Some((count, since)) = failures.get(key.as_str()) {
                let elapsed = since.elapsed();
                if elapsed < window && *count >= limit {
                    let wait = window - elapsed;
                    return Err(u32::try_from(wait.as_secs()).unwrap_or(u32::MAX).max(1));
                }
            }
        }
        if failures.len() + 2 > MAX_KEYS {
            failures.retain(|_, (_, since)| since.elapsed() < window);
            while failures.len() + 2 > MAX_KEYS {
                let oldest = failures
                    .iter()
                    .min_by_key(|(_, (_, since))| *since)
                    .map(|(key, _)| key.clone());
                match oldest {
                    Some(key) => failures.remove(&key),
                    None => break,
                };
            }
        }
        for (key, _) in limits {
            let entry = failures.entry(key.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= window {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
        Ok(())
    }

    /// Takes back a reserved attempt that did not fail: after a success the account's
    /// count is cleared; after an outage (which says nothing about the secret) both
    /// counts are decremented.
    fn release(&self, keys: &Keys, succeeded: bool) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if succeeded {
            failures.remove(&keys.account);
        } else if let Some(entry) = failures.get_mut(&keys.account) {
            entry.0 = entry.0.saturating_sub(1);
        }
        if let Some(entry) = failures.get_mut(&keys.address) {
            entry.0 = entry.0.saturating_sub(1);
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
    Ok(HttpResponse::Ok().json(Envelope::success(
        200,
        message,
        TokenData {
            access_token,
            token_type: "bearer",
            expires_in: keys.ttl().as_secs(),
        },
    )))
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
    let body = body.into_inner();
    let throttle_keys = Keys::of(&body.account_id, req.peer_addr().map(|a| a.ip()));
    throttle
        .reserve(&throttle_keys)
        .map_err(ApiError::too_many_requests)?;
    match auth.login(&body.account_id, &body.app_secret).await {
        Ok(account) => {
            throttle.release(&throttle_keys, true);
            tracing::info!(account_id = %account, "login succeeded");
            token_response(&keys, account, "Authentication successful")
        }
        Err(ports::LoginError::InvalidCredentials) => Err(ApiError::invalid_credentials()),
        Err(other) => {
            throttle.release(&throttle_keys, false);
            Err(other.into())
        }
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

    const ID: &str = "2da859f2-9764-48e6-92e6-dd9f6747801b";

    fn throttle(per_account: u32, per_address: u32) -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings {
            per_account,
            per_address,
            window: Duration::from_secs(60),
        })
    }

    fn keys(account: &str, ip: &str) -> Keys {
        Keys::of(account, Some(ip.parse().unwrap()))
    }

    #[test]
    fn the_throttle_refuses_after_the_limit_and_forgets_on_success() {
        let throttle = throttle(2, 100);
        let k = keys(ID, "127.0.0.1");
        assert!(throttle.reserve(&k).is_ok());
        assert!(throttle.reserve(&k).is_ok());
        // Another spelling of the same id counts against the same account.
        let braced = keys(&format!("{{{}}}", ID.to_uppercase()), "127.0.0.1");
        let wait = throttle.reserve(&braced).unwrap_err();
        assert!(wait > 0 && wait <= 60);
        assert!(throttle.reserve(&keys("not-an-id", "127.0.0.1")).is_ok());
        throttle.release(&k, true);
        assert!(throttle.reserve(&k).is_ok());
    }

    #[test]
    fn attempts_in_flight_count_so_parallel_guesses_cannot_pass_the_limit() {
        let throttle = throttle(3, 100);
        let k = keys(ID, "127.0.0.1");
        // Nothing has failed yet, but three attempts are under way: the fourth waits.
        for _ in 0..3 {
            assert!(throttle.reserve(&k).is_ok());
        }
        assert!(throttle.reserve(&k).is_err());
        // An outage is not a failed guess.
        throttle.release(&k, false);
        assert!(throttle.reserve(&k).is_ok());
    }

    #[test]
    fn the_throttle_limits_one_address_across_accounts_and_ipv6_by_64() {
        let throttle = throttle(100, 3);
        for n in 0..3u128 {
            let id = uuid::Uuid::from_u128(n).to_string();
            assert!(throttle.reserve(&keys(&id, "2001:db8::1")).is_ok());
        }
        let other = uuid::Uuid::from_u128(9).to_string();
        assert!(throttle.reserve(&keys(&other, "2001:db8::ffff")).is_err());
        assert!(throttle.reserve(&keys(&other, "2001:db8:0:1::1")).is_ok());
        assert!(throttle.reserve(&keys(&other, "10.0.0.2")).is_ok());
    }
}
