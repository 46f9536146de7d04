//! A business's submission: the company, its addresses, its associated persons (owners,
//! controllers, signers), its tax identification and its documents.

use chrono::NaiveDate;

use super::address::{address, country_of, Address, AddressInput};
use super::check::{text, At, Checker};
use super::choices::{
    BusinessAccountPurpose, BusinessSourceOfFunds, BusinessType, DocumentPurpose,
};
use super::files::{FileInput, SubmittedFile};
use super::identity::{business_documents, file_field, IdentityDocument, IdentityInput};
use super::person::{person, purpose_other, Person, PersonInput, SignedAgreementId};
use crate::{CustomerEmail, PhoneNumber};

/// Most associated persons in one submission.
pub const MAX_ASSOCIATED_PERSONS: usize = 20;
/// Most documents in one submission.
pub const MAX_DOCUMENTS: usize = 10;
/// Ownership share from which a person counts as an owner (`has_ownership`).
pub const OWNERSHIP_THRESHOLD_PERCENT: u8 = 25;

/// An associated person as the client sent it.
#[derive(Default)]
pub struct AssociatedPersonInput {
    /// The person's own fields (e-mail required).
    pub person: PersonInput,
    /// Ultimate ownership, in percent.
    pub ownership_percentage: Option<i64>,
    /// Owns at least 25%.
    pub has_ownership: Option<bool>,
    /// Controls the business.
    pub has_control: Option<bool>,
    /// Signs for the business.
    pub is_signer: Option<bool>,
    /// Title, required for a controller.
    pub title: Option<String>,
}

/// A checked associated person.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssociatedPerson {
    /// The person (with an e-mail address).
    pub person: Person,
    /// Ultimate ownership, 0–100 percent, consistent with `has_ownership`.
    pub ownership_percentage: Option<u8>,
    /// Owns at least 25%.
    pub has_ownership: bool,
    /// Controls the business.
    pub has_control: bool,
    /// Signs for the business.
    pub is_signer: bool,
    /// Title (required for a controller).
    pub title: Option<String>,
}

/// A business document as the client sent it.
#[derive(Default)]
pub struct DocumentInput {
    /// What it proves.
    pub purposes: Option<Vec<String>>,
    /// The file.
    pub file: Option<FileInput>,
    /// What it is, required when a purpose is `other`.
    pub description: Option<String>,
}

/// A checked business document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusinessDocument {
    /// What it proves (1–5 distinct purposes).
    pub purposes: Vec<DocumentPurpose>,
    /// The file.
    pub file: SubmittedFile,
    /// What it is.
    pub description: Option<String>,
}

/// A business's submission as the client sent it.
#[derive(Default)]
pub struct BusinessInput {
    /// Legal name.
    pub business_legal_name: Option<String>,
    /// Trade name.
    pub business_trade_name: Option<String>,
    /// What the business does.
    pub business_description: Option<String>,
    /// Legal form.
    pub business_type: Option<String>,
    /// NAICS codes.
    pub business_industry: Option<Vec<String>>,
    /// Where it is registered.
    pub registered_address: Option<AddressInput>,
    /// Where it operates.
    pub physical_address: Option<AddressInput>,
    /// Owners, controllers, signers.
    pub associated_persons: Option<Vec<AssociatedPersonInput>>,
    /// A decentralised autonomous organisation.
    pub is_dao: Option<bool>,
    /// An intermediate legal entity owns 25% or more.
    pub has_material_intermediary_ownership: Option<bool>,
    /// Tax identification (and any ID documents).
    pub identifying_information: Option<Vec<IdentityInput>>,
    /// Supporting documents.
    pub documents: Option<Vec<DocumentInput>>,
    /// Why the account is opened.
    pub account_purpose: Option<String>,
    /// What "other" means.
    pub account_purpose_other: Option<String>,
    /// Where the money comes from.
    pub source_of_funds: Option<String>,
    /// Contact address.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// From the terms-of-service flow.
    pub signed_agreement_id: Option<String>,
}

/// A checked business submission.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusinessSubmission {
    /// Legal name.
    pub business_legal_name: String,
    /// Trade name.
    pub business_trade_name: String,
    /// What the business does.
    pub business_description: String,
    /// Legal form.
    pub business_type: BusinessType,
    /// NAICS codes (2–6 digits each).
    pub business_industry: Vec<String>,
    /// Where it is registered.
    pub registered_address: Address,
    /// Where it operates: a street address, never a post-office box.
    pub physical_address: Address,
    /// At least one controller and one signer.
    pub associated_persons: Vec<AssociatedPerson>,
    /// A decentralised autonomous organisation.
    pub is_dao: bool,
    /// An intermediate legal entity owns 25% or more.
    pub has_material_intermediary_ownership: bool,
    /// At least one tax ID of the country of registration.
    pub identifying_information: Vec<IdentityDocument>,
    /// Formation and ownership documents (except for sole proprietorships), and others.
    pub documents: Vec<BusinessDocument>,
    /// Why the account is opened.
    pub account_purpose: BusinessAccountPurpose,
    /// What "other" means.
    pub account_purpose_other: Option<String>,
    /// Where the money comes from.
    pub source_of_funds: BusinessSourceOfFunds,
    /// Contact address (default: the customer's).
    pub email: Option<CustomerEmail>,
    /// Contact phone (default: the customer's).
    pub phone: Option<PhoneNumber>,
    /// The terms-of-service acceptance, when the submission carries it.
    pub signed_agreement_id: Option<SignedAgreementId>,
}

fn associated_person(
    check: &mut Checker<'_>,
    at: &At,
    input: AssociatedPersonInput,
    today: NaiveDate,
) -> Option<AssociatedPerson> {
    let person = person(check, at, input.person, true, today);
    let has_ownership = check.required(&at.field("has_ownership"), input.has_ownership);
    let has_control = check.required(&at.field("has_control"), input.has_control);
    let is_signer = check.required(&at.field("is_signer"), input.is_signer);
    let percent_at = at.field("ownership_percentage");
    let ownership_percentage = match input.ownership_percentage {
        None => (!check.failed(&percent_at)).then_some(None),
        Some(p) => match u8::try_from(p).ok().filter(|p| *p <= 100) {
            None => {
                check.report(&percent_at, "must be an integer from 0 to 100");
                None
            }
            Some(p)
                if has_ownership.is_some_and(|owns| owns != (p >= OWNERSHIP_THRESHOLD_PERCENT)) =>
            {
                check.report(
                    &percent_at,
                    format!(
                        "must agree with has_ownership: an owner has at least \
                         {OWNERSHIP_THRESHOLD_PERCENT}%"
                    ),
                );
                None
            }
            Some(p) => Some(Some(p)),
        },
    };
    let title_at = at.field("title");
    let title = match (has_control, input.title) {
        (Some(true), None) => {
            check.report(&title_at, "is required for a person with has_control");
            None
        }
        (_, raw) => check.parse_optional(&title_at, raw, |s| text(s, 1, 256)),
    };
    Some(AssociatedPerson {
        person: person?,
        ownership_percentage: ownership_percentage?,
        has_ownership: has_ownership?,
        has_control: has_control?,
        is_signer: is_signer?,
        title: title?,
    })
}

fn document(check: &mut Checker<'_>, at: &At, input: DocumentInput) -> Option<BusinessDocument> {
    let purposes_at = at.field("purposes");
    let purposes = check.list(&purposes_at, input.purposes, (1, 5), |check, at, raw| {
        check.check(at, DocumentPurpose::parse(&raw))
    });
    let purposes = match purposes {
        Some(p) if (1..p.len()).any(|i| p[..i].contains(&p[i])) => {
            check.report(&purposes_at, "must not name a purpose twice");
            None
        }
        other => other,
    };
    let file = check.required(&at.field("file"), input.file);
    let file = file.and_then(|f| file_field(check, &at.field("file"), Some(f))?);
    let description_at = at.field("description");
    let description = match (&purposes, input.description) {
        (Some(p), None) if p.contains(&DocumentPurpose::Other) => {
            check.report(&description_at, "is required when a purpose is other");
            None
        }
        (_, raw) => check.parse_optional(&description_at, raw, |s| text(s, 1, 1024)),
    };
    Some(BusinessDocument {
        purposes: purposes?,
        file: file?,
        description: description?,
    })
}

/// A NAICS code: 2–6 digits.
fn industry(raw: &str) -> Result<String, String> {
    let code = raw.trim();
    if (2..=6).contains(&code.len()) && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err("must be a NAICS code (2 to 6 digits, e.g. 541511)".into())
    }
}

/// Checks a business's submission.
pub(crate) fn business(
    check: &mut Checker<'_>,
    input: BusinessInput,
    today: NaiveDate,
) -> Option<BusinessSubmission> {
    let root = At::root();
    let names = |check: &mut Checker<'_>, field: &str, raw| {
        check.parse(&root.field(field), raw, |s| text(s, 1, 1024))
    };
    let business_legal_name = names(check, "business_legal_name", input.business_legal_name);
    let business_trade_name = names(check, "business_trade_name", input.business_trade_name);
    let business_description = names(check, "business_description", input.business_description);
    let business_type = check.parse(
        &root.field("business_type"),
        input.business_type,
        BusinessType::parse,
    );
    let business_industry = check.list(
        &root.field("business_industry"),
        input.business_industry,
        (1, 10),
        |check, at, raw| check.check(at, industry(&raw)),
    );
    let registration = country_of(input.registered_address.as_ref());
    let country = country_of(input.physical_address.as_ref());
    let registered_address = address(
        check,
        &root.field("registered_address"),
        input.registered_address,
        false,
    );
    let physical_address = address(
        check,
        &root.field("physical_address"),
        input.physical_address,
        true,
    );
    let persons_at = root.field("associated_persons");
    let associated_persons = check.list(
        &persons_at,
        input.associated_persons,
        (1, MAX_ASSOCIATED_PERSONS),
        |check, at, person| associated_person(check, at, person, today),
    );
    let associated_persons = match associated_persons {
        Some(persons) if !persons.iter().any(|p| p.has_control) => {
            check.report(
                &persons_at,
                "at least one person must have has_control true",
            );
            None
        }
        Some(persons) if !persons.iter().any(|p| p.is_signer) => {
            check.report(&persons_at, "at least one person must have is_signer true");
            None
        }
        other => other,
    };
    let is_dao = check.required(&root.field("is_dao"), input.is_dao);
    let has_material_intermediary_ownership = check.required(
        &root.field("has_material_intermediary_ownership"),
        input.has_material_intermediary_ownership,
    );
    let identifying_information = business_documents(
        check,
        &root.field("identifying_information"),
        input.identifying_information,
        registration,
        today,
    );
    let documents_at = root.field("documents");
    let documents = check.list(&documents_at, input.documents, (1, MAX_DOCUMENTS), document);
    if let (Some(documents), Some(business_type)) = (&documents, business_type) {
        if business_type != BusinessType::SoleProp {
            for needed in [
                DocumentPurpose::BusinessFormation,
                DocumentPurpose::OwnershipInformation,
            ] {
                if !documents.iter().any(|d| d.purposes.contains(&needed)) {
                    check.report(
                        &documents_at,
                        format!(
                            "needs a document with purpose {} (every business type but sole_prop)",
                            needed.as_str()
                        ),
                    );
                }
            }
        }
    }
    let account_purpose = check.parse(
        &root.field("account_purpose"),
        input.account_purpose,
        BusinessAccountPurpose::parse,
    );
    let account_purpose_other = purpose_other(
        check,
        &root.field("account_purpose_other"),
        input.account_purpose_other,
        account_purpose.map(|p| p == BusinessAccountPurpose::Other),
    );
    let source_of_funds = check.parse(
        &root.field("source_of_funds"),
        input.source_of_funds,
        BusinessSourceOfFunds::parse,
    );
    let email = check.parse_optional(&root.field("email"), input.email, CustomerEmail::parse);
    let phone = check.parse_optional(&root.field("phone"), input.phone, |s| {
        PhoneNumber::parse(s, country)
    });
    let signed_agreement_id = check.parse_optional(
        &root.field("signed_agreement_id"),
        input.signed_agreement_id,
        SignedAgreementId::parse,
    );
    Some(BusinessSubmission {
        business_legal_name: business_legal_name?,
        business_trade_name: business_trade_name?,
        business_description: business_description?,
        business_type: business_type?,
        business_industry: business_industry?,
        registered_address: registered_address?,
        physical_address: physical_address?,
        associated_persons: associated_persons?,
        is_dao: is_dao?,
        has_material_intermediary_ownership: has_material_intermediary_ownership?,
        identifying_information: identifying_information?,
        // A missing formation or ownership document was reported above.
        documents: documents.filter(|_| !check.failed(&documents_at))?,
        account_purpose: account_purpose?,
        account_purpose_other: account_purpose_other?,
        source_of_funds: source_of_funds?,
        email: email?,
        phone: phone?,
        signed_agreement_id: signed_agreement_id?,
    })
}
