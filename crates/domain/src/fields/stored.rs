//! Rebuilding field values that this service validated and then stored.
//!
//! `parse` is the way in for input, and a value is only ever written to the store after it
//! passed `parse`. Reading it back through `parse` again cost more than the query itself
//! (libphonenumber's validation takes a process-wide lock and tens of microseconds per
//! number, on every row of every page), so values read back from the store come in through
//! `from_stored` instead: it checks only the cheap shape that the column's CHECK constraint
//! and the type's invariant promise, so a row someone edited by hand into something
//! malformed is still reported rather than passed on. Never use `from_stored` on input.

use super::{
    CountryCode, CustomerEmail, CustomerName, PhoneNumber, MAX_EMAIL_CHARS, MAX_NAME_CHARS,
};

impl CountryCode {
    /// Rebuilds a country read back from the store: exactly the upper-case alpha-3 code
    /// that [`CountryCode::parse`] produces, found by a binary search of the codes in
    /// alpha-3 order (`parse` normalises a copy and then searches the list in order, on
    /// every row of every page).
    pub fn from_stored(stored: &str) -> Result<Self, String> {
        let codes = isocountry::CountryCode::as_array_alpha3();
        codes
            .binary_search_by(|c| c.alpha3().cmp(stored))
            .map(|at| Self(codes[at]))
            .map_err(|_| "is not an alpha-3 country code this service stores".into())
    }
}

impl CustomerName {
    /// Rebuilds a name read back from the store: 1..=255 characters, no control
    /// characters, no surrounding whitespace — what [`CustomerName::parse`] produces —
    /// without copying it.
    pub fn from_stored(stored: String) -> Result<Self, String> {
        let shaped = !stored.is_empty()
            && stored.trim().len() == stored.len()
            && stored.chars().count() <= MAX_NAME_CHARS
            && !stored.chars().any(char::is_control);
        if shaped {
            Ok(Self(stored))
        } else {
            Err("is not a name this service stores".into())
        }
    }
}

impl CustomerEmail {
    /// Rebuilds an address read back from the store: at most 254 characters, a non-empty
    /// local part and domain around an `@`, no whitespace. The full syntax check ran when
    /// the address was accepted.
    pub fn from_stored(stored: String) -> Result<Self, String> {
        let shaped = stored.chars().count() <= MAX_EMAIL_CHARS
            && !stored.chars().any(char::is_whitespace)
            && stored
                .rsplit_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        if shaped {
            Ok(Self(stored))
        } else {
            Err("is not an e-mail address this service stores".into())
        }
    }
}

impl PhoneNumber {
    /// Rebuilds a number read back from the store: E.164 shape only (`+`, then 2 to 15
    /// digits, the first not 0), the same rule as PostgreSQL's CHECK on the column. Whether
    /// the numbering plan knows the number was checked when it was accepted.
    pub fn from_stored(stored: String) -> Result<Self, String> {
        let shaped = stored.strip_prefix('+').is_some_and(|digits| {
            (2..=15).contains(&digits.len())
                && !digits.starts_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit())
        });
        if shaped {
            Ok(Self(stored))
        } else {
            Err("is not an E.164 number".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_parse_produces_is_accepted_back_unchanged() {
        let name = CustomerName::parse("  Emmanuel A Towoju ").unwrap();
        let email = CustomerEmail::parse("TBash7676@Gmail.com").unwrap();
        let phone = PhoneNumber::parse("+1 (415) 555-2671", None).unwrap();
        for raw in ["us", "NGA", " gbr ", "ax"] {
            let country = CountryCode::parse(raw).unwrap();
            assert_eq!(CountryCode::from_stored(country.alpha3()).unwrap(), country);
        }
        assert_eq!(
            CustomerName::from_stored(name.as_str().to_owned()).unwrap(),
            name
        );
        assert_eq!(
            CustomerEmail::from_stored(email.as_str().to_owned()).unwrap(),
            email
        );
        assert_eq!(
            PhoneNumber::from_stored(phone.as_str().to_owned()).unwrap(),
            phone
        );
    }

    #[test]
    fn a_stored_name_must_keep_the_invariant_parse_gives() {
        for bad in ["", " padded", "padded ", "Eve\u{0}Null"] {
            assert!(CustomerName::from_stored(bad.into()).is_err(), "{bad:?}");
        }
        assert!(CustomerName::from_stored("é".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(CustomerName::from_stored("é".repeat(MAX_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn a_stored_address_needs_its_shape() {
        for bad in ["", "plainaddress", "a@", "@b.com", "a b@c.com"] {
            assert!(CustomerEmail::from_stored(bad.into()).is_err(), "{bad:?}");
        }
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        assert!(CustomerEmail::from_stored(long).is_err());
    }

    #[test]
    fn every_country_is_found_by_its_stored_code_and_nothing_else_is() {
        for code in isocountry::CountryCode::iter() {
            let country = CountryCode::from_stored(code.alpha3()).unwrap();
            assert_eq!(country.alpha3(), code.alpha3());
        }
        for bad in ["", "usa", "US", " USA", "USA ", "XXX", "ZZZZ"] {
            assert!(CountryCode::from_stored(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_stored_number_must_be_e164() {
        for bad in [
            "",
            "+",
            "+1",
            "14155552671",
            "+04155552671",
            "+1 415 555",
            "+1234567890123456",
        ] {
            assert!(PhoneNumber::from_stored(bad.into()).is_err(), "{bad:?}");
        }
        assert!(PhoneNumber::from_stored("+12".into()).is_ok());
        assert!(PhoneNumber::from_stored("+123456789012345".into()).is_ok());
    }
}
