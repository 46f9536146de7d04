//! The handlers: `POST /customer/{id}/kyc` and `GET /customer/{id}/kyc` (KYC by API),
//! `POST /customer/{id}/tos-link` and `GET /tos/complete` (terms of service).

use actix_web::http::header::{ContentType, REFERRER_POLICY};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use domain::{Customer, CustomerId, SignedAgreementId, SubmissionId};
use ports::{Idempotency, StoredResponse, SubmitKyc, TermsOfService};
use serde::Deserialize;
use utoipa::IntoParams;

use super::body::{parse_submission, KycSubmissionBody};
use super::data::TosLinkData;
use super::gate::KycBody;
use super::state::{TosStateKey, TOS_STATE_TTL};
use crate::auth::AuthenticatedAccount;
use crate::customers::data::CustomerData;
use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};
use crate::idempotency::{
    self, IdempotencyKeyHeader, IdempotencyKeyParam, KeyedRequest, Operation,
};
use crate::params::path_id;
use crate::responses::{
    AuthErrors, BearerErrors, CustomerNotFound, HeadersTooLarge, NotJson, ServerErrors, Unexpected,
};

/// What `POST /customer/{id}/tos-link` needs to build its `redirect_uri`.
#[derive(Debug, Clone)]
pub struct TosLinks {
    /// Where clients reach this service (`PUBLIC_URL`), without a trailing slash.
    pub public_url: String,
    /// Signs the `state` that names the customer.
    pub key: TosStateKey,
}

/// `POST /customer/{id}/kyc` under an idempotency key: the accepted submission (`202`,
/// stored by the use case with the submission's outcome and the customer's change) and the
/// failures about the submission itself — `409 kyc_in_progress`, `422 kyc_rejected` — are
/// stored with the key; any other outcome (`400` from the use case, `404`, `500`, `502`,
/// `503`, `504`) releases it for a retry, which runs as the same submission (the key's
/// reserved id). Every stored outcome names the customer of the path, so that erasing the
/// customer erases them.
pub static SUBMIT_KYC: Operation<Customer> = Operation {
    stores_error: stores_conflict_or_rejection,
    render: submitted,
    redact: None,
    customer_of: submitted_customer,
};

fn stores_conflict_or_rejection(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY
    )
}

fn submitted_customer(customer: &Customer) -> Option<CustomerId> {
    Some(customer.id)
}

/// The `202` answer to a submission, as sent and as stored with its key.
pub fn submitted(customer: &Customer) -> StoredResponse {
    let envelope = Envelope::success(
        202,
        "KYC data submitted",
        CustomerData::from(customer.clone()),
    );
    StoredResponse {
        status: 202,
        content_type: Some(actix_web::mime::APPLICATION_JSON.essence_str().to_owned()),
        location: None,
        // Plain strings, numbers and lists: serialising them cannot fail.
        body: serde_json::to_vec(&envelope).unwrap_or_default(),
    }
}

/// Sends the customer's identity data to the KYC provider instead of the hosted link.
/// The provider's customer is updated (or created), the submission is recorded without its
/// numbers, images or birth date, and the customer is answered with the provider's status
/// (e.g. `under_review`); the outcome then arrives like the hosted link's.
///
/// With an `Idempotency-Key`, a retry of the same request gets the first answer again.
#[utoipa::path(
    post,
    path = "/customer/{id}/kyc",
    tag = "kyc",
    operation_id = "submit_kyc",
    params(
        ("id" = String, Path, description = "The customer id (a UUID)"),
        IdempotencyKeyParam,
    ),
    request_body(content = KycSubmissionBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Submitted: the customer, with the provider's status (or, with `Idempotent-Replayed: true`, the first answer to this idempotency key)", body = Envelope<CustomerData>,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same idempotency key"))),
        (status = 400, description = "Invalid submission: `details` names every bad field by its path (`residential_address.subdivision`, `identifying_information[0].number`; at most 20), a key given twice, no terms-of-service acceptance (`signed_agreement_id`), a `customer_type` that is not the customer's, or a malformed `Idempotency-Key` (`invalid_request`); or no `Idempotency-Key` where one is required (`idempotency_key_required`)", body = ErrorBody),
        (status = 408, description = "The body stalled (no data for KYC_BODY_IDLE_TIMEOUT_MS)", body = ErrorBody),
        (status = 409, description = "`kyc_in_progress`: a submission is under review (stored with an idempotency key and replayed); or a request with this idempotency key is still in progress (`idempotency_key_in_use`, with `Retry-After`)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "With `idempotency_key_in_use`: seconds to wait"),
                ("Idempotent-Replayed" = String, description = "`true` on a replayed answer"))),
        (status = 410, description = "`customer_deleted`: a retry with the idempotency key of a request about a customer who has since been deleted", body = ErrorBody),
        (status = 413, description = "Body over KYC_BODY_LIMIT_BYTES (default 34 MiB)", body = ErrorBody),
        (status = 422, description = "`kyc_rejected`: the provider refused the data; `details.fields` maps our field paths to its reasons (stored with an idempotency key and replayed); or this idempotency key was used for a request with a different body (`idempotency_key_reused`)", body = ErrorBody,
            headers(("Idempotent-Replayed" = String, description = "`true` on a replayed answer"))),
        (status = 502, description = "The KYC provider is unavailable (an idempotency key is released: retry with it)", body = ErrorBody),
        (status = 503, description = "`kyc_submissions_busy`: KYC_MAX_CONCURRENT_SUBMISSIONS are being processed; or the database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 504, description = "The KYC provider did not answer within KYC_SUBMIT_TIMEOUT_MS (an idempotency key is released: retry with it)", body = ErrorBody),
        CustomerNotFound, AuthErrors, NotJson, Unexpected,
    )
)]
#[tracing::instrument(name = "http.submit_kyc", skip_all, fields(account_id = %account.0))]
pub async fn submit_kyc(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    key: IdempotencyKeyHeader,
    body: KycBody,
    req: HttpRequest,
    use_case: web::Data<dyn SubmitKyc>,
    idempotency: web::Data<Idempotency>,
) -> Result<HttpResponse, ApiError> {
    let account = account.0;
    let id = CustomerId(path_id(&id)?);
    // Fingerprinted before parsing consumes the body — still under the permit the route's
    // wrapper took before any of it was read.
    let request = KeyedRequest::new(key, &req, account, &body.0).about(id);
    let submission =
        parse_submission(body.0, Utc::now().date_naive()).map_err(|e| ApiError::validation(&e))?;
    let use_case = &use_case;
    idempotency::respond(
        &idempotency,
        request,
        &SUBMIT_KYC,
        // A submission recorded under the reserved id and accepted: the earlier attempt's
        // answer is rebuilt from the customer. Anything else runs again as that submission.
        |reserved| async move {
            Ok(use_case
                .accepted_submission(account, id, SubmissionId(reserved))
                .await?)
        },
        |reservation| async move {
            Ok(match reservation {
                None => use_case.submit_kyc(account, id, submission).await?,
                Some(reservation) => {
                    use_case
                        .submit_kyc_reserved(account, id, submission, reservation)
                        .await?
                }
            })
        },
    )
    .await
}

/// A hosted terms-of-service link for the customer. The provider's page sends the
/// customer back to this service's `GET /tos/complete`, which records the acceptance
/// (`signed_agreement_id`) that a KYC submission needs. The link's `state` expires after
/// 24 hours.
#[utoipa::path(
    post,
    path = "/customer/{id}/tos-link",
    tag = "kyc",
    operation_id = "create_tos_link",
    params(("id" = String, Path, description = "The customer id (a UUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The link", body = Envelope<TosLinkData>),
        (status = 422, description = "The KYC provider refused to issue a link", body = ErrorBody),
        (status = 502, description = "The KYC provider is unavailable", body = ErrorBody),
        (status = 504, description = "The KYC provider did not answer in time", body = ErrorBody),
        CustomerNotFound, BearerErrors,
    )
)]
#[tracing::instrument(name = "http.create_tos_link", skip_all, fields(account_id = %account.0))]
pub async fn create_tos_link(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    links: web::Data<TosLinks>,
    use_case: web::Data<dyn TermsOfService>,
) -> Result<HttpResponse, ApiError> {
    let id = CustomerId(path_id(&id)?);
    let state = links.key.sign(id, Utc::now() + TOS_STATE_TTL);
    let redirect_uri = format!("{}/tos/complete?state={state}", links.public_url);
    let url = use_case.tos_link(account.0, id, redirect_uri).await?;
    Ok(HttpResponse::Ok().json(Envelope::success(
        200,
        "Terms-of-service link created",
        TosLinkData { url },
    )))
}

/// Query of `GET /tos/complete`, as the provider's page sends it back.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TosCompleteParams {
    /// The signed state this service put in the link.
    pub state: Option<String>,
    /// The provider's id of the acceptance.
    pub signed_agreement_id: Option<String>,
}

const THANK_YOU: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Terms accepted</title></head><body><h1>Thank you</h1>\
<p>You have accepted the terms of service. You can close this page.</p></body></html>\n";

/// Where the provider's terms-of-service page sends the customer back. No bearer token:
/// the `state` (signed, naming the customer, valid 24 hours) authenticates the request. A
/// missing, forged or expired state is `400` and nothing is stored; otherwise the
/// acceptance is stored on the customer and a short "thank you" page is shown.
#[utoipa::path(
    get,
    path = "/tos/complete",
    tag = "kyc",
    operation_id = "complete_tos",
    params(TosCompleteParams),
    responses(
        (status = 200, description = "A \"thank you\" page", body = String, content_type = "text/html"),
        (status = 400, description = "A missing, forged or expired `state`, or a missing or malformed `signed_agreement_id`", body = ErrorBody),
        (status = 404, description = "The customer no longer exists", body = ErrorBody),
        ServerErrors, HeadersTooLarge,
    )
)]
#[tracing::instrument(name = "http.complete_tos", skip_all)]
pub async fn complete_tos(
    params: web::Query<TosCompleteParams>,
    links: web::Data<TosLinks>,
    use_case: web::Data<dyn TermsOfService>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let state = params
        .state
        .ok_or_else(|| ApiError::invalid_parameter("state", "is required"))?;
    let customer = links
        .key
        .verify(&state, Utc::now())
        .map_err(|e| ApiError::invalid_parameter("state", &e.to_string()))?;
    let agreement = params
        .signed_agreement_id
        .ok_or_else(|| ApiError::invalid_parameter("signed_agreement_id", "is required"))
        .and_then(|raw| {
            SignedAgreementId::parse(&raw)
                .map_err(|m| ApiError::invalid_parameter("signed_agreement_id", &m))
        })?;
    use_case.accept_terms(customer, agreement).await?;
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::html())
        // The URL carries the state and the agreement id; no page it links to needs them.
        .insert_header((REFERRER_POLICY, "no-referrer"))
        .body(THANK_YOU))
}
