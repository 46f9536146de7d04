//! Value types for the customer's fields. Each `parse` is the only way in, so every value
//! in the program has passed its rule.

use std::fmt;
use std::str::FromStr;

use email_address::{EmailAddress, Options};
use validator::ValidateEmail;

/// Longest accepted customer name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest accepted e-mail address, in characters (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A customer's full name (or a business's legal name): trimmed, 1..=255 characters,
/// no control characters and no invisible formatting characters (bidirectional controls,
/// zero-width characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerName(String);

impl CustomerName {
    /// Validates and trims a raw name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        if trimmed.chars().count() > MAX_NAME_CHARS {
            return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
        }
        crate::text::check_name_characters(trimmed)?;
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as stored, taken out of the value.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A syntactically valid e-mail address at a named internet domain, kept exactly as given.
/// Equality of addresses for uniqueness is case-insensitive and is the store's job (a unique
/// index on `lower(email)`), so this type does not normalise.
///
/// Two maintained parsers must both accept it: `email_address` (RFC 5321/5322 structure,
/// configured to refuse display names, IP-literal domains such as `[127.0.0.1]` and domains
/// without a dot, which no public mail host has) and `validator` (the HTML specification's
/// rule, which limits domain labels to letters, digits and hyphens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerEmail(String);

impl CustomerEmail {
    /// Validates a raw address (surrounding whitespace is ignored).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        if trimmed.chars().count() > MAX_EMAIL_CHARS {
            return Err(format!("must be at most {MAX_EMAIL_CHARS} characters"));
        }
        let parsed = EmailAddress::parse_with_options(trimmed, email_options())
            .map_err(|_| "must be a valid e-mail address at an internet domain".to_owned())?;
        // RFC 3696 §2: no top-level domain is all-numeric, so `x@127.0.0.1` names an IP
        // address, not a domain; `email_address` alone would take it for four labels.
        let top_level = parsed.domain().rsplit('.').next().unwrap_or_default();
        if top_level.chars().all(|c| c.is_ascii_digit()) || !trimmed.validate_email() {
            return Err("must be a valid e-mail address at an internet domain".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as given, taken out of the value.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether `other` is the same address, as uniqueness counts addresses: regardless of
    /// case.
    pub fn same_address(&self, other: &Self) -> bool {
        self.0.to_lowercase() == other.0.to_lowercase()
    }
}

/// Bare addresses only, at a domain name of at least two labels.
fn email_options() -> Options {
    Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text()
}

/// An ISO 3166-1 country, held and shown as its alpha-3 code (`USA`, `NGA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountryCode(isocountry::CountryCode);

impl CountryCode {
    /// Accepts an alpha-3 or alpha-2 code in any case and normalises it to alpha-3.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let upper = raw.trim().to_ascii_uppercase();
        let parsed = match upper.len() {
            3 => isocountry::CountryCode::for_alpha3(&upper).ok(),
            2 => isocountry::CountryCode::for_alpha2(&upper).ok(),
            _ => None,
        };
        parsed
            .map(Self)
            .ok_or_else(|| "must be an ISO 3166-1 alpha-3 (or alpha-2) country code".into())
    }

    /// Accepts an alpha-3 code only, in any case: for fields whose provider wants alpha-3.
    pub fn parse_alpha3(raw: &str) -> Result<Self, String> {
        let upper = raw.trim().to_ascii_uppercase();
        isocountry::CountryCode::for_alpha3(&upper)
            .map(Self)
            .map_err(|_| "must be an ISO 3166-1 alpha-3 country code (e.g. USA)".into())
    }

    /// The alpha-3 code.
    pub fn alpha3(&self) -> &'static str {
        self.0.alpha3()
    }

    /// The alpha-2 code, used as the default region when reading national phone numbers.
    pub fn alpha2(&self) -> &'static str {
        self.0.alpha2()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha3())
    }
}

/// A phone number that the numbering plan says is valid, held in E.164 form (`+14155552671`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number in international form (`+1 (415) 555-2671`) or, when `region` is
    /// given, in that country's national form (`0903 939 5114` for Nigeria).
    pub fn parse(raw: &str, region: Option<CountryCode>) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        // libphonenumber accepts letters as vanity digits; a customer's phone never has them.
        if trimmed.chars().any(|c| c.is_alphabetic()) {
            return Err("must contain only digits and formatting characters".into());
        }
        let region_id = region.and_then(|c| phonenumber::country::Id::from_str(c.alpha2()).ok());
        let number = phonenumber::parse(region_id, trimmed)
            .map_err(|_| "must be a phone number in international format, e.g. +14155552671")?;
        if !phonenumber::is_valid(&number) {
            return Err("is not a valid phone number".into());
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// The number in E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number in E.164 form, taken out of the value.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_differing_only_in_case_are_the_same_address() {
        let a = CustomerEmail::parse("Ada.Lovelace@Example.com").unwrap();
        assert!(a.same_address(&CustomerEmail::parse("ada.lovelace@example.COM").unwrap()));
        assert!(!a.same_address(&CustomerEmail::parse("ada@example.com").unwrap()));
    }

    #[test]
    fn name_is_trimmed() {
        assert_eq!(
            CustomerName::parse("  Emmanuel A Towoju ")
                .unwrap()
                .as_str(),
            "Emmanuel A Towoju"
        );
    }

    #[test]
    fn name_rejects_empty_and_blank() {
        assert!(CustomerName::parse("").is_err());
        assert!(CustomerName::parse("   \t ").is_err());
    }

    #[test]
    fn name_accepts_255_characters_and_rejects_256() {
        assert!(CustomerName::parse(&"é".repeat(255)).is_ok());
        assert!(CustomerName::parse(&"é".repeat(256)).is_err());
    }

    #[test]
    fn name_rejects_control_characters() {
        assert!(CustomerName::parse("Eve\u{0}Null").is_err());
        assert!(CustomerName::parse("Line\nBreak").is_err());
    }

    #[test]
    fn name_refuses_bidirectional_overrides_and_zero_width_characters() {
        for bad in [
            "Bob\u{202E}nhoJ",
            "Eve\u{2067}Smith\u{2069}",
            "Ev\u{200B}e",
            "Eve\u{200D}Smith",
            "\u{FEFF}Eve",
            "Eve\u{200F}",
        ] {
            let message = CustomerName::parse(bad).unwrap_err();
            assert!(
                message.contains("invisible formatting"),
                "{bad:?}: {message}"
            );
        }
    }

    #[test]
    fn email_is_kept_as_given() {
        assert_eq!(
            CustomerEmail::parse("TBash7676@Gmail.com")
                .unwrap()
                .as_str(),
            "TBash7676@Gmail.com"
        );
    }

    #[test]
    fn email_rejects_invalid_addresses() {
        for bad in [
            "",
            "plainaddress",
            "a@",
            "@b.com",
            "a b@c.com",
            "a@b@c.com",
            "Eve <eve@example.com>",
            "a@exa_mple.com",
            "a@-example.com",
            "a@example..com",
        ] {
            assert!(
                CustomerEmail::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn email_rejects_ip_literals_ip_addresses_and_domains_without_a_dot() {
        for bad in [
            "x@[127.0.0.1]",
            "x@[IPv6:::1]",
            "x@127.0.0.1",
            "x@10.1",
            "x@b",
            "x@localhost",
        ] {
            assert_eq!(
                CustomerEmail::parse(bad),
                Err("must be a valid e-mail address at an internet domain".to_owned()),
                "{bad}"
            );
        }
    }

    #[test]
    fn email_accepts_ordinary_and_international_addresses() {
        for good in [
            "tbash7676@gmail.com",
            "first.last+tag@sub.example.co.uk",
            "o'brien@example.ie",
            "user@xn--bcher-kva.example",
            "user@bücher.example",
            "x@123.example",
        ] {
            assert!(
                CustomerEmail::parse(good).is_ok(),
                "{good} should be accepted"
            );
        }
    }

    #[test]
    fn email_rejects_addresses_over_254_characters() {
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        assert!(long.len() > 254);
        assert!(CustomerEmail::parse(&long).is_err());
    }

    #[test]
    fn country_accepts_alpha3_and_alpha2_and_normalises_to_alpha3() {
        assert_eq!(CountryCode::parse("USA").unwrap().alpha3(), "USA");
        assert_eq!(CountryCode::parse("ng").unwrap().alpha3(), "NGA");
        assert_eq!(CountryCode::parse("nga").unwrap().alpha3(), "NGA");
    }

    #[test]
    fn country_rejects_unknown_codes() {
        for bad in ["", "XXX", "U", "United States", "ZZ"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn phone_accepts_common_formatting_and_returns_e164() {
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555-2671", None)
                .unwrap()
                .as_str(),
            "+14155552671"
        );
        assert_eq!(
            PhoneNumber::parse("+2349039395114", None).unwrap().as_str(),
            "+2349039395114"
        );
    }

    #[test]
    fn phone_reads_national_numbers_in_the_customers_country() {
        let nga = CountryCode::parse("NGA").unwrap();
        assert_eq!(
            PhoneNumber::parse("0903 939 5114", Some(nga))
                .unwrap()
                .as_str(),
            "+2349039395114"
        );
    }

    #[test]
    fn phone_rejects_numbers_that_are_not_real() {
        for bad in [
            "",
            "12345",
            "+1 000 000 0000",
            "+999 123",
            "not a phone",
            "+1-800-FLOWERS",
        ] {
            assert!(
                PhoneNumber::parse(bad, None).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn phone_without_country_code_needs_a_region() {
        assert!(PhoneNumber::parse("(415) 555-2671", None).is_err());
        let usa = CountryCode::parse("USA").unwrap();
        assert_eq!(
            PhoneNumber::parse("(415) 555-2671", Some(usa))
                .unwrap()
                .as_str(),
            "+14155552671"
        );
    }
}

mod stored;
