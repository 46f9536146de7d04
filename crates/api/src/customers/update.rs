//! `PUT /customer/{id}`: the wire body (any non-empty subset of the customer's own fields,
//! each with the create body's rules), its conversion to the domain, and the handler.

use actix_web::{web, HttpResponse};
use domain::{CustomerId, CustomerUpdate, FieldError, ValidationErrors};
use ports::UpdateCustomer;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::data::CustomerData;
use super::fields;
use crate::auth::AuthenticatedAccount;
use crate::conditional::{etag, IfMatch};
use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use crate::params::path_id;
use crate::responses::{AuthErrors, CustomerNotFound, JsonBodyErrors, Unexpected};
use crate::wire::{self, Field, Omittable};

// One declaration for parsing, the document and the list of known fields, as for the
// create body; each field's rules are the create body's (`fields`). A field left out keeps
// its value; `null` is refused (no field can be cleared).
/// The body of `PUT /customer/{id}`: at least one of the fields; unknown fields (including
/// `customer_type` and `send_kyc_mail`, which cannot change) are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateCustomerRequest, min_properties = 1,
    example = json!({"customer_email": "new.address@example.com", "customer_phone": "+14155552671"}))]
pub struct UpdateCustomerBody {
    /// Optional; the rules are [`fields::name_schema`]'s.
    #[serde(default)]
    #[schema(schema_with = fields::name_schema)]
    pub customer_name: Field<Omittable<String>>,
    /// Optional; the rules are [`fields::email_schema`]'s.
    #[serde(default)]
    #[schema(schema_with = fields::email_schema)]
    pub customer_email: Field<Omittable<String>>,
    /// Optional; the rules are [`fields::phone_schema`]'s.
    #[serde(default)]
    #[schema(schema_with = fields::phone_schema)]
    pub customer_phone: Field<Omittable<String>>,
    /// Optional; the rules are [`fields::country_schema`]'s.
    #[serde(default)]
    #[schema(schema_with = fields::country_schema)]
    pub customer_country: Field<Omittable<String>>,
    /// The keys sent that are none of the above, reported by `try_into_domain`.
    #[serde(skip)]
    unknown: Vec<String>,
}

impl UpdateCustomerBody {
    /// Reads a JSON body. Fails only when it is not an object; everything else wrong with
    /// it is reported, all at once, by [`Self::try_into_domain`].
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let (mut body, unknown) = wire::read_object::<Self>(body)?;
        body.unknown = unknown;
        Ok(body)
    }

    /// Checks types, unknown fields and every field rule, collecting all failures; a body
    /// that names no field at all is refused too.
    pub fn try_into_domain(self) -> Result<CustomerUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = self.customer_name.read(fields::NAME, &mut errors);
        let email = self.customer_email.read(fields::EMAIL, &mut errors);
        let phone = self.customer_phone.read(fields::PHONE, &mut errors);
        let country = self.customer_country.read(fields::COUNTRY, &mut errors);
        for unknown in self.unknown {
            errors.push(FieldError::new(
                unknown,
                wire::unknown_field_message::<Self>(),
            ));
        }
        let sent = [&name, &email, &phone, &country]
            .iter()
            .any(|field| !matches!(field, Some(Omittable(None))));
        if !sent && errors.is_empty() {
            errors.push(FieldError::new(
                "body",
                format!(
                    "must name at least one of: {}",
                    wire::serde_names::<Self>().join(", ")
                ),
            ));
        }

        let name = name.map(|Omittable(v)| v.and_then(|v| fields::name(v, &mut errors)));
        let email = email.map(|Omittable(v)| v.and_then(|v| fields::email(v, &mut errors)));
        let country = country.map(|Omittable(v)| v.and_then(|v| fields::country(v, &mut errors)));
        // A national number is read in the country sent with it; without one it must be
        // international, so that it never depends on a country the client cannot see.
        let region = country.flatten();
        let phone = phone.map(|Omittable(v)| v.and_then(|v| fields::phone(v, region, &mut errors)));

        match (name, email, phone, country) {
            (Some(name), Some(email), Some(phone), Some(country)) if errors.is_empty() => {
                Ok(CustomerUpdate {
                    name,
                    email,
                    phone,
                    country,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Changes some of a customer's details. With `If-Match`, only if the customer is still at
/// that version. A new e-mail address is accepted only while the KYC verification has not
/// started; it gets a new KYC link (and, with `send_kyc_mail`, a new mail in place of any
/// still queued).
#[utoipa::path(
    put,
    path = "/customer/{id}",
    tag = "customers",
    operation_id = "update_customer",
    params(
        ("id" = String, Path, description = "The customer id (a UUID)"),
        ("If-Match" = Option<String>, Header,
            description = "Change only if the customer is still at this version: the `ETag` of a `GET` (`\"3\"`), several (`\"3\", \"4\"`), or `*` (any). Weak tags never match. Without it the last write wins.",
            example = "\"1\""),
    ),
    request_body(content = UpdateCustomerBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer as changed (message `Customer updated successfully`), or as it is when nothing changed", body = Envelope<CustomerData>,
            headers(("ETag" = String, description = "The customer's version, quoted: send it back in `If-Match`"))),
        (status = 400, description = "Invalid request: `details` names every bad field (at most 20), a body naming no field, a key given twice, or a malformed `If-Match` (`invalid_request`)", body = ErrorBody),
        (status = 409, description = "Another customer of the account has this e-mail (`customer_exists`), or the e-mail cannot change because the customer's KYC has started (`email_locked`)", body = ErrorBody),
        (status = 412, description = "The customer is no longer at the version named in `If-Match` (`precondition_failed`): read it again", body = ErrorBody),
        (status = 422, description = "The KYC provider rejected the new e-mail address (`kyc_rejected`)", body = ErrorBody),
        (status = 502, description = "The KYC provider is unavailable (nothing was changed)", body = ErrorBody),
        (status = 503, description = "The database is unavailable, or the customer kept changing under the request (nothing was changed)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 504, description = "The KYC provider did not answer in time (nothing was changed)", body = ErrorBody),
        CustomerNotFound, AuthErrors, JsonBodyErrors, Unexpected,
    )
)]
#[tracing::instrument(name = "http.update_customer", skip_all, fields(account_id = %account.0))]
pub async fn update_customer(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<Value>,
    use_case: web::Data<dyn UpdateCustomer>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id)?;
    let update = UpdateCustomerBody::from_json(body.into_inner())
        .and_then(UpdateCustomerBody::try_into_domain)
        .map_err(|e| ApiError::validation(&e))?;
    let customer = use_case
        .update_customer(account.0, CustomerId(id), update, if_match.0)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(customer.version))
        .json(Envelope::success(
            200,
            "Customer updated successfully",
            CustomerData::from(customer),
        )))
}
