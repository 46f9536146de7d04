//! OpenAPI schemas of the submission's closed vocabularies, generated from the domain's
//! own lists so that the document and the rules cannot drift apart.

use domain::submission::{
    AccountPurpose, BusinessAccountPurpose, BusinessSourceOfFunds, BusinessType, DocumentPurpose,
    EmploymentStatus, ExpectedMonthlyPayments, IdType, SourceOfFunds, MAX_FILE_BYTES,
};
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};

fn choice(values: impl IntoIterator<Item = &'static str>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// `account_purpose` of an individual.
pub fn account_purpose() -> Object {
    choice(
        AccountPurpose::ALL.iter().map(|v| v.as_str()),
        "Why the account is opened",
    )
}

/// `account_purpose` of a business.
pub fn business_account_purpose() -> Object {
    choice(
        BusinessAccountPurpose::ALL.iter().map(|v| v.as_str()),
        "Why the account is opened",
    )
}

/// `source_of_funds` of an individual.
pub fn source_of_funds() -> Object {
    choice(
        SourceOfFunds::ALL.iter().map(|v| v.as_str()),
        "Where the money comes from",
    )
}

/// `source_of_funds` of a business.
pub fn business_source_of_funds() -> Object {
    choice(
        BusinessSourceOfFunds::ALL.iter().map(|v| v.as_str()),
        "Where the money comes from",
    )
}

/// `employment_status`.
pub fn employment_status() -> Object {
    choice(
        EmploymentStatus::ALL.iter().map(|v| v.as_str()),
        "Employment",
    )
}

/// `expected_monthly_payments_usd`.
pub fn expected_monthly_payments() -> Object {
    choice(
        ExpectedMonthlyPayments::ALL.iter().map(|v| v.as_str()),
        "Expected monthly volume in US dollars",
    )
}

/// `business_type`.
pub fn business_type() -> Object {
    choice(BusinessType::ALL.iter().map(|v| v.as_str()), "Legal form")
}

/// An identity document's `type`.
pub fn id_type() -> Object {
    choice(
        IdType::all().map(|t| t.as_str()),
        "A photo ID (drivers_license, matriculate_id, military_id, national_id, passport, \
         permanent_residency_id, state_or_provincial_id, visa: image_front required) or a tax \
         identification number (number required; tax_id is a generic one)",
    )
}

/// A document's `purposes`.
pub fn document_purposes() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(choice(
            DocumentPurpose::ALL.iter().map(|v| v.as_str()),
            "What the document proves",
        ))
        .min_items(Some(1))
        .max_items(Some(5))
}

/// A file as a base64 data URI.
pub fn data_uri() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(
            "^data:(image/jpeg|image/jpg|image/png|application/pdf);base64,",
        ))
        .description(Some(format!(
            "A base64 data URI of a JPEG, PNG or PDF file (its content must be what the media \
             type says), at most {MAX_FILE_BYTES} bytes (15 MB) once decoded; a submission's \
             files together at most 24 MB"
        )))
        .build()
}
