//! Sample KYC submissions: a valid individual (a USA resident with an SSN and a passport
//! photo) and a valid business, as JSON bodies and as a checked domain value. The number,
//! birth date and image carry recognisable values, so that a test can search a log or a
//! database dump for them.

use base64::Engine as _;
use chrono::NaiveDate;
use domain::submission::{
    AddressInput, FileInput, IdentityInput, IndividualInput, PersonInput, SubmissionInput,
};
use domain::{KycSubmission, ValidationErrors};
use serde_json::{json, Value};

/// The SSN of the sample individual.
pub const SUBMITTED_SSN: &str = "123456789";
/// The passport number of the sample individual.
pub const SUBMITTED_PASSPORT_NUMBER: &str = "X98765432";
/// The birth date of the sample individual.
pub const SUBMITTED_BIRTH_DATE: &str = "1990-05-17";
/// Text inside the sample passport image, after the JPEG signature.
pub const IMAGE_MARKER: &str = "KYC-IMAGE-BYTES-7f3a9c";

fn jpeg() -> Vec<u8> {
    let mut bytes = b"\xFF\xD8\xFF\xE0".to_vec();
    bytes.extend_from_slice(IMAGE_MARKER.as_bytes());
    bytes.extend_from_slice(&[0u8; 64]);
    bytes
}

fn data_uri(media_type: &str, bytes: &[u8]) -> String {
    format!(
        "data:{media_type};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The sample individual as the body of `POST /customer/{id}/kyc`.
pub fn individual_submission_body() -> Value {
    json!({
        "customer_type": "individual",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "birth_date": SUBMITTED_BIRTH_DATE,
        "nationality": "USA",
        "residential_address": {
            "street_line_1": "1 Market Street",
            "street_line_2": "Suite 100",
            "city": "San Francisco",
            "subdivision": "CA",
            "postal_code": "94105",
            "country": "USA"
        },
        "identifying_information": [
            {"type": "ssn", "issuing_country": "USA", "number": SUBMITTED_SSN},
            {
                "type": "passport",
                "issuing_country": "USA",
                "number": SUBMITTED_PASSPORT_NUMBER,
                "expiration": "2031-01-31",
                "image_front": data_uri("image/jpeg", &jpeg())
            }
        ],
        "signed_agreement_id": "4d5d8c45-9feb-422a-bb5e-0fd32e3b3c53",
        "account_purpose": "receive_salary",
        "source_of_funds": "salary",
        "employment_status": "employed",
        "most_recent_occupation": "132011",
        "expected_monthly_payments_usd": "0_4999"
    })
}

/// A valid business as the body of `POST /customer/{id}/kyc`.
pub fn business_submission_body() -> Value {
    let address = json!({
        "street_line_1": "500 Howard Street",
        "city": "San Francisco",
        "subdivision": "CA",
        "postal_code": "94105",
        "country": "USA"
    });
    let mut person = individual_submission_body();
    let person = person
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut owner = serde_json::Map::new();
    for key in [
        "first_name",
        "last_name",
        "birth_date",
        "nationality",
        "residential_address",
        "identifying_information",
    ] {
        if let Some(value) = person.get(key) {
            owner.insert(key.to_owned(), value.clone());
        }
    }
    owner.insert("email".into(), "ada@acme.example".into());
    owner.insert("ownership_percentage".into(), 60.into());
    owner.insert("has_ownership".into(), true.into());
    owner.insert("has_control".into(), true.into());
    owner.insert("is_signer".into(), true.into());
    owner.insert("title".into(), "CEO".into());
    let pdf = data_uri("application/pdf", b"%PDF-1.7 sample formation document");
    json!({
        "customer_type": "business",
        "business_legal_name": "Acme Fintech Inc.",
        "business_trade_name": "Acme",
        "business_description": "Payments software for small merchants",
        "business_type": "corporation",
        "business_industry": ["541511"],
        "registered_address": address,
        "physical_address": address,
        "associated_persons": [owner],
        "is_dao": false,
        "has_material_intermediary_ownership": false,
        "identifying_information": [
            {"type": "ein", "issuing_country": "USA", "number": "12-3456789"}
        ],
        "documents": [
            {"purposes": ["business_formation"], "file": pdf},
            {"purposes": ["ownership_information"], "file": pdf}
        ],
        "account_purpose": "treasury_management",
        "source_of_funds": "sales_of_goods_and_services",
        "signed_agreement_id": "4d5d8c45-9feb-422a-bb5e-0fd32e3b3c53"
    })
}

/// The sample individual as a checked submission.
pub fn individual_submission() -> KycSubmission {
    checked_individual(individual_input())
}

/// An individual's input, checked as of 2026-11-26; panics when it is invalid.
pub fn checked_individual(input: IndividualInput) -> KycSubmission {
    KycSubmission::validate(
        SubmissionInput::Individual(input),
        NaiveDate::from_ymd_opt(2026, 11, 26).expect("a valid day"),
        ValidationErrors::new(),
    )
    .expect("the sample submission is valid")
}

/// The sample individual as domain input, to change before checking.
pub fn individual_input() -> IndividualInput {
    let s = |v: &str| Some(v.to_owned());
    IndividualInput {
        person: PersonInput {
            first_name: s("Ada"),
            last_name: s("Lovelace"),
            birth_date: s(SUBMITTED_BIRTH_DATE),
            nationality: s("USA"),
            residential_address: Some(AddressInput {
                street_line_1: s("1 Market Street"),
                street_line_2: s("Suite 100"),
                city: s("San Francisco"),
                subdivision: s("CA"),
                postal_code: s("94105"),
                country: s("USA"),
            }),
            identifying_information: Some(vec![
                IdentityInput {
                    id_type: s("ssn"),
                    issuing_country: s("USA"),
                    number: s(SUBMITTED_SSN),
                    ..IdentityInput::default()
                },
                IdentityInput {
                    id_type: s("passport"),
                    issuing_country: s("USA"),
                    number: s(SUBMITTED_PASSPORT_NUMBER),
                    expiration: s("2031-01-31"),
                    image_front: Some(FileInput {
                        media_type: "image/jpeg".into(),
                        bytes: jpeg(),
                    }),
                    ..IdentityInput::default()
                },
            ]),
            ..PersonInput::default()
        },
        signed_agreement_id: s("4d5d8c45-9feb-422a-bb5e-0fd32e3b3c53"),
        account_purpose: s("receive_salary"),
        ..IndividualInput::default()
    }
}
