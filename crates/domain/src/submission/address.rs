//! Postal addresses: residential (never a post-office box), physical and registered.
//!
//! Subdivisions are ISO 3166-2 codes without the country prefix (`CA` for `US-CA`), checked
//! against `rust_iso3166` (Debian iso-codes data). Whether a country uses postal codes is
//! the one thing no maintained crate knows; [`COUNTRIES_WITHOUT_POSTAL_CODES`] is the list
//! of the `countries` gem (Google's libaddressinput data), where a postal code is optional.

use super::check::{text, At, Checker};
use crate::CountryCode;

/// Countries (ISO 3166-1 alpha-2) where addresses have no postal code, from the `countries`
/// Ruby gem's data (`postal_code: false`), itself from Google's libaddressinput. Advisory:
/// some of them have codes that are little used (Panama), so there the code is optional,
/// not refused.
pub const COUNTRIES_WITHOUT_POSTAL_CODES: &[&str] = &[
    "AE", "AG", "AO", "AQ", "AW", "BF", "BI", "BJ", "BO", "BQ", "BS", "BV", "BW", "BZ", "CD", "CF",
    "CG", "CI", "CK", "CM", "CW", "DJ", "DM", "ER", "FJ", "GA", "GD", "GH", "GM", "GQ", "GY", "HK",
    "JM", "KI", "KM", "KN", "KP", "LC", "LY", "ML", "MO", "MR", "MS", "MW", "NR", "NU", "PA", "PS",
    "QA", "RW", "SB", "SC", "SL", "SR", "SS", "ST", "SX", "SY", "TD", "TF", "TG", "TK", "TL", "TO",
    "TT", "TV", "UG", "VU", "WS", "YE", "ZW",
];

/// Phrases that name a post-office box or a private mailbox, matched as whole words in the
/// street line once it is lower-cased and every character that is not a letter or digit is
/// a space (so `P.O. Box`, `PO-BOX` and `p o box` are one phrase).
pub const PO_BOX_PHRASES: &[&str] = &[
    "po box",
    "p o box",
    "po bx",
    "p o b",
    "pobox",
    "post office box",
    "post box",
    "postal box",
    "letter box",
    "gpo box",
    "locked bag",
    "pmb",
    "private mailbox",
    "private mail box",
    "postbus",
    "postfach",
    "boite postale",
    "boîte postale",
    "caixa postal",
    "apartado postal",
    "apartado de correos",
    "casilla de correo",
    "casilla postal",
];

/// An address as the client sent it.
#[derive(Default)]
pub struct AddressInput {
    /// Street and number.
    pub street_line_1: Option<String>,
    /// Apartment, suite, floor.
    pub street_line_2: Option<String>,
    /// City or town.
    pub city: Option<String>,
    /// ISO 3166-2 subdivision code without the country prefix.
    pub subdivision: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-3.
    pub country: Option<String>,
}

/// A checked address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Address {
    /// Street and number: at least 4 characters.
    pub street_line_1: String,
    /// Apartment, suite, floor.
    pub street_line_2: Option<String>,
    /// City or town.
    pub city: String,
    /// ISO 3166-2 subdivision code without the country prefix, upper case (`CA`).
    pub subdivision: Option<String>,
    /// Postal code as given (trimmed).
    pub postal_code: Option<String>,
    /// The country.
    pub country: CountryCode,
}

/// Whether a street line names a post-office box (see [`PO_BOX_PHRASES`]); also a line that
/// starts `Box 12` or is written `POB 12` / `POBox12`.
pub fn is_po_box(street: &str) -> bool {
    let spaced: String = street
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let padded = format!(" {} ", words.join(" "));
    let digits = |w: &&str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit());
    PO_BOX_PHRASES
        .iter()
        .any(|phrase| padded.contains(&format!(" {phrase} ")))
        || (words.first() == Some(&"box") && words.get(1).is_some_and(digits))
        || words.windows(2).any(|w| w[0] == "pob" && digits(&w[1]))
        || words
            .iter()
            .any(|w| w.strip_prefix("pobox").is_some_and(|rest| digits(&rest)))
}

/// The subdivision `raw` of `country`, upper-cased, without the country prefix.
fn subdivision(raw: &str, country: CountryCode) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    let alpha2 = country.alpha2();
    if let Some(rest) = code.strip_prefix(&format!("{alpha2}-")) {
        return Err(format!(
            "must be given without the country prefix ({rest}, not {code})"
        ));
    }
    let known = rust_iso3166::from_alpha2(alpha2)
        .is_some_and(|c| c.subdivisions().is_some_and(|s| !s.is_empty()));
    if !known {
        return Err(format!(
            "must be left out: {} has no ISO 3166-2 subdivisions",
            country.alpha3()
        ));
    }
    let full = format!("{alpha2}-{code}");
    match rust_iso3166::iso3166_2::from_code(&full) {
        Some(found) if found.country_code == alpha2 => Ok(code),
        _ => Err(format!(
            "must be an ISO 3166-2 subdivision code of {} without the country prefix \
             (e.g. CA for US-CA)",
            country.alpha3()
        )),
    }
}

/// A postal code: letters, digits, spaces and hyphens, at most 16 characters; in the USA a
/// ZIP code (`12345` or `12345-6789`).
fn postal_code(raw: &str, country: CountryCode) -> Result<String, String> {
    let code = raw.trim();
    if code.is_empty() {
        return Err("must not be empty".into());
    }
    if code.chars().count() > 16
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        || !code.chars().any(|c| c.is_ascii_alphanumeric())
    {
        return Err(
            "must be a postal code (letters, digits, spaces and hyphens, at most 16)".into(),
        );
    }
    if country.alpha3() == "USA" {
        let zip = code.len() == 5 || (code.len() == 10 && code.as_bytes()[5] == b'-');
        let digits = code
            .chars()
            .enumerate()
            .all(|(i, c)| i == 5 || c.is_ascii_digit());
        if !(zip && digits) {
            return Err("must be a ZIP code (12345 or 12345-6789)".into());
        }
    }
    Ok(code.to_owned())
}

/// Whether addresses in `country` use postal codes.
pub fn uses_postal_codes(country: CountryCode) -> bool {
    !COUNTRIES_WITHOUT_POSTAL_CODES.contains(&country.alpha2())
}

/// The country of an address, when it is a valid one (whatever else is wrong with it).
pub(crate) fn country_of(input: Option<&AddressInput>) -> Option<CountryCode> {
    input
        .and_then(|a| a.country.as_deref())
        .and_then(|c| CountryCode::parse_alpha3(c).ok())
}

/// Checks an address at `at`; `residential` refuses post-office boxes.
pub(crate) fn address(
    check: &mut Checker<'_>,
    at: &At,
    input: Option<AddressInput>,
    residential: bool,
) -> Option<Address> {
    let input = check.required(at, input)?;
    let street_at = at.field("street_line_1");
    let street_line_1 = check.parse(&street_at, input.street_line_1, |s| text(s, 4, 256));
    let street_line_1 = match street_line_1 {
        Some(street) if residential && is_po_box(&street) => {
            check.report(
                &street_at,
                "must be a street address, not a post-office box",
            );
            None
        }
        other => other,
    };
    let street_line_2 =
        check.parse_optional(&at.field("street_line_2"), input.street_line_2, |s| {
            text(s, 1, 256)
        });
    let city = check.parse(&at.field("city"), input.city, |s| text(s, 1, 256));
    let country = check.parse(
        &at.field("country"),
        input.country,
        CountryCode::parse_alpha3,
    );

    let subdivision_at = at.field("subdivision");
    let postal_at = at.field("postal_code");
    let (subdivision, postal_code) = match country {
        Some(country) => {
            let subdivision = match input.subdivision {
                None if country.alpha3() == "USA" => check.required(&subdivision_at, None),
                raw => check.parse_optional(&subdivision_at, raw, |s| subdivision(s, country)),
            };
            let postal_code = match input.postal_code {
                None if uses_postal_codes(country) => {
                    check.required::<String>(&postal_at, None).map(Some)
                }
                raw => check.parse_optional(&postal_at, raw, |s| postal_code(s, country)),
            };
            (subdivision, postal_code)
        }
        // Without a country neither can be checked; the country's own error says why.
        None => (None, None),
    };
    Some(Address {
        street_line_1: street_line_1?,
        street_line_2: street_line_2?,
        city: city?,
        subdivision: subdivision?,
        postal_code: postal_code?,
        country: country?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_office_boxes_are_recognised_in_their_common_spellings() {
        for street in [
            "PO Box 123",
            "P.O. Box 123",
            "p.o.box 12",
            "POBox 7",
            "POBOX123",
            "Post Office Box 9",
            "Box 44",
            "POB 12",
            "PMB 300, 1 Main St",
            "Caixa Postal 1000",
            "Postfach 10 10 10",
            "GPO Box 1",
        ] {
            assert!(is_po_box(street), "{street}");
        }
        for street in [
            "1 Box Hill Road",
            "Boxwood Lane 5",
            "221B Baker Street",
            "12 Postal Way",
            "Poblacion 4",
        ] {
            assert!(!is_po_box(street), "{street}");
        }
    }

    #[test]
    fn subdivisions_are_iso_codes_of_the_country_without_its_prefix() {
        let usa = CountryCode::parse("USA").unwrap();
        assert_eq!(subdivision("ca", usa), Ok("CA".into()));
        assert_eq!(subdivision("DC", usa), Ok("DC".into()));
        assert!(subdivision("XX", usa).is_err());
        assert!(subdivision("US-CA", usa)
            .unwrap_err()
            .contains("without the country prefix"));
        let nga = CountryCode::parse("NGA").unwrap();
        assert_eq!(subdivision("LA", nga), Ok("LA".into()));
        assert!(subdivision("CA", nga).is_err());
        let hkg = CountryCode::parse("HKG").unwrap();
        assert!(subdivision("HK", hkg)
            .unwrap_err()
            .contains("no ISO 3166-2 subdivisions"));
    }

    #[test]
    fn postal_codes_follow_the_country() {
        let usa = CountryCode::parse("USA").unwrap();
        assert_eq!(postal_code("94103", usa), Ok("94103".into()));
        assert_eq!(postal_code("94103-1234", usa), Ok("94103-1234".into()));
        assert!(postal_code("9410", usa).is_err());
        assert!(postal_code("ABCDE", usa).is_err());
        let gbr = CountryCode::parse("GBR").unwrap();
        assert_eq!(postal_code("SW1A 1AA", gbr), Ok("SW1A 1AA".into()));
        assert!(postal_code("SW1A_1AA", gbr).is_err());
        assert!(!uses_postal_codes(CountryCode::parse("ARE").unwrap()));
        assert!(uses_postal_codes(gbr));
    }
}
