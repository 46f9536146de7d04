//! Protection against more load than the service can serve well, and against request
//! bodies that stall.
//!
//! - [`admit`]: at most `max_in_flight` requests are processed at once; a few more may wait
//!   for a slot, each for at most `max_queue_wait`, and everything beyond is refused at
//!   once with `503` and `Retry-After`, in the API's error shape. A client is told to come
//!   back in microseconds instead of waiting behind hundreds of others, and the requests
//!   that are admitted keep their latency. The operations endpoints (`/healthz`, `/readyz`,
//!   `/metrics`) are never refused, so an overloaded instance stays observable.
//! - [`body_idle_timeout`]: a request whose body stops arriving for `body_idle` is
//!   answered `408` and its connection closed. actix's own timeout covers only the request
//!   head, so a client could otherwise hold a connection (and a slot) forever by sending
//!   headers and then nothing. Only silence counts: a large body that keeps moving is
//!   never cut.
//!
//! Register both on the app with [`Limits`] as app data; the last `wrap` is the
//! outermost, so wrap [`body_idle_timeout`] first, then [`admit`], then the observability
//! middleware, which then logs and counts refusals like any other answer.

use std::cell::Cell;
use std::future::Future as _;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::rt::time::{sleep, Sleep};
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage as _, HttpResponse, ResponseError as _};
use futures_util::Stream;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ErrorBody};

/// The limits' settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// Requests processed at once.
    pub max_in_flight: usize,
    /// Requests allowed to wait for a free slot; more are refused at once.
    pub max_queued: usize,
    /// Longest a request waits for a free slot before it is refused.
    pub max_queue_wait: Duration,
    /// Longest silence while a request body is being read.
    pub body_idle: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_in_flight: 32,
            max_queued: 32,
            max_queue_wait: Duration::from_millis(25),
            body_idle: Duration::from_secs(10),
        }
    }
}

/// The limits' shared state: one per process, shared by every worker's app.
pub struct Limits {
    settings: LimitSettings,
    slots: Semaphore,
    queued: AtomicUsize,
    metrics: LimitMetrics,
}

struct LimitMetrics {
    refused: IntCounterVec,
    in_flight: IntGauge,
    queued: IntGauge,
    queue_wait: Histogram,
}

/// Why a request was refused, as `/metrics` labels it.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// Every slot busy and the queue full.
    QueueFull,
    /// Waited `max_queue_wait` without a slot coming free.
    QueueTimeout,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::QueueTimeout => "queue_timeout",
        }
    }
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
        let in_flight = IntGauge::new(
            "http_requests_in_flight",
            "Requests being processed (the operations endpoints not counted)",
        )?;
        let queued = IntGauge::new(
            "http_requests_queued",
            "Requests waiting for a processing slot",
        )?;
        let queue_wait = Histogram::with_opts(
            HistogramOpts::new(
                "http_request_queue_seconds",
                "Time admitted requests waited for a processing slot",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            ]),
        )?;
        registry.register(Box::new(refused.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(queued.clone()))?;
        registry.register(Box::new(queue_wait.clone()))?;
        Ok(Self {
            slots: Semaphore::new(settings.max_in_flight.max(1)),
            queued: AtomicUsize::new(0),
            settings,
            metrics: LimitMetrics {
                refused,
                in_flight,
                queued,
                queue_wait,
            },
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> LimitSettings {
        self.settings
    }

    fn refuse(&self, why: Refusal) {
        self.metrics.refused.with_label_values(&[why.label()]).inc();
    }
}

/// Paths that are never refused: what operators and load balancers ask an overloaded
/// instance.
fn always_admitted(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Middleware: admits the request into a processing slot, waits briefly for one, or
/// refuses it with `503` and `Retry-After` (see the module documentation).
pub async fn admit<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let limits = req.app_data::<web::Data<Limits>>().cloned();
    let Some(limits) = limits.filter(|_| !always_admitted(req.path())) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let permit = match limits.slots.try_acquire() {
        Ok(permit) => {
            limits.metrics.queue_wait.observe(0.0);
            permit
        }
        Err(_) => {
            // Counted before waiting, so that concurrent arrivals cannot overfill it.
            let waiting = limits.queued.fetch_add(1, Ordering::AcqRel);
            let permit = if waiting >= limits.settings.max_queued {
                Err(Refusal::QueueFull)
            } else {
                limits.metrics.queued.inc();
                let started = Instant::now();
                let acquired = actix_web::rt::time::timeout(
                    limits.settings.max_queue_wait,
                    limits.slots.acquire(),
                )
                .await;
                limits.metrics.queued.dec();
                match acquired {
                    Ok(Ok(permit)) => {
                        limits
                            .metrics
                            .queue_wait
                            .observe(started.elapsed().as_secs_f64());
                        Ok(permit)
                    }
                    _ => Err(Refusal::QueueTimeout),
                }
            };
            limits.queued.fetch_sub(1, Ordering::AcqRel);
            match permit {
                Ok(permit) => permit,
                Err(why) => {
                    limits.refuse(why);
                    let refusal = ApiError::service_unavailable().error_response();
                    return Ok(req.into_response(refusal).map_into_right_body());
                }
            }
        }
    };
    limits.metrics.in_flight.inc();
    let response = next.call(req).await;
    limits.metrics.in_flight.dec();
    drop(permit);
    Ok(response?.map_into_left_body())
}

/// A request body that ends with an error once no byte has arrived for `idle`.
struct IdleTimeout {
    inner: Payload,
    idle: Duration,
    /// Boxed so that this type is `Unpin` (no pin projection needed).
    timer: Option<Pin<Box<Sleep>>>,
    fired: Rc<Cell<bool>>,
    done: bool,
}

impl Stream for IdleTimeout {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                // Data arrived: the silence starts over.
                this.timer = None;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(end) => {
                this.done = true;
                Poll::Ready(end)
            }
            Poll::Pending => {
                let idle = this.idle;
                let timer = this.timer.get_or_insert_with(|| Box::pin(sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => {
                        this.done = true;
                        this.fired.set(true);
                        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no request body data within the idle timeout",
                        )))))
                    }
                }
            }
        }
    }
}

/// Whether the request announces a body.
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// The `408` for a body that stalled, in the API's error shape. The connection is closed:
/// the rest of the body was never read.
fn body_stalled() -> HttpResponse {
    HttpResponse::build(StatusCode::REQUEST_TIMEOUT)
        .force_close()
        .json(ErrorBody {
            error: "The request body stopped arriving".into(),
            code: "request_timeout",
            details: None,
        })
}

/// Middleware: cuts off a request body that stalls (see the module documentation),
/// answering `408` whatever the handler's extractor made of the interrupted body.
pub async fn body_idle_timeout<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let idle = req
        .app_data::<web::Data<Limits>>()
        .map(|limits| limits.settings.body_idle);
    let Some(idle) = idle.filter(|_| has_body(&req)) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let fired = Rc::new(Cell::new(false));
    let body = IdleTimeout {
        inner: req.take_payload(),
        idle,
        timer: None,
        fired: Rc::clone(&fired),
        done: false,
    };
    let body: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(body);
    req.set_payload(Payload::from(body));
    let response = next.call(req).await;
    if fired.get() {
        tracing::info!(idle_ms = idle.as_millis() as u64, "request body stalled");
        let request = match response {
            Ok(response) => response.into_parts().0,
            Err(e) => return Err(e),
        };
        return Ok(ServiceResponse::new(request, body_stalled()).map_into_right_body());
    }
    Ok(response?.map_into_left_body())
}
