//! Request bodies under time limits: the idle rule every body is read under (a route may
//! set its own idle time), and the reading ahead of an ordinary request's body, whole and
//! within a deadline, before the request takes a processing slot.

use std::cell::Cell;
use std::future::Future as _;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::rt::time::{sleep, Instant, Sleep};
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpMessage, HttpResponse, ResponseError as _};
use futures_util::{Stream, StreamExt as _};

use super::Limits;
use crate::error::{ApiError, ErrorBody};

/// The idle time of one request's body, which its route may change before reading it.
#[derive(Clone)]
struct BodyIdle(Rc<Cell<Duration>>);

/// Gives this request's body an idle time of its own instead of `BODY_READ_TIMEOUT_MS`,
/// longer or shorter, which [`body_idle_timeout`] (installed on the app) then applies. Call
/// it before the body is read, as a route's wrapper can: the app's middlewares run before
/// a route's own wrapper, so this is how a route hands its time to them.
pub fn set_body_idle_timeout(req: &impl HttpMessage, idle: Duration) {
    if let Some(BodyIdle(current)) = req.extensions().get::<BodyIdle>() {
        current.set(idle);
    }
}

/// A request body that ends with an error once no byte has arrived for its idle time.
struct IdleTimeout {
    inner: Payload,
    idle: Rc<Cell<Duration>>,
    /// Boxed so that this type is `Unpin` (no pin projection needed). Started on the first
    /// wait, so the clock runs only while someone reads.
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
                if let Some(timer) = this.timer.as_mut() {
                    timer.as_mut().reset(Instant::now() + this.idle.get());
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(end) => {
                this.done = true;
                Poll::Ready(end)
            }
            Poll::Pending => {
                let idle = this.idle.get();
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
pub(super) fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// A `408` in the API's error shape. The connection is closed: the rest of the body was
/// never read.
fn request_timeout(message: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::REQUEST_TIMEOUT)
        .force_close()
        .json(ErrorBody {
            error: message.into(),
            code: "request_timeout",
            details: None,
        })
}

/// An error answered before the body was read to its end: the connection is closed.
fn unread(error: ApiError) -> HttpResponse {
    let mut response = error.error_response();
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    response
}

/// Middleware: cuts off a request body that stalls (see the module documentation),
/// answering `408` whatever the reader (an extractor, or [`super::admit`]) made of the
/// interrupted body.
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
    let idle = Rc::new(Cell::new(idle));
    req.extensions_mut().insert(BodyIdle(Rc::clone(&idle)));
    let fired = Rc::new(Cell::new(false));
    let body = IdleTimeout {
        inner: req.take_payload(),
        idle: Rc::clone(&idle),
        timer: None,
        fired: Rc::clone(&fired),
        done: false,
    };
    let body: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(body);
    req.set_payload(Payload::from(body));
    let response = next.call(req).await;
    if fired.get() {
        let idle_ms = u64::try_from(idle.get().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(idle_ms, "request body stalled");
        let request = match response {
            Ok(response) => response.into_parts().0,
            Err(e) => return Err(e),
        };
        let stalled = request_timeout("The request body stopped arriving");
        return Ok(ServiceResponse::new(request, stalled).map_into_right_body());
    }
    Ok(response?.map_into_left_body())
}

/// Why a body could not be read ahead.
enum Unread {
    TooLarge,
    Broken,
}

/// Reads the request's body whole, to at most `limit` bytes, and puts it back for the
/// handler. Answers `413` for a body over `limit` (at once when its declared length says
/// so) and `408` when it has not all arrived within `deadline`. Nothing is allocated for
/// bytes that have not arrived.
pub(super) async fn read_ahead(
    req: &mut ServiceRequest,
    limit: usize,
    deadline: Duration,
) -> Result<(), HttpResponse> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(unread(ApiError::payload_too_large(limit)));
    }
    let mut payload = req.take_payload();
    let read = async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| Unread::Broken)?;
            if body.len() + chunk.len() > limit {
                return Err(Unread::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    match actix_web::rt::time::timeout(deadline, read).await {
        Ok(Ok(body)) => {
            req.set_payload(Payload::from(body));
            Ok(())
        }
        Ok(Err(Unread::TooLarge)) => Err(unread(ApiError::payload_too_large(limit))),
        // When the idle rule cut the body, [`body_idle_timeout`] answers 408 instead.
        Ok(Err(Unread::Broken)) => Err(unread(ApiError::malformed_json(
            "request body could not be read",
        ))),
        Err(_) => {
            let deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX);
            tracing::info!(deadline_ms, "request body too slow");
            Err(request_timeout(
                "The request body did not arrive within the time allowed",
            ))
        }
    }
}
