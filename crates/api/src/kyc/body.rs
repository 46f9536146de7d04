//! The body of `POST /customer/{id}/kyc`: an individual's or a business's, told apart by
//! `customer_type`, read into the domain's submission with every bad field named.

use chrono::NaiveDate;
use domain::submission::SubmissionInput;
use domain::{FieldError, KycSubmission, ValidationErrors};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::business::BusinessBody;
use super::person::IndividualBody;
use crate::wire;

/// The body of `POST /customer/{id}/kyc`: `customer_type` (`individual`, the default, or
/// `business`) says which of the two shapes it has.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = KycSubmissionRequest)]
pub enum KycSubmissionBody {
    /// An individual's data.
    Individual(IndividualBody),
    /// A business's data.
    Business(BusinessBody),
}

/// Reads a JSON body into a checked submission; `today` is the day age and expiry rules are
/// checked against.
pub fn parse_submission(body: Value, today: NaiveDate) -> Result<KycSubmission, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let business = match body.get("customer_type") {
        None | Some(Value::Null) => false,
        Some(Value::String(kind)) if kind == "individual" => false,
        Some(Value::String(kind)) if kind == "business" => true,
        Some(_) => {
            // Read as an individual's, so that the other fields are still checked.
            errors.push(FieldError::new(
                "customer_type",
                "must be \"individual\" or \"business\"",
            ));
            false
        }
    };
    let input = if business {
        let (body, unknown) = wire::read_object::<BusinessBody>(body)?;
        report_unknown::<BusinessBody>(unknown, &mut errors);
        SubmissionInput::Business(body.input(&mut errors))
    } else {
        let (body, unknown) = wire::read_object::<IndividualBody>(body)?;
        report_unknown::<IndividualBody>(unknown, &mut errors);
        SubmissionInput::Individual(body.input(&mut errors))
    };
    KycSubmission::validate(input, today, errors)
}

fn report_unknown<T: serde::de::DeserializeOwned>(
    unknown: Vec<String>,
    errors: &mut ValidationErrors,
) {
    for key in unknown {
        errors.push(FieldError::new(key, wire::unknown_field_message::<T>()));
    }
}
