//! Bearer-token authentication: HS256 JWTs with `sub` = the account id, a required `exp`
//! and, when present, a checked `nbf`. The algorithm is pinned, so `alg: none` or any other
//! algorithm is refused.
//!
//! A token that passed every check is recognised afterwards by its SHA-256 alone, until
//! its `exp` (see [`JwtKeys::verify`]): decoding and checking a token cost a tenth of
//! the server's time on `GET /customer/{id}`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use domain::AccountId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ports::AccountStatus;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::error::ApiError;

/// Shortest secret accepted for HS256 (the hash's own output size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Token settings from configuration.
#[derive(Clone)]
pub struct JwtSettings {
    /// The HS256 secret, at least [`MIN_SECRET_BYTES`] long.
    pub secret: Vec<u8>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// The `iss` claim issued and required.
    pub issuer: String,
    /// The `aud` claim issued and required.
    pub audience: String,
    /// Lifetime of tokens from login and refresh.
    pub ttl: Duration,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &"<redacted>")
            .field("leeway", &self.leeway)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// The claims this service issues and requires.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// Signing and verification keys with the pinned validation rules.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
    /// Tokens that passed every check, by the SHA-256 of their text: their account and
    /// their `exp`.
    verified: Mutex<HashMap<[u8; 32], (AccountId, u64)>>,
}

/// The most verified tokens remembered; when full, the memo starts again empty (a token
/// is then verified once more on its next use).
const MOST_VERIFIED: usize = 10_000;

/// Why a JWT secret was refused.
#[derive(Debug, thiserror::Error)]
#[error("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long (got {0})")]
pub struct WeakSecret(pub usize);

impl JwtKeys {
    /// Builds the keys; refuses secrets shorter than [`MIN_SECRET_BYTES`].
    pub fn new(settings: &JwtSettings) -> Result<Self, WeakSecret> {
        if settings.secret.len() < MIN_SECRET_BYTES {
            return Err(WeakSecret(settings.secret.len()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_audience(&[settings.audience.as_str()]);
        validation.validate_exp = true;
        // Optional, but a token that says it is not valid yet is refused until it is.
        validation.validate_nbf = true;
        validation.leeway = settings.leeway.as_secs();
        Ok(Self {
            encoding: EncodingKey::from_secret(&settings.secret),
            decoding: DecodingKey::from_secret(&settings.secret),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ttl: settings.ttl,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// Lifetime of tokens from login and refresh.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Mints a token for `account` that expires after `ttl`.
    pub fn issue(&self, account: AccountId, ttl: Duration) -> anyhow::Result<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let claims = Claims {
            sub: account.to_string(),
            iat: now,
            exp: now + ttl.as_secs(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Verifies a token and returns the account it was issued to.
    ///
    /// A token that passed every check before is recognised by its SHA-256 (so the memo
    /// keeps no usable token) while it has not expired, without its `exp`'s leeway: the
    /// checks other than `exp` and `nbf` do not depend on the time, and a token accepted
    /// once is past its `nbf`, so a recognised token is one that the full check would
    /// accept now. From its `exp` on, the full check decides again (the leeway).
    pub fn verify(&self, token: &str) -> Result<AccountId, ApiError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if let Some(account) = self.recognise(&digest, now) {
            return Ok(account);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                // Only a fixed word: the library's message can quote the token's own text.
                tracing::info!(
                    reason = rejection_reason(e.kind()),
                    "rejected a bearer token"
                );
                ApiError::invalid_token()
            })?;
        let account = Uuid::parse_str(&data.claims.sub)
            .map(AccountId)
            .map_err(|_| ApiError::invalid_token())?;
        if now < data.claims.exp {
            let mut verified = self.lock_verified();
            if verified.len() >= MOST_VERIFIED {
                verified.clear();
            }
            verified.insert(digest, (account, data.claims.exp));
        }
        Ok(account)
    }

    /// The account of a token verified before, while it has not expired.
    fn recognise(&self, digest: &[u8; 32], now: u64) -> Option<AccountId> {
        let mut verified = self.lock_verified();
        let &(account, exp) = verified.get(digest)?;
        if now < exp {
            return Some(account);
        }
        verified.remove(digest);
        None
    }

    fn lock_verified(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (AccountId, u64)>> {
        // A map changed whole under the lock: a panic cannot leave it half-changed.
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A fixed, log-safe word for why a token was refused.
fn rejection_reason(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match kind {
        ErrorKind::InvalidToken => "malformed",
        ErrorKind::Base64(_) => "bad_base64",
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => "bad_json",
        ErrorKind::InvalidSignature => "bad_signature",
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => "wrong_algorithm",
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::ImmatureSignature => "not_yet_valid",
        ErrorKind::InvalidIssuer => "wrong_issuer",
        ErrorKind::InvalidAudience => "wrong_audience",
        ErrorKind::InvalidSubject => "wrong_subject",
        ErrorKind::MissingRequiredClaim(_) => "missing_claim",
        ErrorKind::InvalidClaimFormat(_) => "bad_claim",
        _ => "other",
    }
}

/// The account a request is authenticated as. Extracting it fails with `401` unless the
/// request carries `Authorization: Bearer <valid token>` of an account that exists and is
/// not disabled.
#[derive(Debug, Clone, Copy)]
pub struct AuthenticatedAccount(pub AccountId);

impl FromRequest for AuthenticatedAccount {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verified = verify_bearer(req);
        let status = req.app_data::<web::Data<dyn AccountStatus>>().cloned();
        Box::pin(async move {
            let account = verified?;
            let Some(status) = status else {
                tracing::error!("AccountStatus missing from app data");
                return Err(ApiError::internal());
            };
            match status.is_active(account).await {
                Ok(true) => Ok(AuthenticatedAccount(account)),
                Ok(false) => {
                    tracing::info!(account_id = %account, "token of an unknown or disabled account");
                    Err(ApiError::invalid_token())
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not check the token's account");
                    Err(ApiError::service_unavailable())
                }
            }
        })
    }
}

fn verify_bearer(req: &HttpRequest) -> Result<AccountId, ApiError> {
    let Some(keys) = req.app_data::<web::Data<JwtKeys>>() else {
        tracing::error!("JwtKeys missing from app data");
        return Err(ApiError::internal());
    };
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(ApiError::missing_credentials)?
        .to_str()
        .map_err(|_| ApiError::invalid_token())?;
    let (scheme, token) = header
        .split_once(' ')
        .ok_or_else(ApiError::missing_credentials)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::missing_credentials());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::missing_credentials());
    }
    keys.verify(token)
}
