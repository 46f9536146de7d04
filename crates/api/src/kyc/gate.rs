//! What stands in front of `POST /customer/{id}/kyc`, whose bodies run to tens of
//! megabytes: a route-level wrapper that, before any byte of the body is read, checks the
//! bearer token and the declared length and takes one of a fixed number of permits
//! (`503` with `Retry-After` when none is free), then gives the body this route's own idle
//! time (`408` when the client stops sending for longer); and the body extractor with this
//! route's own size limit.
//!
//! The permit must be taken in a wrapper: actix polls a handler's extractors together, so
//! no extractor can keep the body extractor from reading. The permits are this route's
//! only bound on concurrency: the service-wide admission (`limits::admit`) neither reads
//! this body ahead nor gives it a processing slot or a total deadline, so a slow but moving
//! upload passes (see `limits`). The idle rule is the service-wide one
//! (`limits::body_idle_timeout`), which honours the time set here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;
use actix_web::{FromRequest, HttpRequest, ResponseError};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::auth::AuthenticatedAccount;
use crate::error::ApiError;
use crate::extract::read_json;

/// The limits of the KYC upload route. Build it once, outside the `HttpServer` factory
/// (which runs per worker), so that every worker shares the permits.
#[derive(Clone, Debug)]
pub struct KycUploadLimits {
    /// Largest body, in bytes.
    pub body_limit: usize,
    /// Longest pause between two chunks of the body.
    pub idle_timeout: Duration,
    permits: Arc<Semaphore>,
}

impl KycUploadLimits {
    /// At most `max_concurrent` submissions processed at once (at least one).
    pub fn new(body_limit: usize, max_concurrent: usize, idle_timeout: Duration) -> Self {
        Self {
            body_limit,
            idle_timeout,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    /// Permits free now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// The response of a refused request whose body is left unread: the connection is
/// closed after it, since the client may still be sending.
fn refuse(req: ServiceRequest, error: ApiError) -> ServiceResponse<EitherBody<BoxBody>> {
    let mut response = error.error_response();
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    req.into_response(response).map_into_right_body()
}

/// The route wrapper (see the module documentation). Register with
/// `route.wrap(actix_web::middleware::from_fn(kyc_upload_gate))`; the app provides
/// `web::Data<KycUploadLimits>`.
pub async fn kyc_upload_gate(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error> {
    let Some(limits) = req.app_data::<web::Data<KycUploadLimits>>().cloned() else {
        tracing::error!("the KYC upload limits are not configured");
        return Ok(refuse(req, ApiError::internal()));
    };
    // Only an authenticated client may hold a permit.
    if let Err(refused) = AuthenticatedAccount::extract(req.request()).await {
        return Ok(refuse(req, refused));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.body_limit as u64) {
        return Ok(refuse(req, ApiError::payload_too_large(limits.body_limit)));
    }
    let Ok(permit) = limits.permits.clone().try_acquire_owned() else {
        let busy = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "kyc_submissions_busy",
            "Too many KYC submissions are being processed; retry shortly",
        )
        .retry_after(1);
        return Ok(refuse(req, busy));
    };

    // This route's own idle time, longer or shorter than the service-wide one, which the
    // service-wide idle rule then applies; no other limit on time applies to this body.
    crate::limits::set_body_idle_timeout(&req, limits.idle_timeout);
    let response = next.call(req).await;
    drop(permit);
    Ok(response?.map_into_left_body())
}

/// The JSON body of the KYC upload route, read within [`KycUploadLimits::body_limit`] with
/// every check the other routes' bodies get (content type, UTF-8, keys given twice).
#[derive(Debug)]
pub struct KycBody(pub Value);

impl FromRequest for KycBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Some(limits) = req.app_data::<web::Data<KycUploadLimits>>() else {
            tracing::error!("the KYC upload limits are not configured");
            return Box::pin(std::future::ready(Err(ApiError::internal())));
        };
        let body = read_json::<Value>(req, payload, limits.body_limit);
        Box::pin(async move { body.await.map(KycBody) })
    }
}
