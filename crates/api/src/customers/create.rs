//! `POST /customer`: the wire body, its conversion to the domain and the handler.

use actix_web::{web, HttpResponse};
use domain::{
    CountryCode, CustomerEmail, CustomerName, FieldError, NewCustomer, PhoneNumber,
    ValidationErrors,
};
use ports::CreateCustomer;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::data::{CustomerData, CustomerKind};
use crate::auth::AuthenticatedAccount;
use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};
use crate::examples::seed_request_example;
use crate::extract::Json;
use crate::wire::{self, Field, FromJson};

// Parsing, the OpenAPI schema and the list of known fields all come from this one
// declaration. Each field is a lenient `Field` so that `try_into_domain` can name every
// bad field at once; `value_type` and `required` give the document the type and presence
// that `Field::read` enforces (a test checks the required list against the handler).
// The doc comment below is the schema's description.
/// The body of `POST /customer`. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateCustomerRequest, example = json!(seed_request_example()))]
pub struct CreateCustomerBody {
    /// Full name (or a business's legal name); trimmed; 1–255 characters, no control characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 255, example = "Emmanuel A Towoju")]
    pub customer_name: Field<String>,
    /// E-mail address, at most 254 characters; unique per account, case-insensitively.
    #[serde(default)]
    #[schema(value_type = String, required = true, format = Email, max_length = 254, example = "tbash7676@gmail.com")]
    pub customer_email: Field<String>,
    /// Phone number in any common formatting (`+1 (415) 555-2671`), or national format for
    /// `customer_country`; must be a real number; returned in E.164.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 3, max_length = 40, example = "+2349039395114")]
    pub customer_phone: Field<String>,
    /// ISO 3166-1 alpha-3 (`USA`) or alpha-2 (`US`); returned as alpha-3.
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z]{2,3}$", example = "USA")]
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
        let name = self.customer_name.read("customer_name", &mut errors);
        let email = self.customer_email.read("customer_email", &mut errors);
        let phone = self.customer_phone.read("customer_phone", &mut errors);
        let country = self.customer_country.read("customer_country", &mut errors);
        let customer_type = self.customer_type.read("customer_type", &mut errors);
        let send_kyc_mail = self.send_kyc_mail.read("send_kyc_mail", &mut errors);
        for unknown in self.unknown {
            errors.push(FieldError::new(
                unknown,
                wire::unknown_field_message::<Self>(),
            ));
        }

        let name = name.and_then(|v| errors.collect("customer_name", CustomerName::parse(&v)));
        let email = email.and_then(|v| errors.collect("customer_email", CustomerEmail::parse(&v)));
        let country =
            country.and_then(|v| errors.collect("customer_country", CountryCode::parse(&v)));
        let phone =
            phone.and_then(|v| errors.collect("customer_phone", PhoneNumber::parse(&v, country)));

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

/// Registers a customer for the authenticated account: obtains a hosted KYC link from the
/// KYC provider, stores the customer and (unless `send_kyc_mail` is false) e-mails the links.
#[utoipa::path(
    post,
    path = "/customer",
    tag = "customers",
    operation_id = "create_customer",
    request_body(content = CreateCustomerBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Customer created", body = Envelope<CustomerData>),
        (status = 400, description = "Invalid request: `details` names every bad field (at most 20; `error` counts the rest), or a key given twice", body = ErrorBody),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 431, description = "Authorization header over 16 KiB, or request headers over 32 KiB in all", body = ErrorBody),
        (status = 409, description = "The account already has a customer with this e-mail", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json, or names a charset other than UTF-8", body = ErrorBody),
        (status = 422, description = "The KYC provider rejected the customer", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 502, description = "The KYC provider is unavailable", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 504, description = "The KYC provider did not answer in time", body = ErrorBody),
    )
)]
#[tracing::instrument(name = "http.create_customer", skip_all, fields(account_id = %account.0))]
pub async fn create_customer(
    account: AuthenticatedAccount,
    body: Json<Value>,
    use_case: web::Data<dyn CreateCustomer>,
) -> Result<HttpResponse, ApiError> {
    let input = CreateCustomerBody::from_json(body.into_inner())
        .and_then(CreateCustomerBody::try_into_domain)
        .map_err(|e| ApiError::validation(&e))?;
    let customer = use_case.create_customer(account.0, input).await?;
    Ok(HttpResponse::Created().json(Envelope::success(
        201,
        "Customer created successfully",
        CustomerData::from(customer),
    )))
}
