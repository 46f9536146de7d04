//! The HTTP side of idempotent requests, one piece for every creating `POST`: the
//! `Idempotency-Key` header ([`IdempotencyKeyHeader`]), the body's fingerprint, and
//! [`respond`], which claims the key, runs the operation under it and answers — replaying a
//! stored answer byte for byte with `Idempotent-Replayed: true`.
//!
//! Each operation states in an [`Operation`] which outcomes it stores with the key and how
//! its result is answered; the README's table lists them. The row an operation creates is
//! written with the key's outcome in one transaction by its use case (the [`Reservation`]
//! it is handed), so the success path stores nothing here; a stored failure (such as
//! `409 customer_exists`) is stored here, and any other outcome releases the key.
//!
//! `respond` runs inside the handler, after the body was read (within any limit the route's
//! middleware imposes: for `POST /customer/{id}/kyc`, whose bodies run to tens of
//! megabytes, its wrapper takes one of the route's permits before any byte is read, so
//! the body is read and fingerprinted under it) and validated: a request that fails
//! validation never touches its key, so it can be corrected and sent again with the same
//! key.

mod fingerprint;
mod header;

pub use fingerprint::{canonical_json, fingerprint};
pub use header::{IdempotencyKeyHeader, IdempotencyKeyParam, IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};

use std::future::Future;
use std::sync::Arc;

use actix_web::http::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use domain::{AccountId, CustomerId};
use ports::{
    Fingerprint, HeldKey, Idempotency, IdempotencyScope, RepositoryError, Reservation, Started,
    StoredResponse,
};
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;

/// One creating operation's idempotency rules.
pub struct Operation<T> {
    /// Whether an error with this status is stored with the key (successes always are, by
    /// the use case); the key of any other outcome is released for a retry.
    pub stores_error: fn(StatusCode) -> bool,
    /// The answer to a result.
    pub render: fn(&T) -> StoredResponse,
    /// What of an answer is kept, when not all of it may be (a secret shown once is
    /// replaced by `null` in the stored copy, say). `None`: kept exactly as sent.
    pub redact: Option<fn(StoredResponse) -> StoredResponse>,
    /// The customer a result names, kept with the key.
    pub customer_of: fn(&T) -> Option<CustomerId>,
}

impl<T> Operation<T> {
    /// The copy of an answer that is stored and replayed.
    fn kept(&self, answer: StoredResponse) -> StoredResponse {
        match self.redact {
            Some(redact) => redact(answer),
            None => answer,
        }
    }
}

/// A request that may carry a key: who sent it, where, what it says, and the customer it
/// is about, if its path names one.
pub struct KeyedRequest {
    key: Option<ports::IdempotencyKey>,
    account: AccountId,
    method: String,
    path: String,
    fingerprint: Option<Fingerprint>,
    customer: Option<CustomerId>,
}

impl KeyedRequest {
    /// `req` from `account` with its parsed `body`; the fingerprint is taken only when
    /// there is a key. Build it before the body is consumed by parsing.
    pub fn new(
        key: IdempotencyKeyHeader,
        req: &HttpRequest,
        account: AccountId,
        body: &Value,
    ) -> Self {
        Self {
            fingerprint: key.0.as_ref().map(|_| fingerprint(body)),
            key: key.0,
            account,
            method: req.method().as_str().to_owned(),
            path: req.path().to_owned(),
            customer: None,
        }
    }

    /// The request is about `customer` (its path names it): every outcome stored with its
    /// key names the customer, so that erasing the customer erases them too.
    pub fn about(mut self, customer: CustomerId) -> Self {
        self.customer = Some(customer);
        self
    }
}

/// Answers `request` for `operation`. Without a key, `run(None)` runs and its result is
/// answered. With one, the key is claimed first:
/// - stored outcome of the same content: replayed, nothing runs;
/// - other content: `422 idempotency_key_reused`; still running: `409 idempotency_key_in_use`;
/// - the customer it created (or changed) was erased since: `410 customer_deleted`;
/// - taken over from an earlier request: if the row it reserved exists (`find`), the answer
///   is rebuilt from it, stored, and replayed; else as new:
/// - new: `run(Some(reservation))`, whose use case stores a success with the key; a failure
///   is stored if the operation says so, else the key is released.
pub async fn respond<T, Find, FindFut, Run, RunFut>(
    idempotency: &Idempotency,
    request: KeyedRequest,
    operation: &'static Operation<T>,
    find: Find,
    run: Run,
) -> Result<HttpResponse, ApiError>
where
    T: 'static,
    Find: FnOnce(Uuid) -> FindFut,
    FindFut: Future<Output = Result<Option<T>, ApiError>>,
    Run: FnOnce(Option<Reservation<T>>) -> RunFut,
    RunFut: Future<Output = Result<T, ApiError>>,
{
    let about = request.customer;
    let (Some(key), Some(fingerprint)) = (request.key, request.fingerprint) else {
        let value = run(None).await?;
        return Ok(answer(&(operation.render)(&value), false));
    };
    let scope = IdempotencyScope {
        account: request.account,
        method: request.method,
        path: request.path,
        key,
    };
    let held = match idempotency
        .begin(scope, fingerprint)
        .await
        .map_err(store_error)?
    {
        Started::Replay(stored) => return Ok(answer(&stored, true)),
        Started::Gone => return Err(ApiError::customer_deleted()),
        Started::Mismatch => return Err(ApiError::idempotency_key_reused()),
        Started::InProgress => return Err(ApiError::idempotency_key_in_use()),
        Started::Fresh(held) => held,
        Started::Resume(held) => match find(held.reserved_id).await {
            Ok(Some(value)) => {
                // An earlier request created the row but its answer was not stored: the
                // answer is rebuilt from the row, as that request would have given it.
                let stored = operation.kept((operation.render)(&value));
                let customer = (operation.customer_of)(&value).or(about);
                finish(
                    idempotency.complete(&held, stored.clone(), customer),
                    "store the rebuilt answer of",
                )
                .await;
                return Ok(answer(&stored, true));
            }
            Ok(None) => held,
            Err(error) => {
                finish(idempotency.release(&held), "release").await;
                return Err(error);
            }
        },
    };
    let render: ports::Renderer<T> =
        Arc::new(move |value: &T| operation.kept((operation.render)(value)));
    match run(Some(idempotency.reservation(held.clone(), render))).await {
        Ok(value) => Ok(answer(&(operation.render)(&value), false)),
        Err(error) => {
            settle(idempotency, &held, operation, &error, about).await;
            Err(error)
        }
    }
}

/// Stores a failure the operation keeps (naming the customer the request is about), or
/// releases the key.
async fn settle<T>(
    idempotency: &Idempotency,
    held: &HeldKey,
    operation: &Operation<T>,
    error: &ApiError,
    about: Option<CustomerId>,
) {
    if (operation.stores_error)(error.status()) {
        let stored = operation.kept(StoredResponse {
            status: error.status().as_u16(),
            content_type: Some(mime_json()),
            location: None,
            body: error.body_bytes(),
        });
        finish(
            idempotency.complete(held, stored, about),
            "store the answer of",
        )
        .await;
    } else {
        finish(idempotency.release(held), "release").await;
    }
}

/// Waits for a write to the key, logging its failure: the answer goes out regardless, and
/// the key, still in progress, is taken over once its lease ends.
async fn finish(write: impl Future<Output = Result<bool, RepositoryError>>, what: &str) {
    match write.await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "could not {what} the idempotency key: its lease ran out and another request took it over"
        ),
        Err(e) => tracing::warn!(error = %e, "could not {what} the idempotency key; it is taken over once its lease ends"),
    }
}

fn mime_json() -> String {
    actix_web::mime::APPLICATION_JSON.essence_str().to_owned()
}

/// A stored answer as a response.
pub fn answer(stored: &StoredResponse, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in [
        (CONTENT_TYPE, &stored.content_type),
        (LOCATION, &stored.location),
    ] {
        if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            response.insert_header((name, value));
        }
    }
    if replayed {
        response.insert_header((IDEMPOTENT_REPLAYED, "true"));
    }
    response.body(stored.body.clone())
}

/// The key store failing: `503` when it is unreachable, else `500`. The cause is logged.
fn store_error(error: RepositoryError) -> ApiError {
    tracing::error!(error = %error, "the idempotency key store failed");
    match error {
        RepositoryError::Unavailable(_) => ApiError::service_unavailable(),
        _ => ApiError::internal(),
    }
}

#[cfg(test)]
mod tests;
