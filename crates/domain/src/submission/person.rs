//! People: an individual customer, and (in `business`) a business's associated persons,
//! who share the personal fields checked here.

use std::fmt;

use chrono::{Months, NaiveDate};

use super::address::{address, country_of, Address, AddressInput};
use super::check::{text, At, Checker};
use super::choices::{AccountPurpose, EmploymentStatus, ExpectedMonthlyPayments, SourceOfFunds};
use super::identity::{date, person_documents, IdentityDocument, IdentityInput};
use crate::{CountryCode, CustomerEmail, PhoneNumber};

/// Longest name part, in characters (Bridge's limit).
pub const MAX_PERSON_NAME_CHARS: usize = 1024;

/// Age a person must have reached.
pub const MINIMUM_AGE_YEARS: u32 = 18;

/// A date of birth: not in the future, at least [`MINIMUM_AGE_YEARS`] before the day of
/// the check, and not before 1900. Sent to the provider and never kept; its `Debug` is
/// redacted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BirthDate(NaiveDate);

impl BirthDate {
    /// Checks `YYYY-MM-DD` against `today` (a parameter, so the rule is testable on any day).
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, String> {
        let day = date(raw)?;
        if day > today {
            return Err("must not be in the future".into());
        }
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
        if day < earliest {
            return Err("must be on or after 1900-01-01".into());
        }
        let adult_from = day.checked_add_months(Months::new(MINIMUM_AGE_YEARS * 12));
        if adult_from.is_none_or(|adult| adult > today) {
            return Err(format!(
                "the person must be at least {MINIMUM_AGE_YEARS} years old"
            ));
        }
        Ok(Self(day))
    }

    /// The date, for the provider only.
    pub fn expose(&self) -> NaiveDate {
        self.0
    }
}

impl fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BirthDate(<redacted>)")
    }
}

/// The id of the provider's record of the customer accepting its terms of service: 1–256
/// letters, digits and `._:-` (Bridge's are UUIDs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAgreementId(String);

impl SignedAgreementId {
    /// Checks an agreement id.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        if raw.is_empty() || raw.len() > 256 || !raw.chars().all(allowed) {
            return Err(
                "must be 1–256 letters, digits, dots, underscores, colons or hyphens".into(),
            );
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's fields as the client sent them.
#[derive(Default)]
pub struct PersonInput {
    /// Given name.
    pub first_name: Option<String>,
    /// Middle name.
    pub middle_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// ISO 3166-1 alpha-3.
    pub nationality: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Where the person lives.
    pub residential_address: Option<AddressInput>,
    /// Identity documents and tax numbers.
    pub identifying_information: Option<Vec<IdentityInput>>,
}

/// A checked person.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Person {
    /// Given name, 2–1024 characters.
    pub first_name: String,
    /// Middle name, 1–1024 characters.
    pub middle_name: Option<String>,
    /// Family name, 2–1024 characters.
    pub last_name: String,
    /// Date of birth.
    pub birth_date: BirthDate,
    /// Nationality.
    pub nationality: Option<CountryCode>,
    /// E-mail address.
    pub email: Option<CustomerEmail>,
    /// Phone in E.164.
    pub phone: Option<PhoneNumber>,
    /// Where the person lives: a street address, never a post-office box.
    pub residential_address: Address,
    /// Identity documents and tax numbers, enough for the country of residence.
    pub identifying_information: Vec<IdentityDocument>,
}

fn name(raw: &str, min: usize) -> Result<String, String> {
    text(raw, min, MAX_PERSON_NAME_CHARS)
}

/// Checks a person at `at`; `email_required` for associated persons.
pub(crate) fn person(
    check: &mut Checker<'_>,
    at: &At,
    input: PersonInput,
    email_required: bool,
    today: NaiveDate,
) -> Option<Person> {
    let first_name = check.parse(&at.field("first_name"), input.first_name, |s| name(s, 2));
    let middle_name =
        check.parse_optional(&at.field("middle_name"), input.middle_name, |s| name(s, 1));
    let last_name = check.parse(&at.field("last_name"), input.last_name, |s| name(s, 2));
    let birth_date = check.parse(&at.field("birth_date"), input.birth_date, |s| {
        BirthDate::parse(s, today)
    });
    let nationality = check.parse_optional(
        &at.field("nationality"),
        input.nationality,
        CountryCode::parse_alpha3,
    );
    let email_at = at.field("email");
    let email = if email_required {
        check
            .parse(&email_at, input.email, CustomerEmail::parse)
            .map(Some)
    } else {
        check.parse_optional(&email_at, input.email, CustomerEmail::parse)
    };
    // The country alone decides how a national phone number reads and which documents
    // are needed, even when another part of the address is wrong.
    let residence = country_of(input.residential_address.as_ref());
    let residential_address = address(
        check,
        &at.field("residential_address"),
        input.residential_address,
        true,
    );
    let phone = check.parse_optional(&at.field("phone"), input.phone, |s| {
        PhoneNumber::parse(s, residence)
    });
    let identifying_information = person_documents(
        check,
        &at.field("identifying_information"),
        input.identifying_information,
        residence,
        today,
    );
    Some(Person {
        first_name: first_name?,
        middle_name: middle_name?,
        last_name: last_name?,
        birth_date: birth_date?,
        nationality: nationality?,
        email: email?,
        phone: phone?,
        residential_address: residential_address?,
        identifying_information: identifying_information?,
    })
}

/// An individual's submission as the client sent it.
#[derive(Default)]
pub struct IndividualInput {
    /// The person.
    pub person: PersonInput,
    /// From the terms-of-service flow.
    pub signed_agreement_id: Option<String>,
    /// Why the account is opened.
    pub account_purpose: Option<String>,
    /// What "other" means, for `account_purpose` `other`.
    pub account_purpose_other: Option<String>,
    /// Where the money comes from.
    pub source_of_funds: Option<String>,
    /// Employment.
    pub employment_status: Option<String>,
    /// An occupation code.
    pub most_recent_occupation: Option<String>,
    /// Expected monthly volume, in US dollars.
    pub expected_monthly_payments_usd: Option<String>,
}

/// A checked individual's submission.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndividualSubmission {
    /// The person (email and phone default to the customer's).
    pub person: Person,
    /// The terms-of-service acceptance, when the submission carries it.
    pub signed_agreement_id: Option<SignedAgreementId>,
    /// Why the account is opened.
    pub account_purpose: Option<AccountPurpose>,
    /// What "other" means.
    pub account_purpose_other: Option<String>,
    /// Where the money comes from.
    pub source_of_funds: Option<SourceOfFunds>,
    /// Employment.
    pub employment_status: Option<EmploymentStatus>,
    /// An occupation code (digits, e.g. `132011`).
    pub most_recent_occupation: Option<String>,
    /// Expected monthly volume.
    pub expected_monthly_payments_usd: Option<ExpectedMonthlyPayments>,
}

/// An occupation code: 2–10 digits (Bridge's list uses six, e.g. `132011`).
fn occupation(raw: &str) -> Result<String, String> {
    let code = raw.trim();
    if (2..=10).contains(&code.len()) && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err("must be an occupation code (digits, e.g. 132011)".into())
    }
}

/// `account_purpose_other`: required exactly when the purpose is `other`.
pub(crate) fn purpose_other(
    check: &mut Checker<'_>,
    at: &At,
    raw: Option<String>,
    purpose_is_other: Option<bool>,
) -> Option<Option<String>> {
    match (purpose_is_other, raw) {
        (Some(true), None) => {
            check.report(at, "is required when account_purpose is other");
            None
        }
        (_, raw) => check.parse_optional(at, raw, |s| text(s, 1, 1024)),
    }
}

/// Checks an individual's submission.
pub(crate) fn individual(
    check: &mut Checker<'_>,
    input: IndividualInput,
    today: NaiveDate,
) -> Option<IndividualSubmission> {
    let root = At::root();
    let person = person(check, &root, input.person, false, today);
    let signed_agreement_id = check.parse_optional(
        &root.field("signed_agreement_id"),
        input.signed_agreement_id,
        SignedAgreementId::parse,
    );
    let account_purpose = check.parse_optional(
        &root.field("account_purpose"),
        input.account_purpose,
        AccountPurpose::parse,
    );
    let account_purpose_other = purpose_other(
        check,
        &root.field("account_purpose_other"),
        input.account_purpose_other,
        account_purpose.map(|p| p == Some(AccountPurpose::Other)),
    );
    let source_of_funds = check.parse_optional(
        &root.field("source_of_funds"),
        input.source_of_funds,
        SourceOfFunds::parse,
    );
    let employment_status = check.parse_optional(
        &root.field("employment_status"),
        input.employment_status,
        EmploymentStatus::parse,
    );
    let most_recent_occupation = check.parse_optional(
        &root.field("most_recent_occupation"),
        input.most_recent_occupation,
        occupation,
    );
    let expected_monthly_payments_usd = check.parse_optional(
        &root.field("expected_monthly_payments_usd"),
        input.expected_monthly_payments_usd,
        ExpectedMonthlyPayments::parse,
    );
    Some(IndividualSubmission {
        person: person?,
        signed_agreement_id: signed_agreement_id?,
        account_purpose: account_purpose?,
        account_purpose_other: account_purpose_other?,
        source_of_funds: source_of_funds?,
        employment_status: employment_status?,
        most_recent_occupation: most_recent_occupation?,
        expected_monthly_payments_usd: expected_monthly_payments_usd?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_person_must_be_eighteen_on_the_day_of_the_check() {
        let today = day(2026, 11, 26);
        assert!(BirthDate::parse("2008-11-26", today).is_ok());
        let message = BirthDate::parse("2008-11-27", today).unwrap_err();
        assert_eq!(message, "the person must be at least 18 years old");
        assert_eq!(
            BirthDate::parse("2026-11-27", today).unwrap_err(),
            "must not be in the future"
        );
        assert!(BirthDate::parse("1899-12-31", today).is_err());
        assert_eq!(
            format!("{:?}", BirthDate::parse("1990-05-17", today).unwrap()),
            "BirthDate(<redacted>)"
        );
    }

    #[test]
    fn agreement_ids_are_plain_tokens() {
        assert!(SignedAgreementId::parse("4d5d8c45-9feb-422a-bb5e-0fd32e3b3c53").is_ok());
        assert!(SignedAgreementId::parse("sandbox_agreement_1").is_ok());
        for bad in ["", "a b", "<script>", &"a".repeat(257)] {
            assert!(SignedAgreementId::parse(bad).is_err(), "{bad}");
        }
    }
}
