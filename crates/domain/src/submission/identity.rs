//! Identity documents and tax identification numbers (`identifying_information[]`): their
//! types, numbers and images, and the rules on the list as a whole.
//!
//! The types are Bridge's (API reference, `IdentifyingInformation.type`), plus `tax_id`, a
//! generic tax identification number. Numbers are sent to the provider and never kept:
//! only their last four characters are ([`IdentityNumber::last_four`]), and their `Debug`
//! shows nothing.

use std::fmt;

use chrono::NaiveDate;

use super::check::{text, At, Checker};
use super::files::{FileInput, SubmittedFile, MAX_TOTAL_FILE_BYTES};
use super::id_types::IdType;
use crate::CountryCode;

/// An identity or tax number as given (trimmed; an SSN or ITIN without hyphens). Its
/// `Debug` and `Display` are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityNumber(String);

impl IdentityNumber {
    /// Checks a number for a document of type `id_type`: an SSN or ITIN is nine digits
    /// (`123-45-6789` is accepted), an ITIN starts with 9; anything else is 1–64 letters,
    /// digits, spaces and `.-/`.
    pub fn parse(raw: &str, id_type: IdType) -> Result<Self, String> {
        let trimmed = raw.trim();
        if id_type.is_us_taxpayer_id() {
            let digits: String = trimmed.chars().filter(|c| *c != '-').collect();
            let well_formed = digits.len() == 9
                && digits.chars().all(|c| c.is_ascii_digit())
                && (trimmed.len() == 9 || is_hyphenated_ssn(trimmed));
            if !well_formed {
                return Err(format!(
                    "must be nine digits for an {} (123456789 or 123-45-6789)",
                    id_type.as_str()
                ));
            }
            if id_type.as_str() == "itin" && !digits.starts_with('9') {
                return Err("must start with 9 for an itin".into());
            }
            return Ok(Self(digits));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '-' | '/');
        if trimmed.is_empty()
            || trimmed.chars().count() > 64
            || !trimmed.chars().all(allowed)
            || !trimmed.chars().any(|c| c.is_ascii_alphanumeric())
        {
            return Err("must be 1–64 letters, digits, spaces, dots, hyphens or slashes".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The number, for the provider only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters, which is all that is kept, and only of a number long
    /// enough (8 characters or more) that they do not give most of it away.
    pub fn last_four(&self) -> Option<String> {
        let chars: Vec<char> = self.0.chars().collect();
        (chars.len() >= 8).then(|| chars[chars.len() - 4..].iter().collect())
    }
}

fn is_hyphenated_ssn(s: &str) -> bool {
    s.len() == 11 && s.as_bytes()[3] == b'-' && s.as_bytes()[6] == b'-'
}

impl fmt::Debug for IdentityNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityNumber(<redacted>)")
    }
}

/// One item of `identifying_information` as the client sent it.
#[derive(Default)]
pub struct IdentityInput {
    /// The document type.
    pub id_type: Option<String>,
    /// ISO 3166-1 alpha-3 of the issuer.
    pub issuing_country: Option<String>,
    /// The number.
    pub number: Option<String>,
    /// What it is, for type `other`.
    pub description: Option<String>,
    /// `YYYY-MM-DD`.
    pub expiration: Option<String>,
    /// The front image.
    pub image_front: Option<FileInput>,
    /// The back image.
    pub image_back: Option<FileInput>,
}

/// A checked identity document or tax identification number.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityDocument {
    /// The type.
    pub id_type: IdType,
    /// Who issued it.
    pub issuing_country: CountryCode,
    /// The number (required for tax IDs).
    pub number: Option<IdentityNumber>,
    /// What it is (required for `other`).
    pub description: Option<String>,
    /// When it expires; not in the past.
    pub expiration: Option<NaiveDate>,
    /// The front image (required for photo IDs).
    pub image_front: Option<SubmittedFile>,
    /// The back image.
    pub image_back: Option<SubmittedFile>,
}

/// Most items in one `identifying_information` list.
pub const MAX_IDENTITY_DOCUMENTS: usize = 10;

/// Reads `YYYY-MM-DD`.
pub(crate) fn date(raw: &str) -> Result<NaiveDate, String> {
    let raw = raw.trim();
    let shaped = raw.len() == 10
        && raw.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| "must be a date in the form YYYY-MM-DD".into())
}

/// Checks one item at `at`.
fn identity_document(
    check: &mut Checker<'_>,
    at: &At,
    input: IdentityInput,
    today: NaiveDate,
) -> Option<IdentityDocument> {
    let type_at = at.field("type");
    let id_type = check.parse(&type_at, input.id_type, IdType::parse);
    let issuing_country = check.parse(
        &at.field("issuing_country"),
        input.issuing_country,
        CountryCode::parse_alpha3,
    );
    if let (Some(id_type), Some(country)) = (id_type, issuing_country) {
        if id_type.is_us_taxpayer_id() && country.alpha3() != "USA" {
            check.report(
                &at.field("issuing_country"),
                format!("must be USA for an {}", id_type.as_str()),
            );
        }
    }
    let number_at = at.field("number");
    let number = match (id_type, input.number) {
        (Some(t), None) if t.is_tax_id() => {
            check.report(&number_at, format!("is required for a {}", t.as_str()));
            None
        }
        (Some(t), raw) => check.parse_optional(&number_at, raw, |s| IdentityNumber::parse(s, t)),
        (None, _) => None,
    };
    let description_at = at.field("description");
    let description = match (id_type, input.description) {
        (Some(t), None) if t.as_str() == "other" => {
            check.report(&description_at, "is required for type other");
            None
        }
        (_, raw) => check.parse_optional(&description_at, raw, |s| text(s, 1, 256)),
    };
    let expiration_at = at.field("expiration");
    let expiration = check.parse_optional(&expiration_at, input.expiration, date);
    let expiration = match expiration {
        Some(Some(day)) if day < today => {
            check.report(
                &expiration_at,
                "must not be in the past: the document has expired",
            );
            None
        }
        other => other,
    };
    let front_at = at.field("image_front");
    let image_front = match (id_type, input.image_front) {
        (Some(t), None) if t.is_photo_id() => {
            check.report(&front_at, format!("is required for a {}", t.as_str()));
            None
        }
        (_, file) => file_field(check, &front_at, file),
    };
    let back_at = at.field("image_back");
    let image_back = match (&image_front, file_field(check, &back_at, input.image_back)) {
        (Some(Some(front)), Some(Some(back)))
            if front.len() + back.len() > MAX_TOTAL_FILE_BYTES =>
        {
            check.report(
                &back_at,
                format!(
                    "image_front and image_back together must be at most \
                     {MAX_TOTAL_FILE_BYTES} bytes (24 MB) once decoded"
                ),
            );
            None
        }
        (_, back) => back,
    };
    Some(IdentityDocument {
        id_type: id_type?,
        issuing_country: issuing_country?,
        number: number?,
        description: description?,
        expiration: expiration?,
        image_front: image_front?,
        image_back: image_back?,
    })
}

/// An optional file: `Some(None)` when absent, `None` when invalid.
pub(crate) fn file_field(
    check: &mut Checker<'_>,
    at: &At,
    file: Option<FileInput>,
) -> Option<Option<SubmittedFile>> {
    match file {
        None if check.failed(at) => None,
        None => Some(None),
        Some(file) => check.check(at, SubmittedFile::parse(file)).map(Some),
    }
}

/// Checks the list at `at`: each item, then what the list as a whole must hold for someone
/// resident in `residence` (when known): a USA resident an `ssn` or `itin`; anyone else a
/// tax identification number and a photo ID with its front image.
pub(crate) fn person_documents(
    check: &mut Checker<'_>,
    at: &At,
    input: Option<Vec<IdentityInput>>,
    residence: Option<CountryCode>,
    today: NaiveDate,
) -> Option<Vec<IdentityDocument>> {
    let documents = check.list(at, input, (1, MAX_IDENTITY_DOCUMENTS), |check, at, item| {
        identity_document(check, at, item, today)
    })?;
    let residence = residence?;
    if residence.alpha3() == "USA" {
        if !documents.iter().any(|d| d.id_type.is_us_taxpayer_id()) {
            check.report(at, "a USA resident needs an ssn or itin");
            return None;
        }
    } else {
        let tax = documents
            .iter()
            .any(|d| d.number.is_some() && d.id_type.identifies_for_tax(residence));
        let photo = documents
            .iter()
            .any(|d| d.id_type.is_photo_id() && d.image_front.is_some());
        if !tax || !photo {
            check.report(
                at,
                "a resident outside the USA needs a tax identification number (a tax ID, \
                 or a passport or national_id with its number) and a photo ID with its \
                 image_front",
            );
            return None;
        }
    }
    Some(documents)
}

/// Checks a business's list at `at`: each item, and at least one tax identification number
/// issued by the country of registration (when known).
pub(crate) fn business_documents(
    check: &mut Checker<'_>,
    at: &At,
    input: Option<Vec<IdentityInput>>,
    registration: Option<CountryCode>,
    today: NaiveDate,
) -> Option<Vec<IdentityDocument>> {
    let documents = check.list(at, input, (1, MAX_IDENTITY_DOCUMENTS), |check, at, item| {
        identity_document(check, at, item, today)
    })?;
    let registration = registration?;
    if !documents
        .iter()
        .any(|d| d.id_type.is_tax_id() && d.issuing_country == registration)
    {
        check.report(
            at,
            format!(
                "a business needs a tax identification number issued by its country of \
                 registration ({})",
                registration.alpha3()
            ),
        );
        return None;
    }
    Some(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn_and_itin_are_nine_digits_and_kept_without_hyphens() {
        let ssn = IdType::parse("ssn").unwrap();
        assert_eq!(
            IdentityNumber::parse("123-45-6789", ssn).unwrap().expose(),
            "123456789"
        );
        assert_eq!(
            IdentityNumber::parse("000000000", ssn).unwrap().expose(),
            "000000000"
        );
        for bad in [
            "12345678",
            "1234567890",
            "12-345-6789",
            "12345678a",
            "123 45 6789",
        ] {
            assert!(IdentityNumber::parse(bad, ssn).is_err(), "{bad}");
        }
        let itin = IdType::parse("itin").unwrap();
        assert!(IdentityNumber::parse("912345678", itin).is_ok());
        assert!(IdentityNumber::parse("812345678", itin).is_err());
    }

    #[test]
    fn only_the_last_four_characters_of_a_long_number_are_kept() {
        let ssn = IdType::parse("ssn").unwrap();
        let number = IdentityNumber::parse("123456789", ssn).unwrap();
        assert_eq!(number.last_four().as_deref(), Some("6789"));
        assert_eq!(format!("{number:?}"), "IdentityNumber(<redacted>)");
        let short = IdentityNumber::parse("AB123", IdType::parse("tin").unwrap()).unwrap();
        assert_eq!(short.last_four(), None);
    }

    #[test]
    fn types_are_photo_ids_or_tax_ids() {
        let passport = IdType::parse("passport").unwrap();
        assert!(passport.is_photo_id() && !passport.is_tax_id());
        assert!(passport.identifies_for_tax(CountryCode::parse("NGA").unwrap()));
        assert!(!passport.identifies_for_tax(CountryCode::parse("USA").unwrap()));
        assert!(IdType::parse("tax_id").unwrap().is_tax_id());
        assert!(IdType::parse("SSN").is_err());
        assert!(IdType::parse("library_card").is_err());
    }

    #[test]
    fn dates_are_exactly_yyyy_mm_dd() {
        assert_eq!(
            date("1990-05-17"),
            Ok(NaiveDate::from_ymd_opt(1990, 5, 17).unwrap())
        );
        for bad in [
            "1990-5-17",
            "17/05/1990",
            "1990-02-30",
            "19900517",
            "",
            "1990-05-17T00:00",
        ] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }
}
