//! KYC by API: a customer's identity data sent through the API instead of the provider's
//! hosted link. The input as the client sent it (`…Input`, plain values), the checked
//! submission ([`KycSubmission`], individual or business), and what is kept of it
//! afterwards ([`SubmissionSummary`], [`KycSubmissionRecord`]: no numbers, images or birth
//! dates).
//!
//! [`KycSubmission::validate`] reports every bad field at once, each under the path the API
//! names it by (`residential_address.subdivision`, `identifying_information[0].number`,
//! `associated_persons[1].birth_date`), after any errors the JSON reader already found.

mod address;
mod business;
mod check;
mod choices;
mod files;
mod id_types;
mod identity;
mod person;
mod summary;

#[cfg(test)]
mod tests;

pub use address::{
    is_po_box, uses_postal_codes, Address, AddressInput, COUNTRIES_WITHOUT_POSTAL_CODES,
    PO_BOX_PHRASES,
};
pub use business::{
    AssociatedPerson, AssociatedPersonInput, BusinessDocument, BusinessInput, BusinessSubmission,
    DocumentInput, MAX_ASSOCIATED_PERSONS, MAX_DOCUMENTS, OWNERSHIP_THRESHOLD_PERCENT,
};
pub use choices::{
    AccountPurpose, BusinessAccountPurpose, BusinessSourceOfFunds, BusinessType, DocumentPurpose,
    EmploymentStatus, ExpectedMonthlyPayments, SourceOfFunds,
};
pub use files::{FileInput, FileKind, SubmittedFile, MAX_FILE_BYTES, MAX_TOTAL_FILE_BYTES};
pub use id_types::IdType;
pub use identity::{IdentityDocument, IdentityInput, IdentityNumber, MAX_IDENTITY_DOCUMENTS};
pub use person::{
    BirthDate, IndividualInput, IndividualSubmission, Person, PersonInput, SignedAgreementId,
    MAX_PERSON_NAME_CHARS, MINIMUM_AGE_YEARS,
};
pub use summary::{
    DocumentSummary, IdentitySummary, KycSubmissionRecord, SubmissionId, SubmissionOutcome,
    SubmissionSummary,
};

use chrono::NaiveDate;

use crate::{CustomerEmail, CustomerType, FieldError, PhoneNumber, ValidationErrors};
use check::Checker;

/// A submission as the client sent it.
pub enum SubmissionInput {
    /// For an individual customer.
    Individual(IndividualInput),
    /// For a business customer.
    Business(BusinessInput),
}

/// A checked submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KycSubmission {
    /// An individual's.
    Individual(IndividualSubmission),
    /// A business's.
    Business(BusinessSubmission),
}

impl KycSubmission {
    /// Checks every rule, adding to `errors` (which may already hold what the JSON reader
    /// found; a field named there is not named again). `today` is the day the age and
    /// expiry rules are checked against.
    pub fn validate(
        input: SubmissionInput,
        today: NaiveDate,
        mut errors: ValidationErrors,
    ) -> Result<Self, ValidationErrors> {
        let mut check = Checker::new(&mut errors);
        let submission = match input {
            SubmissionInput::Individual(i) => {
                person::individual(&mut check, i, today).map(Self::Individual)
            }
            SubmissionInput::Business(b) => {
                business::business(&mut check, b, today).map(Self::Business)
            }
        };
        if let Some(submission) = &submission {
            submission.check_total_size(&mut errors);
        }
        match submission {
            Some(submission) if errors.is_empty() => Ok(submission),
            _ => {
                if errors.is_empty() {
                    // Every path that gives `None` records why; this only guards that promise.
                    errors.push(FieldError::new("body", "is invalid"));
                }
                Err(errors)
            }
        }
    }

    /// Individual or business.
    pub fn customer_type(&self) -> CustomerType {
        match self {
            Self::Individual(_) => CustomerType::Individual,
            Self::Business(_) => CustomerType::Business,
        }
    }

    /// The terms-of-service acceptance the submission carries, if any.
    pub fn signed_agreement_id(&self) -> Option<&SignedAgreementId> {
        match self {
            Self::Individual(s) => s.signed_agreement_id.as_ref(),
            Self::Business(s) => s.signed_agreement_id.as_ref(),
        }
    }

    /// The contact e-mail the submission gives, if any.
    pub fn email(&self) -> Option<&CustomerEmail> {
        match self {
            Self::Individual(s) => s.person.email.as_ref(),
            Self::Business(s) => s.email.as_ref(),
        }
    }

    /// The contact phone the submission gives, if any.
    pub fn phone(&self) -> Option<&PhoneNumber> {
        match self {
            Self::Individual(s) => s.person.phone.as_ref(),
            Self::Business(s) => s.phone.as_ref(),
        }
    }

    /// Every person named in the submission: the individual, or the associated persons.
    pub fn persons(&self) -> Vec<&Person> {
        match self {
            Self::Individual(s) => vec![&s.person],
            Self::Business(s) => s.associated_persons.iter().map(|p| &p.person).collect(),
        }
    }

    /// Every file, with its path, in the order sent.
    pub fn files(&self) -> Vec<(String, &SubmittedFile)> {
        let mut files = Vec::new();
        match self {
            Self::Individual(s) => {
                identity_files("", &s.person.identifying_information, &mut files)
            }
            Self::Business(s) => {
                identity_files("", &s.identifying_information, &mut files);
                for (i, p) in s.associated_persons.iter().enumerate() {
                    identity_files(
                        &format!("associated_persons[{i}]."),
                        &p.person.identifying_information,
                        &mut files,
                    );
                }
                for (i, d) in s.documents.iter().enumerate() {
                    files.push((format!("documents[{i}].file"), &d.file));
                }
            }
        }
        files
    }

    /// The submission's files together must stay within [`MAX_TOTAL_FILE_BYTES`]; the
    /// file that passes the limit is named.
    fn check_total_size(&self, errors: &mut ValidationErrors) {
        let mut total = 0;
        for (path, file) in self.files() {
            total += file.len();
            if total > MAX_TOTAL_FILE_BYTES {
                errors.push(FieldError::new(
                    path,
                    format!(
                        "the submission's files together must be at most \
                         {MAX_TOTAL_FILE_BYTES} bytes (24 MB) once decoded"
                    ),
                ));
                return;
            }
        }
    }
}

/// The images of `docs`, with their paths under `prefix`.
fn identity_files<'a>(
    prefix: &str,
    docs: &'a [IdentityDocument],
    files: &mut Vec<(String, &'a SubmittedFile)>,
) {
    for (i, d) in docs.iter().enumerate() {
        if let Some(f) = &d.image_front {
            files.push((
                format!("{prefix}identifying_information[{i}].image_front"),
                f,
            ));
        }
        if let Some(f) = &d.image_back {
            files.push((
                format!("{prefix}identifying_information[{i}].image_back"),
                f,
            ));
        }
    }
}
