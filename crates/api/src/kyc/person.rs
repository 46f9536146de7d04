//! The wire shapes a person's data takes in `POST /customer/{id}/kyc`: addresses, identity
//! documents (with their images as data URIs), and the individual's body. Each is read
//! leniently (see [`crate::wire`]) into the domain's input, naming each bad field by its
//! path; the domain then checks its rules.

use base64::Engine as _;
use domain::submission::{
    AddressInput, FileInput, IdentityInput, IndividualInput, PersonInput, MAX_FILE_BYTES,
};
use domain::{FieldError, ValidationErrors};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::schemas;
use crate::wire::{self, Field};

type Text = Field<Option<String>>;
type Object = Field<Option<Map<String, Value>>>;
type List = Field<Option<Vec<Value>>>;

/// `path.field`.
pub(super) fn at(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// An optional text at `path`.
pub(super) fn text(field: Text, path: &str, errors: &mut ValidationErrors) -> Option<String> {
    field.read(path, errors).flatten()
}

/// The nested body `T` sent at `path`, when it is an object.
pub(super) fn nested<T: serde::de::DeserializeOwned>(
    field: Object,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<T> {
    let object = field.read(path, errors).flatten()?;
    wire::read_nested(object, path, errors)
}

/// Each item of the array at `path` read as the nested body `T` and turned into the
/// domain's input by `input`; an item that is not an object is reported and stands in as
/// an empty input, so the other items keep their index.
pub(super) fn nested_items<T: serde::de::DeserializeOwned, I: Default>(
    field: List,
    path: &str,
    errors: &mut ValidationErrors,
    input: impl Fn(T, &str, &mut ValidationErrors) -> I,
) -> Option<Vec<I>> {
    wire::items(field, path, errors, |value, path, errors| match value {
        Value::Object(object) => wire::read_nested::<T>(object, path, errors)
            .map(|body| input(body, path, errors))
            .unwrap_or_default(),
        _ => {
            errors.push(FieldError::new(path, "must be an object"));
            I::default()
        }
    })
}

/// Each item of the array at `path` as a string.
pub(super) fn strings(
    field: List,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<Vec<String>> {
    wire::items(field, path, errors, |value, path, errors| match value {
        Value::String(s) => s,
        _ => {
            errors.push(FieldError::new(path, "must be a string"));
            String::new()
        }
    })
}

/// Decodes a data URI (`data:image/jpeg;base64,…`). The size is checked on the encoded
/// length first, so an oversized file is refused before it is decoded.
pub(super) fn data_uri(raw: &str) -> Result<FileInput, String> {
    const FORM: &str = "must be a base64 data URI such as data:image/jpeg;base64,/9j/4AAQ...";
    let rest = raw.strip_prefix("data:").ok_or(FORM)?;
    let (media, data) = rest.split_once(',').ok_or(FORM)?;
    let media_type = media.strip_suffix(";base64").ok_or(FORM)?;
    if data.len() / 4 * 3 > MAX_FILE_BYTES + 3 {
        return Err(format!(
            "must be at most {MAX_FILE_BYTES} bytes (15 MB) once decoded"
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| "must be valid base64 (with padding) after the comma".to_owned())?;
    Ok(FileInput {
        media_type: media_type.to_owned(),
        bytes,
    })
}

/// An optional file at `path`.
pub(super) fn file(field: Text, path: &str, errors: &mut ValidationErrors) -> Option<FileInput> {
    let raw = text(field, path, errors)?;
    errors.collect(path, data_uri(&raw))
}

/// A postal address. `street_line_1`, `city` and `country` are required; `subdivision` in
/// the USA; `postal_code` where the country uses postal codes. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = KycAddress)]
pub struct AddressBody {
    /// Street and number, at least 4 characters; not a post-office box (`PO Box 12`,
    /// `P.O. Box`, `Postfach`, `Caixa Postal` … are refused) in a residential or physical
    /// address.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 4, max_length = 256, example = "1 Market Street")]
    pub street_line_1: Text,
    /// Apartment, suite, floor.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 256, example = "Suite 100")]
    pub street_line_2: Text,
    /// City or town.
    #[serde(default)]
    #[schema(value_type = String, required = true, max_length = 256, example = "San Francisco")]
    pub city: Text,
    /// ISO 3166-2 subdivision code without the country prefix (`CA` for `US-CA`); required
    /// for `USA`.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 3, example = "CA")]
    pub subdivision: Text,
    /// Postal code (a ZIP code in the USA); required except in countries without postal
    /// codes.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 16, example = "94105")]
    pub postal_code: Text,
    /// ISO 3166-1 alpha-3.
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z]{3}$", example = "USA")]
    pub country: Text,
}

impl AddressBody {
    /// The address sent at `path`, if it is an object.
    pub(super) fn read(
        field: Object,
        path: &str,
        errors: &mut ValidationErrors,
    ) -> Option<AddressInput> {
        let body: Self = nested(field, path, errors)?;
        Some(AddressInput {
            street_line_1: text(body.street_line_1, &at(path, "street_line_1"), errors),
            street_line_2: text(body.street_line_2, &at(path, "street_line_2"), errors),
            city: text(body.city, &at(path, "city"), errors),
            subdivision: text(body.subdivision, &at(path, "subdivision"), errors),
            postal_code: text(body.postal_code, &at(path, "postal_code"), errors),
            country: text(body.country, &at(path, "country"), errors),
        })
    }
}

/// An identity document or tax identification number. A USA resident needs an `ssn` or
/// `itin`; anyone else a tax identification number and a photo ID with `image_front`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = KycIdentifyingInformation)]
pub struct IdentityBody {
    /// The document type.
    #[serde(default, rename = "type")]
    #[schema(schema_with = schemas::id_type, required = true)]
    pub id_type: Text,
    /// ISO 3166-1 alpha-3 of the issuer (`USA` for an `ssn` or `itin`).
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z]{3}$", example = "USA")]
    pub issuing_country: Text,
    /// The number: required for tax identification numbers; nine digits for an `ssn` or
    /// `itin` (`123-45-6789` accepted). Sent to the provider, never stored (only its last
    /// four characters are, for numbers of 8 characters or more).
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 64, example = "123456789")]
    pub number: Text,
    /// What the document is; required for type `other`.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 256)]
    pub description: Text,
    /// Expiry date, `YYYY-MM-DD`, not in the past.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "2031-01-31")]
    pub expiration: Text,
    /// The front of the document; required for photo IDs.
    #[serde(default)]
    #[schema(schema_with = schemas::data_uri, required = false)]
    pub image_front: Text,
    /// The back of the document.
    #[serde(default)]
    #[schema(schema_with = schemas::data_uri, required = false)]
    pub image_back: Text,
}

impl IdentityBody {
    /// The document's input, its fields named under `path`.
    pub(super) fn input(self, path: &str, errors: &mut ValidationErrors) -> IdentityInput {
        IdentityInput {
            id_type: text(self.id_type, &at(path, "type"), errors),
            issuing_country: text(self.issuing_country, &at(path, "issuing_country"), errors),
            number: text(self.number, &at(path, "number"), errors),
            description: text(self.description, &at(path, "description"), errors),
            expiration: text(self.expiration, &at(path, "expiration"), errors),
            image_front: file(self.image_front, &at(path, "image_front"), errors),
            image_back: file(self.image_back, &at(path, "image_back"), errors),
        }
    }
}

/// The personal fields an individual and an associated person share, as sent.
pub(super) struct PersonFields {
    pub first_name: Text,
    pub middle_name: Text,
    pub last_name: Text,
    pub birth_date: Text,
    pub nationality: Text,
    pub email: Text,
    pub phone: Text,
    pub residential_address: Object,
    pub identifying_information: List,
}

impl PersonFields {
    /// The person's input, its fields named under `path` (empty at the top level).
    pub(super) fn input(self, path: &str, errors: &mut ValidationErrors) -> PersonInput {
        let documents = at(path, "identifying_information");
        PersonInput {
            first_name: text(self.first_name, &at(path, "first_name"), errors),
            middle_name: text(self.middle_name, &at(path, "middle_name"), errors),
            last_name: text(self.last_name, &at(path, "last_name"), errors),
            birth_date: text(self.birth_date, &at(path, "birth_date"), errors),
            nationality: text(self.nationality, &at(path, "nationality"), errors),
            email: text(self.email, &at(path, "email"), errors),
            phone: text(self.phone, &at(path, "phone"), errors),
            residential_address: AddressBody::read(
                self.residential_address,
                &at(path, "residential_address"),
                errors,
            ),
            identifying_information: nested_items(
                self.identifying_information,
                &documents,
                errors,
                IdentityBody::input,
            ),
        }
    }
}

/// `individual`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndividualKind {
    /// A person.
    Individual,
}

/// The body of `POST /customer/{id}/kyc` for an individual customer. Unknown fields are
/// refused; every bad field is named at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IndividualKycRequest, example = json!(super::examples::individual_example()))]
pub struct IndividualBody {
    /// `individual` (the default).
    #[serde(default)]
    #[schema(value_type = Option<IndividualKind>)]
    pub customer_type: Field<Option<Value>>,
    /// Given name, 2–1024 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 2, max_length = 1024, example = "Ada")]
    pub first_name: Text,
    /// Middle name, 1–1024 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 1024)]
    pub middle_name: Text,
    /// Family name, 2–1024 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 2, max_length = 1024, example = "Lovelace")]
    pub last_name: Text,
    /// `YYYY-MM-DD`: at least 18 years ago, not in the future. Sent to the provider, never
    /// stored.
    #[serde(default)]
    #[schema(value_type = String, required = true, format = Date, example = "1990-05-17")]
    pub birth_date: Text,
    /// ISO 3166-1 alpha-3.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z]{3}$", example = "USA")]
    pub nationality: Text,
    /// Contact e-mail (default: the customer's).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub email: Text,
    /// Contact phone (default: the customer's); national format of the country of residence
    /// accepted.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 40)]
    pub phone: Text,
    /// Where the person lives (not a post-office box).
    #[serde(default)]
    #[schema(value_type = AddressBody, required = true)]
    pub residential_address: Object,
    /// 1–10 identity documents and tax identification numbers.
    #[serde(default)]
    #[schema(value_type = Vec<IdentityBody>, required = true, min_items = 1, max_items = 10)]
    pub identifying_information: List,
    /// The terms-of-service acceptance (from `POST /customer/{id}/tos-link`); required here
    /// unless one is stored for the customer.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9._:-]{1,256}$")]
    pub signed_agreement_id: Text,
    /// Why the account is opened.
    #[serde(default)]
    #[schema(schema_with = schemas::account_purpose, required = false)]
    pub account_purpose: Text,
    /// What `other` means; required when `account_purpose` is `other`.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 1024)]
    pub account_purpose_other: Text,
    /// Where the money comes from.
    #[serde(default)]
    #[schema(schema_with = schemas::source_of_funds, required = false)]
    pub source_of_funds: Text,
    /// Employment.
    #[serde(default)]
    #[schema(schema_with = schemas::employment_status, required = false)]
    pub employment_status: Text,
    /// An occupation code (digits, e.g. `132011`).
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{2,10}$", example = "132011")]
    pub most_recent_occupation: Text,
    /// Expected monthly volume in US dollars.
    #[serde(default)]
    #[schema(schema_with = schemas::expected_monthly_payments, required = false)]
    pub expected_monthly_payments_usd: Text,
}

impl IndividualBody {
    /// The individual's input.
    pub(super) fn input(self, errors: &mut ValidationErrors) -> IndividualInput {
        let person = PersonFields {
            first_name: self.first_name,
            middle_name: self.middle_name,
            last_name: self.last_name,
            birth_date: self.birth_date,
            nationality: self.nationality,
            email: self.email,
            phone: self.phone,
            residential_address: self.residential_address,
            identifying_information: self.identifying_information,
        };
        IndividualInput {
            person: person.input("", errors),
            signed_agreement_id: text(self.signed_agreement_id, "signed_agreement_id", errors),
            account_purpose: text(self.account_purpose, "account_purpose", errors),
            account_purpose_other: text(
                self.account_purpose_other,
                "account_purpose_other",
                errors,
            ),
            source_of_funds: text(self.source_of_funds, "source_of_funds", errors),
            employment_status: text(self.employment_status, "employment_status", errors),
            most_recent_occupation: text(
                self.most_recent_occupation,
                "most_recent_occupation",
                errors,
            ),
            expected_monthly_payments_usd: text(
                self.expected_monthly_payments_usd,
                "expected_monthly_payments_usd",
                errors,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_are_decoded_and_malformed_ones_named() {
        let file = data_uri("data:image/png;base64,iVBORw0KGgo=").unwrap();
        assert_eq!(file.media_type, "image/png");
        assert_eq!(file.bytes, b"\x89PNG\r\n\x1a\n");
        for bad in [
            "image/png;base64,iVBORw0KGgo=",
            "data:image/png,iVBORw0KGgo=",
            "data:image/png;base64",
            "data:image/png;base64,!!!",
        ] {
            assert!(data_uri(bad).is_err(), "{bad}");
        }
        let huge = format!(
            "data:image/png;base64,{}",
            "A".repeat(MAX_FILE_BYTES / 3 * 4 + 8)
        );
        assert!(data_uri(&huge).err().unwrap().contains("15 MB"));
    }
}
