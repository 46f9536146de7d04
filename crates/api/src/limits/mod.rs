//! Protection against more load than the service can serve well, and against clients that
//! send their request bodies slowly or not at all.
//!
//! - [`admit`]: at most `max_in_flight` requests are processed at once; a few more may wait
//!   for a slot, each for at most `max_queue_wait`, and everything beyond is refused at
//!   once with `503` and `Retry-After`, in the API's error shape. A client is told to come
//!   back in microseconds instead of waiting behind hundreds of others, and the requests
//!   that are admitted keep their latency. The queue is for bursts: once it is standing
//!   (over an interval, every request leaving it waited longer than `queue_target_wait`
//!   and more requests found every slot busy than it holds), requests that find every
//!   slot busy are refused at once until the overload passes (`admission::Standing`).
//!   Two kinds of request are bounded by limits of their own instead: logins
//!   (`max_logins` at once, no queue) and KYC uploads (the upload gate's permits, see
//!   `kyc::gate`). The operations endpoints (`/healthz`, `/readyz`,
//!   `/metrics`) are never refused, so an overloaded instance stays observable.
//! - [`body_idle_timeout`]: a request whose body stops arriving for `body_idle` (or the
//!   idle time its route set with [`set_body_idle_timeout`]) is answered `408` and its
//!   connection closed. actix's own timeout covers only the request head.
//!
//! **Why a slot is taken only once the body has arrived.** A slot held while the body is
//! read can be held by the client, not by the work: 32 connections that each announce a
//! small body and send one byte every few seconds never trip an idle timeout, and would keep
//! every slot for days. A total deadline or a minimum rate would only shorten that, since the
//! same clients can reconnect at once. So [`admit`] reads the body of an ordinary request
//! whole (it is small: at most its route's limit, 64 KiB for most, 256 KiB for provider
//! events) before it asks for a slot, and slots are only ever held by requests the service
//! can work on. A slow client then holds only its own connection and at most its route's
//! limit of memory, for at most `body_deadline` from its head: the body of an ordinary
//! request must arrive whole within that, moving or not. The KYC upload (tens of megabytes)
//! is not read ahead and has no such deadline, so that a slow but moving upload passes: its
//! gate takes one of its few permits before a byte is read (bounding memory) and its body is
//! cut only by the idle rule, with the route's own idle time; only authenticated clients
//! can hold those permits, and they hold no slot of the rest of the API.
//!
//! **Why logins have their own lane.** A login may wait up to ten seconds for the failed-
//! login throttle and then for an argon2 thread: held in a general slot, a flood of logins
//! would make every other route answer `503`. In their own lane a flood only refuses logins
//! (`503 logins_busy`).
//!
//! Register both with [`Limits`] as app data; the last `wrap` is the outermost, so wrap
//! [`admit`] first and then [`body_idle_timeout`] (so that the idle rule also bounds the
//! reading ahead), then `hardening::guard` (so that refusals carry its headers), then the
//! observability middleware, which then logs and counts refusals like any other answer.

mod admission;
mod body;

use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;
use actix_web::ResponseError as _;
use prometheus::{IntCounterVec, Opts, Registry};

pub use body::{body_idle_timeout, set_body_idle_timeout};

use self::admission::Lane;
use crate::error::ApiError;

/// The limits' settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// Requests processed at once.
    pub max_in_flight: usize,
    /// Requests allowed to wait for a free slot; more are refused at once.
    pub max_queued: usize,
    /// Longest a request waits for a free slot before it is refused.
    pub max_queue_wait: Duration,
    /// The queue's target wait: when every request leaving the queue over an interval
    /// (100 ms) waited longer, and more requests than it holds found every slot busy, the
    /// queue is standing and requests that find every slot busy are refused at once until
    /// the overload passes (see `admission::Standing`). `None`: always queue.
    pub queue_target_wait: Option<Duration>,
    /// Longest silence while a request body is being read.
    pub body_idle: Duration,
    /// Longest the whole body of a request to any route but the KYC upload may take to
    /// arrive, counted from its head.
    pub body_deadline: Duration,
    /// Logins processed at once, apart from the other requests; more are refused at once.
    pub max_logins: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_in_flight: 32,
            max_queued: 32,
            max_queue_wait: Duration::from_millis(25),
            queue_target_wait: Some(Duration::from_millis(5)),
            body_idle: Duration::from_secs(10),
            body_deadline: Duration::from_secs(30),
            max_logins: 16,
        }
    }
}

/// The limits' shared state: one per process, shared by every worker's app.
pub struct Limits {
    settings: LimitSettings,
    /// Every request but those below.
    general: Lane,
    /// `POST /auth/login`.
    logins: Lane,
}

impl Limits {
    /// The limits, with their metrics registered in `registry`.
    pub fn new(settings: LimitSettings, registry: &Registry) -> prometheus::Result<Self> {
        let refused = IntCounterVec::new(
            Opts::new(
                "http_requests_refused_total",
                "Requests refused with 503 because the service was at its limits, by reason",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(refused.clone()))?;
        Ok(Self {
            general: Lane::general(&settings, &refused, registry)?,
            logins: Lane::logins(settings.max_logins, logins_busy, &refused, registry)?,
            settings,
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> LimitSettings {
        self.settings
    }
}

/// The route templates the limits treat apart from the rest; a test checks each is a route.
pub(crate) mod routes {
    /// The login.
    pub const LOGIN: &str = "/auth/login";
    /// The KYC upload, behind its own gate.
    pub const KYC_UPLOAD: &str = "/customer/{id}/kyc";
    /// Provider events, whose bodies may be larger than the others'.
    pub const PROVIDER_EVENTS: &str = "/webhooks/bridge";
    /// Never refused: what operators and load balancers ask an overloaded instance.
    pub const OPERATIONS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];
}

/// Which limits a request is under.
enum Class {
    /// Neither a slot nor reading ahead: the operations endpoints and the KYC upload.
    Exempt,
    /// The login lane, once its body is read.
    Login,
    /// The general lane, once its body (of at most `body_limit` bytes) is read.
    Ordinary { body_limit: usize },
}

fn classify(req: &ServiceRequest) -> Class {
    let pattern = crate::ops::matched_route(req);
    let post = req.method() == Method::POST;
    match pattern.as_deref() {
        Some(p) if routes::OPERATIONS.contains(&p) => Class::Exempt,
        Some(routes::KYC_UPLOAD) if post => Class::Exempt,
        Some(routes::LOGIN) if post => Class::Login,
        Some(routes::PROVIDER_EVENTS) => Class::Ordinary {
            body_limit: crate::provider_events::MAX_WEBHOOK_BODY_BYTES,
        },
        _ => Class::Ordinary {
            body_limit: crate::extract::MAX_BODY_BYTES,
        },
    }
}

/// The `503` of a full login lane.
fn logins_busy() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "logins_busy",
        "Too many logins are being processed; retry shortly",
    )
    .retry_after(1)
}

/// Middleware: reads an ordinary request's body whole, then admits the request into a
/// processing slot, waits briefly for one, or refuses it with `503` and `Retry-After` (see
/// the module documentation).
pub async fn admit<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let Some(limits) = req.app_data::<web::Data<Limits>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let (lane, body_limit) = match classify(&req) {
        Class::Exempt => return Ok(next.call(req).await?.map_into_left_body()),
        Class::Login => (&limits.logins, crate::extract::MAX_BODY_BYTES),
        Class::Ordinary { body_limit } => (&limits.general, body_limit),
    };
    if body::has_body(&req) {
        let deadline = limits.settings.body_deadline;
        if let Err(refused) = body::read_ahead(&mut req, body_limit, deadline).await {
            return Ok(req.into_response(refused).map_into_right_body());
        }
    }
    let Some(slot) = lane.enter().await else {
        let refused = lane.refusal().error_response();
        return Ok(req.into_response(refused).map_into_right_body());
    };
    let response = next.call(req).await;
    drop(slot);
    Ok(response?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::routes;

    #[test]
    fn every_route_the_limits_single_out_is_a_route_of_the_api() {
        let has = |method: &str, path: &str| {
            crate::ENDPOINTS
                .iter()
                .any(|e| e.method == method && e.path == path)
        };
        assert!(has("POST", routes::LOGIN));
        assert!(has("POST", routes::KYC_UPLOAD));
        assert!(has("POST", routes::PROVIDER_EVENTS));
        for path in routes::OPERATIONS {
            assert!(has("GET", path), "{path}");
        }
    }
}
