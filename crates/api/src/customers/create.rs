//! `POST /customer`: the wire body, its conversion to the domain and the handler.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::{Customer, CustomerId, FieldError, NewCustomer, ValidationErrors};
use ports::{CreateCustomer, Idempotency, ReadCustomers, StoredResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::data::{CustomerData, CustomerKind};
use super::fields;
use crate::auth::AuthenticatedAccount;
use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};
use crate::examples::seed_request_example;
use crate::extract::Json;
use crate::idempotency::{
    self, IdempotencyKeyHeader, IdempotencyKeyParam, KeyedRequest, Operation,
};
use crate::responses::{BearerErrors, JsonBodyErrors};
use crate::wire::{self, Field, FromJson};

// Parsing, the OpenAPI schema and the list of known fields all come from this one
// declaration. Each field is a lenient `Field` so that `try_into_domain` can name every
// bad field at once; `schema_with`/`value_type` and `required` give the document the type
// and presence that `Field::read` enforces (a test checks the required list against the
// handler). The customer's own fields take their rules from `fields`, which the update
// body shares. The doc comment below is the schema's description.
/// The body of `POST /customer`. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateCustomerRequest, example = json!(seed_request_example()))]
pub struct CreateCustomerBody {
    /// Required; the rules are [`fields::name_schema`]'s.
    #[serde(default)]
    #[schema(schema_with = fields::name_schema, required = true)]
    pub customer_name: Field<String>,
    /// Required; the rules are [`fields::email_schema`]'s.
    #[serde(default)]
    #[schema(schema_with = fields::email_schema, required = true)]
    pub customer_email: Field<String>,
    /// Required; the rules are [`fields::phone_schema`]'s.
    #[serde(default)]
    #[schema(schema_with = fields::phone_schema, required = true)]
    pub customer_phone: Field<String>,
    /// Required; the rules are [`fields::country_schema`]'s.
    #[serde(default)]
    #[schema(schema_with = fields::country_schema, required = true)]
    pub customer_country: Field<String>,
    /// Default `individual`.
    #[serde(default)]
    #[schema(value_type = Option<CustomerKind>)]
    pub customer_type: Field<Option<CustomerKind>>,
    /// Whether to e-mail the KYC and terms links to the customer. Default `true`.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub send_kyc_mail: Field<Option<bool>>,
    /// The keys sent that are none of the above, reported by `try_into_domain`.
    #[serde(skip)]
    unknown: Vec<String>,
}

impl FromJson for CustomerKind {
    fn from_json(value: Value) -> Result<Self, String> {
        wire::one_of(value)
    }
}

impl CreateCustomerBody {
    /// Reads a JSON body. Fails only when it is not an object; everything else wrong with
    /// it is reported, all at once, by [`Self::try_into_domain`].
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let (mut body, unknown) = wire::read_object::<Self>(body)?;
        body.unknown = unknown;
        Ok(body)
    }

    /// Checks types, required fields, unknown fields and every domain rule, collecting
    /// all failures.
    pub fn try_into_domain(self) -> Result<NewCustomer, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = self.customer_name.read(fields::NAME, &mut errors);
        let email = self.customer_email.read(fields::EMAIL, &mut errors);
        let phone = self.customer_phone.read(fields::PHONE, &mut errors);
        let country = self.customer_country.read(fields::COUNTRY, &mut errors);
        let customer_type = self.customer_type.read("customer_type", &mut errors);
        let send_kyc_mail = self.send_kyc_mail.read("send_kyc_mail", &mut errors);
        for unknown in self.unknown {
            errors.push(FieldError::new(
                unknown,
                wire::unknown_field_message::<Self>(),
            ));
        }

        let name = name.and_then(|v| fields::name(v, &mut errors));
        let email = email.and_then(|v| fields::email(v, &mut errors));
        let country = country.and_then(|v| fields::country(v, &mut errors));
        let phone = phone.and_then(|v| fields::phone(v, country, &mut errors));

        match (name, email, phone, country, customer_type, send_kyc_mail) {
            (
                Some(name),
                Some(email),
                Some(phone),
                Some(country),
                Some(customer_type),
                Some(send),
            ) if errors.is_empty() => Ok(NewCustomer {
                name,
                email,
                phone,
                country,
                customer_type: customer_type.map(Into::into).unwrap_or_default(),
                send_kyc_mail: send.unwrap_or(true),
            }),
            _ => Err(errors),
        }
    }
}

/// `POST /customer` under an idempotency key: the created customer (`201`) and the failures
/// about the customer itself — `409 customer_exists`, `422 kyc_rejected` — are stored with
/// the key; any other outcome (`502`, `503`, `504`, `500`) releases it for a retry, which
/// creates the customer under the same reserved id.
pub static CREATE_CUSTOMER: Operation<Customer> = Operation {
    stores_error: stores_conflict_or_rejection,
    render: created,
    redact: None,
    customer_of: created_customer,
};

fn stores_conflict_or_rejection(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY
    )
}

fn created_customer(customer: &Customer) -> Option<CustomerId> {
    Some(customer.id)
}

/// The `201` answer for a new customer, as sent and as stored with its key.
pub fn created(customer: &Customer) -> StoredResponse {
    let envelope = Envelope::success(
        201,
        "Customer created successfully",
        CustomerData::from(customer.clone()),
    );
    StoredResponse {
        status: 201,
        content_type: Some(actix_web::mime::APPLICATION_JSON.essence_str().to_owned()),
        location: None,
        // Plain strings, numbers and lists: serialising them cannot fail.
        body: serde_json::to_vec(&envelope).unwrap_or_default(),
    }
}

/// Registers a customer for the authenticated account: obtains a hosted KYC link from the
/// KYC provider, stores the customer and (unless `send_kyc_mail` is false) e-mails the links.
/// With an `Idempotency-Key`, a retry of the same request gets the first answer again.
#[utoipa::path(
    post,
    path = "/customer",
    tag = "customers",
    operation_id = "create_customer",
    params(IdempotencyKeyParam),
    request_body(content = CreateCustomerBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Customer created (or, with `Idempotent-Replayed: true`, the first answer to this idempotency key)", body = Envelope<CustomerData>,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same idempotency key"))),
        (status = 400, description = "Invalid request: `details` names every bad field (at most 20; `error` counts the rest), a key given twice, or a malformed `Idempotency-Key` (`invalid_request`); or no `Idempotency-Key` where one is required (`idempotency_key_required`)", body = ErrorBody),
        (status = 409, description = "The account already has a customer with this e-mail (`customer_exists`, stored with an idempotency key and replayed), or a request with this idempotency key is still in progress (`idempotency_key_in_use`, with `Retry-After`)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "With `idempotency_key_in_use`: seconds to wait"),
                ("Idempotent-Replayed" = String, description = "`true` on a replayed answer"))),
        (status = 422, description = "The KYC provider rejected the customer (`kyc_rejected`, stored with an idempotency key and replayed), or this idempotency key was used for a request with a different body (`idempotency_key_reused`)", body = ErrorBody,
            headers(("Idempotent-Replayed" = String, description = "`true` on a replayed answer"))),
        (status = 502, description = "The KYC provider is unavailable (an idempotency key is released: retry with it)", body = ErrorBody),
        (status = 504, description = "The KYC provider did not answer in time (an idempotency key is released: retry with it)", body = ErrorBody),
        BearerErrors, JsonBodyErrors,
    )
)]
#[tracing::instrument(name = "http.create_customer", skip_all, fields(account_id = %account.0))]
pub async fn create_customer(
    account: AuthenticatedAccount,
    key: IdempotencyKeyHeader,
    body: Json<Value>,
    req: HttpRequest,
    create: web::Data<dyn CreateCustomer>,
    read: web::Data<dyn ReadCustomers>,
    idempotency: web::Data<Idempotency>,
) -> Result<HttpResponse, ApiError> {
    let account = account.0;
    let body = body.into_inner();
    let request = KeyedRequest::new(key, &req, account, &body);
    let input = CreateCustomerBody::from_json(body)
        .and_then(CreateCustomerBody::try_into_domain)
        .map_err(|e| ApiError::validation(&e))?;
    idempotency::respond(
        &idempotency,
        request,
        &CREATE_CUSTOMER,
        |id| async move { Ok(read.get_customer(account, CustomerId(id)).await?) },
        |reservation| async move {
            Ok(match reservation {
                None => create.create_customer(account, input).await?,
                Some(reservation) => {
                    create
                        .create_customer_reserved(account, input, reservation)
                        .await?
                }
            })
        },
    )
    .await
}
