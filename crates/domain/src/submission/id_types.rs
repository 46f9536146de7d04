//! The types of identity documents and tax identification numbers: Bridge's list
//! (API reference, `IdentifyingInformation.type`) plus `tax_id`, a generic tax
//! identification number.

use crate::CountryCode;

/// Government photo IDs: they need `image_front`.
const PHOTO_IDS: &[&str] = &[
    "drivers_license",
    "matriculate_id",
    "military_id",
    "national_id",
    "passport",
    "permanent_residency_id",
    "state_or_provincial_id",
    "visa",
];

/// Tax identification numbers: they need `number`.
const TAX_IDS: &[&str] = &[
    "abn",
    "acn",
    "ahv",
    "ak",
    "aom",
    "arbn",
    "avs",
    "bc",
    "bce",
    "bin",
    "bir",
    "bp",
    "brn",
    "bsn",
    "bvn",
    "cc",
    "cdi",
    "cedula_juridica",
    "cf",
    "cif",
    "cin",
    "cipc",
    "cn",
    "cnp",
    "cnpj",
    "cpf",
    "cpr",
    "crc",
    "crib",
    "crn",
    "cro",
    "cui",
    "cuil",
    "curp",
    "cuit",
    "cvr",
    "edrpou",
    "ein",
    "embg",
    "emirates_id",
    "en",
    "fin",
    "fn",
    "gstin",
    "gui",
    "hetu",
    "hkid",
    "hn",
    "ic",
    "ico",
    "id",
    "id_broj",
    "idno",
    "idnp",
    "idnr",
    "if",
    "iin",
    "ik",
    "inn",
    "ird",
    "itin",
    "itr",
    "iva",
    "jmbg",
    "kbo",
    "kvk",
    "matricule",
    "mf",
    "mn",
    "ms",
    "mst",
    "nic",
    "nicn",
    "nie",
    "nif",
    "nin",
    "nino",
    "nip",
    "nipc",
    "nipt",
    "nit",
    "npwp",
    "nric",
    "nrn",
    "nrt",
    "ntn",
    "nuit",
    "nzbn",
    "oib",
    "orgnr",
    "other",
    "pan",
    "partita_iva",
    "pesel",
    "pib",
    "pin",
    "pk",
    "ppsn",
    "qid",
    "rc",
    "regon",
    "rfc",
    "ricn",
    "rif",
    "rn",
    "rnc",
    "rnokpp",
    "rp",
    "rrn",
    "rtn",
    "ruc",
    "rut",
    "si",
    "sin",
    "siren",
    "siret",
    "spi",
    "ssm",
    "ssn",
    "steuer_id",
    "strn",
    "tax_id",
    "tckn",
    "tfn",
    "tin",
    "tpin",
    "trn",
    "ucn",
    "uen",
    "uic",
    "uid",
    "usc",
    "ust_idnr",
    "utr",
    "vat",
    "vkn",
    "voen",
    "y_tunnus",
];

/// The type of an identity document or tax identification number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdType(&'static str);

impl IdType {
    /// Reads a type; the message names the common ones.
    pub fn parse(raw: &str) -> Result<Self, String> {
        PHOTO_IDS
            .iter()
            .chain(TAX_IDS)
            .find(|known| **known == raw)
            .map(|known| Self(known))
            .ok_or_else(|| {
                format!(
                    "must be a known document type: a photo ID ({}) or a tax identification \
                     number (e.g. ssn, itin, ein, tax_id, tin, nif, cpf)",
                    PHOTO_IDS.join(", ")
                )
            })
    }

    /// The API's spelling.
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// Every type: the photo IDs, then the tax identification numbers.
    pub fn all() -> impl Iterator<Item = Self> {
        PHOTO_IDS.iter().chain(TAX_IDS).map(|t| Self(t))
    }

    /// A government photo ID (its front image is required).
    pub fn is_photo_id(&self) -> bool {
        PHOTO_IDS.contains(&self.0)
    }

    /// A tax identification number (its number is required).
    pub fn is_tax_id(&self) -> bool {
        TAX_IDS.contains(&self.0)
    }

    /// Whether a document of this type, with a number, can serve as the tax identification
    /// of someone resident in `country`: any tax ID; outside the USA also a passport or
    /// national ID.
    pub fn identifies_for_tax(&self, country: CountryCode) -> bool {
        self.is_tax_id()
            || (country.alpha3() != "USA" && matches!(self.0, "passport" | "national_id"))
    }

    /// `ssn` or `itin`, the only tax IDs of a USA resident.
    pub fn is_us_taxpayer_id(&self) -> bool {
        matches!(self.0, "ssn" | "itin")
    }
}
