//! The customer's own fields — name, e-mail, phone, country — declared once for every body
//! that carries them (`POST /customer` requires them, `PUT /customer/{id}` changes any of
//! them): what the document says of each (`schema_with` functions), and how each is read
//! into the domain, so the two bodies cannot drift apart.

use domain::{CountryCode, CustomerEmail, CustomerName, PhoneNumber, ValidationErrors};
use serde_json::json;
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};

/// The wire names.
pub const NAME: &str = "customer_name";
/// The wire names.
pub const EMAIL: &str = "customer_email";
/// The wire names.
pub const PHONE: &str = "customer_phone";
/// The wire names.
pub const COUNTRY: &str = "customer_country";

fn text(description: &str, example: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .examples([json!(example)])
}

/// `customer_name` in the document.
pub fn name_schema() -> Object {
    text(
        "Full name (or a business's legal name); trimmed; 1–255 characters, no control characters.",
        "Emmanuel A Towoju",
    )
    .min_length(Some(1))
    .max_length(Some(255))
    .build()
}

/// `customer_email` in the document.
pub fn email_schema() -> Object {
    text(
        "E-mail address, at most 254 characters; unique per account, case-insensitively.",
        "tbash7676@gmail.com",
    )
    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
    .max_length(Some(254))
    .build()
}

/// `customer_phone` in the document.
pub fn phone_schema() -> Object {
    text(
        "Phone number in any common formatting (`+1 (415) 555-2671`), or national format for \
         the `customer_country` sent with it; must be a real number; returned in E.164.",
        "+2349039395114",
    )
    .min_length(Some(3))
    .max_length(Some(40))
    .build()
}

/// `customer_country` in the document.
pub fn country_schema() -> Object {
    text(
        "ISO 3166-1 alpha-3 (`USA`) or alpha-2 (`US`); returned as alpha-3.",
        "USA",
    )
    .pattern(Some("^[A-Za-z]{2,3}$"))
    .build()
}

/// Reads a name, recording why it is not one.
pub fn name(raw: String, errors: &mut ValidationErrors) -> Option<CustomerName> {
    errors.collect(NAME, CustomerName::parse(&raw))
}

/// Reads an e-mail address, recording why it is not one.
pub fn email(raw: String, errors: &mut ValidationErrors) -> Option<CustomerEmail> {
    errors.collect(EMAIL, CustomerEmail::parse(&raw))
}

/// Reads a country, recording why it is not one.
pub fn country(raw: String, errors: &mut ValidationErrors) -> Option<CountryCode> {
    errors.collect(COUNTRY, CountryCode::parse(&raw))
}

/// Reads a phone number — in international form, or in the national form of `country`
/// (the one sent with it) — recording why it is not one.
pub fn phone(
    raw: String,
    country: Option<CountryCode>,
    errors: &mut ValidationErrors,
) -> Option<PhoneNumber> {
    errors.collect(PHONE, PhoneNumber::parse(&raw, country))
}
