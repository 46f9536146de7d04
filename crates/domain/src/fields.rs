//! Value types for the customer's fields. Each `parse` is the only way in, so every value
//! in the program has passed its rule.

use std::fmt;
use std::str::FromStr;

use validator::ValidateEmail;

/// Longest accepted customer name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest accepted e-mail address, in characters (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A customer's full name (or a business's legal name): trimmed, 1..=255 characters,
/// no control characters.
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
        if trimmed.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A syntactically valid e-mail address, kept exactly as given. Equality of addresses
/// for uniqueness is case-insensitive and is the store's job (a unique index on
/// `lower(email)`), so this type does not normalise.
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
        if !trimmed.validate_email() {
            return Err("must be a valid e-mail address".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for bad in ["", "plainaddress", "a@", "@b.com", "a b@c.com", "a@b@c.com"] {
            assert!(
                CustomerEmail::parse(bad).is_err(),
                "{bad} should be rejected"
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
