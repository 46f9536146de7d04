//! `POST /auth/login` and `GET /auth/refresh-token`: access tokens for accounts, with
//! failed logins throttled per account, per (account, client address) and per client
//! address (see [`crate::throttle`]).

use actix_web::{web, HttpRequest, HttpResponse};
use domain::AccountId;
use ports::Authenticate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AuthenticatedAccount, JwtKeys};
use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use crate::responses::{BearerErrors, BearerHeadersTooLarge, JsonBodyErrors, Unexpected};
pub use crate::throttle::{LoginThrottle, ThrottleSettings};

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
        (status = 400, description = "Invalid request (including a key given twice)", body = ErrorBody),
        (status = 401, description = "Invalid account id or app secret", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 429, description = "Too many failed logins", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 503, description = "The database is unavailable, or `logins_busy`: MAX_IN_FLIGHT_LOGINS logins are already being processed", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        JsonBodyErrors, BearerHeadersTooLarge, Unexpected,
    )
)]
#[tracing::instrument(name = "http.login", skip_all)]
pub async fn login(
    req: HttpRequest,
    body: Json<LoginBody>,
    auth: web::Data<dyn Authenticate>,
    keys: web::Data<JwtKeys>,
    throttle: web::Data<LoginThrottle>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let attempt = throttle
        .admit(throttle.keys(&body.account_id, req.peer_addr().map(|a| a.ip())))
        .await
        .map_err(ApiError::too_many_requests)?;
    match auth.login(&body.account_id, &body.app_secret).await {
        Ok(account) => {
            attempt.succeeded();
            tracing::info!(account_id = %account, "login succeeded");
            token_response(&keys, account, "Authentication successful")
        }
        Err(ports::LoginError::InvalidCredentials) => {
            attempt.failed();
            Err(ApiError::invalid_credentials())
        }
        // An outage says nothing about the secret: dropping the attempt gives its slot back.
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
        BearerErrors,
    )
)]
#[tracing::instrument(name = "http.refresh_token", skip_all, fields(account_id = %account.0))]
pub async fn refresh(
    account: AuthenticatedAccount,
    keys: web::Data<JwtKeys>,
) -> Result<HttpResponse, ApiError> {
    token_response(&keys, account.0, "Token refreshed")
}
