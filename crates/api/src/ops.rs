//! Operability: request ids, one log line and metrics per request, `GET /healthz`,
//! `GET /readyz` and `GET /metrics`.

use std::rc::Rc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _, HttpResponse};
use ports::StoreHealth;
use prometheus::{
    Encoder as _, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use serde::Serialize;
use tracing::Instrument as _;

use crate::error::{ApiError, ErrorBody};

/// The request-id header, accepted from the client and always returned.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of the current request (also in request extensions).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The route template a request matched (`None`: no route matched), found once by
/// [`observe`] and kept in the request's extensions for the middlewares inside it: finding
/// it runs the router's patterns over the path again.
#[derive(Debug, Clone)]
pub struct MatchedRoute(pub Option<Rc<str>>);

/// The route template `req` matched: the one [`observe`] found, or found now.
pub fn matched_route(req: &ServiceRequest) -> Option<Rc<str>> {
    if let Some(MatchedRoute(route)) = req.extensions().get::<MatchedRoute>() {
        return route.clone();
    }
    req.match_pattern().map(Rc::from)
}

/// The service's Prometheus metrics.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    pool_in_use: IntGauge,
    pool_idle: IntGauge,
    pool_waiting: IntGauge,
    outbox_queued: IntGauge,
    outbox_oldest_age: Gauge,
    jobs_queued: IntGaugeVec,
    jobs_oldest_age: GaugeVec,
    /// When the outbox gauges were last read from the store: `/metrics` is open to anyone,
    /// so a flood of scrapes must not become a flood of backlog queries.
    backlog_read_at: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How long the outbox gauges are reused before a scrape reads them again.
const BACKLOG_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

impl Metrics {
    /// Registers the HTTP, pool and outbox metrics in `registry`.
    pub fn new(registry: Registry) -> prometheus::Result<Self> {
        let labels = ["method", "route", "status"];
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route template and status",
            ),
            &labels,
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by route template and status",
            ),
            &labels,
        )?;
        let pool_in_use = IntGauge::new(
            "db_pool_connections_in_use",
            "Database connections checked out",
        )?;
        let pool_idle = IntGauge::new(
            "db_pool_connections_idle",
            "Open database connections not in use",
        )?;
        let pool_waiting = IntGauge::new(
            "db_pool_waiting",
            "Callers waiting for a database connection",
        )?;
        let outbox_queued =
            IntGauge::new("kyc_mail_outbox_queued", "KYC mails queued for sending")?;
        let outbox_oldest_age = Gauge::new(
            "kyc_mail_outbox_oldest_age_seconds",
            "Age of the oldest queued KYC mail (0 when none)",
        )?;
        let jobs_queued = IntGaugeVec::new(
            Opts::new(
                "outbox_jobs_queued",
                "Outbox jobs queued (due now or waiting for a retry), by kind",
            ),
            &["kind"],
        )?;
        let jobs_oldest_age = GaugeVec::new(
            Opts::new(
                "outbox_oldest_job_age_seconds",
                "Age of the oldest queued outbox job, by kind (0 when none)",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(jobs_queued.clone()))?;
        registry.register(Box::new(jobs_oldest_age.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(pool_in_use.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(pool_waiting.clone()))?;
        registry.register(Box::new(outbox_queued.clone()))?;
        registry.register(Box::new(outbox_oldest_age.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            pool_in_use,
            pool_idle,
            pool_waiting,
            outbox_queued,
            outbox_oldest_age,
            jobs_queued,
            jobs_oldest_age,
            backlog_read_at: std::sync::Mutex::new(None),
        })
    }

    /// Whether this scrape reads the outbox backlog: the first in each
    /// [`BACKLOG_REFRESH`]; the others (and those racing it) show the last values read.
    fn backlog_due(&self) -> bool {
        let mut read_at = self
            .backlog_read_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = read_at.is_none_or(|at| at.elapsed() >= BACKLOG_REFRESH);
        if due {
            *read_at = Some(std::time::Instant::now());
        }
        due
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.http_requests.with_label_values(&labels).inc();
        self.http_duration
            .with_label_values(&labels)
            .observe(seconds);
    }
}

/// A client's request id when it is safe to log and echo (1–128 of `A-Za-z0-9._-`),
/// otherwise a new UUID.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// Middleware: gives each request an id (returned in `X-Request-Id`), runs it in an
/// `http.request` span, logs one line when it completes, and counts it. Logs carry the
/// route template, never the path or query string, which may hold personal data.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    // Bounded label values: a client can send any method name.
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "OTHER",
    }
    .to_owned();
    let matched = req.match_pattern().map(Rc::<str>::from);
    let route = matched.clone().unwrap_or_else(|| Rc::from("unmatched"));
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    req.extensions_mut().insert(RequestId(id.clone()));
    req.extensions_mut().insert(MatchedRoute(matched));
    let span =
        tracing::info_span!("http.request", request_id = %id, method = %method, route = %route);
    let result = next.call(req).instrument(span.clone()).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "request completed"
        );
    });
    if let Some(metrics) = metrics {
        metrics.observe(&method, &route, status.as_u16(), elapsed.as_secs_f64());
    }
    let mut response = result?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// Longest a readiness check may take (a database that neither answers nor refuses).
const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The health answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
    /// Why the service is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
}

/// The process is alive and serving (no database check). No authentication.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    operation_id = "healthz",
    responses((status = 200, description = "Alive", body = Health))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        reason: None,
    })
}

/// Ready to serve: the database answers and every migration is applied; `503` with a
/// reason otherwise. No authentication.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    operation_id = "readyz",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not ready, with the reason", body = Health),
    )
)]
pub async fn readyz(store: web::Data<dyn StoreHealth>) -> HttpResponse {
    let answer = actix_web::rt::time::timeout(READINESS_TIMEOUT, store.readiness())
        .await
        .unwrap_or_else(|_| Err("readiness check timed out".to_owned()));
    match answer {
        Ok(()) => HttpResponse::Ok().json(Health {
            status: "ok",
            reason: None,
        }),
        Err(reason) => HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable",
            reason: Some(reason),
        }),
    }
}

/// Every metric in Prometheus text format: requests and latency by route and status, the
/// database pool, KYC provider calls, the outbox (depth and oldest job per kind, attempts
/// and ends by kind and outcome). No authentication; the outbox figures are read from the
/// store at most once every 5 seconds, however often it is scraped.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String,
            content_type = "text/plain"),
        (status = 500, description = "Unexpected error", body = ErrorBody),
    )
)]
pub async fn metrics(
    metrics: web::Data<Metrics>,
    store: web::Data<dyn StoreHealth>,
) -> Result<HttpResponse, ApiError> {
    let pool = store.pool_state();
    metrics.pool_in_use.set(i64::from(pool.in_use));
    metrics.pool_idle.set(i64::from(pool.idle));
    metrics
        .pool_waiting
        .set(i64::try_from(pool.waiting).unwrap_or(i64::MAX));
    let backlogs = if metrics.backlog_due() {
        Some(store.outbox_backlogs().await)
    } else {
        None
    };
    match backlogs {
        None => {}
        Some(Ok(backlogs)) => {
            for (kind, backlog) in backlogs {
                let queued = i64::try_from(backlog.queued).unwrap_or(i64::MAX);
                let oldest = backlog.oldest_age.map_or(0.0, |age| age.as_secs_f64());
                metrics
                    .jobs_queued
                    .with_label_values(&[kind.as_str()])
                    .set(queued);
                metrics
                    .jobs_oldest_age
                    .with_label_values(&[kind.as_str()])
                    .set(oldest);
                // The KYC mail's own names, from before the outbox served other kinds.
                if kind == ports::JobKind::KycMail {
                    metrics.outbox_queued.set(queued);
                    metrics.outbox_oldest_age.set(oldest);
                }
            }
        }
        Some(Err(e)) => {
            tracing::warn!(error = %e, "could not read the outbox backlog for /metrics");
        }
    }
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    encoder
        .encode(&metrics.registry.gather(), &mut body)
        .map_err(|e| {
            tracing::error!(error = %e, "could not encode metrics");
            ApiError::internal()
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, encoder.format_type()))
        .body(body))
}
