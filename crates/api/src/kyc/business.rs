//! The wire shapes of a business's body of `POST /customer/{id}/kyc`: the business, its
//! associated persons and its documents.

use domain::submission::{AssociatedPersonInput, BusinessInput, DocumentInput};
use domain::ValidationErrors;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::person::{
    at, file, nested_items, strings, text, AddressBody, IdentityBody, PersonFields,
};
use super::schemas;
use crate::wire::Field;

type Text = Field<Option<String>>;
type Object = Field<Option<Map<String, Value>>>;
type List = Field<Option<Vec<Value>>>;

/// A person who owns, controls or signs for the business. At least one must have
/// `has_control` and one `is_signer`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = KycAssociatedPerson)]
pub struct AssociatedPersonBody {
    /// Given name, 2–1024 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 2, max_length = 1024)]
    pub first_name: Text,
    /// Middle name.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 1024)]
    pub middle_name: Text,
    /// Family name, 2–1024 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 2, max_length = 1024)]
    pub last_name: Text,
    /// `YYYY-MM-DD`: at least 18 years ago. Never stored.
    #[serde(default)]
    #[schema(value_type = String, required = true, format = Date)]
    pub birth_date: Text,
    /// ISO 3166-1 alpha-3.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z]{3}$")]
    pub nationality: Text,
    /// E-mail address.
    #[serde(default)]
    #[schema(value_type = String, required = true, format = Email, max_length = 254)]
    pub email: Text,
    /// Phone.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 40)]
    pub phone: Text,
    /// Where the person lives (not a post-office box).
    #[serde(default)]
    #[schema(value_type = AddressBody, required = true)]
    pub residential_address: Object,
    /// 1–10 identity documents and tax identification numbers, as for an individual.
    #[serde(default)]
    #[schema(value_type = Vec<IdentityBody>, required = true, min_items = 1, max_items = 10)]
    pub identifying_information: List,
    /// Ultimate ownership in percent, 0–100: 25 or more exactly when `has_ownership`.
    #[serde(default)]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 100)]
    pub ownership_percentage: Field<Option<i64>>,
    /// Owns at least 25%.
    #[serde(default)]
    #[schema(value_type = bool, required = true)]
    pub has_ownership: Field<Option<bool>>,
    /// Controls the business.
    #[serde(default)]
    #[schema(value_type = bool, required = true)]
    pub has_control: Field<Option<bool>>,
    /// Signs for the business.
    #[serde(default)]
    #[schema(value_type = bool, required = true)]
    pub is_signer: Field<Option<bool>>,
    /// Title; required with `has_control`.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 256)]
    pub title: Text,
}

impl AssociatedPersonBody {
    fn input(self, path: &str, errors: &mut ValidationErrors) -> AssociatedPersonInput {
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
        AssociatedPersonInput {
            person: person.input(path, errors),
            ownership_percentage: self
                .ownership_percentage
                .read(&at(path, "ownership_percentage"), errors)
                .flatten(),
            has_ownership: self
                .has_ownership
                .read(&at(path, "has_ownership"), errors)
                .flatten(),
            has_control: self
                .has_control
                .read(&at(path, "has_control"), errors)
                .flatten(),
            is_signer: self
                .is_signer
                .read(&at(path, "is_signer"), errors)
                .flatten(),
            title: text(self.title, &at(path, "title"), errors),
        }
    }
}

/// A supporting document. `business_formation` and `ownership_information` are required
/// for every business type but `sole_prop`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = KycDocument)]
pub struct DocumentBody {
    /// 1–5 distinct purposes.
    #[serde(default)]
    #[schema(schema_with = schemas::document_purposes, required = true)]
    pub purposes: List,
    /// The file.
    #[serde(default)]
    #[schema(schema_with = schemas::data_uri, required = true)]
    pub file: Text,
    /// What it is; required when a purpose is `other`.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 1024)]
    pub description: Text,
}

impl DocumentBody {
    fn input(self, path: &str, errors: &mut ValidationErrors) -> DocumentInput {
        DocumentInput {
            purposes: strings(self.purposes, &at(path, "purposes"), errors),
            file: file(self.file, &at(path, "file"), errors),
            description: text(self.description, &at(path, "description"), errors),
        }
    }
}

/// `business`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BusinessKind {
    /// A company.
    Business,
}

/// The body of `POST /customer/{id}/kyc` for a business customer. Unknown fields are
/// refused; every bad field is named at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BusinessKycRequest)]
pub struct BusinessBody {
    /// `business`.
    #[serde(default)]
    #[schema(value_type = BusinessKind, required = true)]
    pub customer_type: Field<Option<Value>>,
    /// Legal name, 1–1024 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, max_length = 1024)]
    pub business_legal_name: Text,
    /// Trade name, 1–1024 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, max_length = 1024)]
    pub business_trade_name: Text,
    /// What the business does, 1–1024 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, max_length = 1024)]
    pub business_description: Text,
    /// Legal form.
    #[serde(default)]
    #[schema(schema_with = schemas::business_type, required = true)]
    pub business_type: Text,
    /// 1–10 NAICS codes (2–6 digits).
    #[serde(default)]
    #[schema(value_type = Vec<String>, required = true, min_items = 1, max_items = 10)]
    pub business_industry: List,
    /// Where the business is registered (a post-office box is allowed here).
    #[serde(default)]
    #[schema(value_type = AddressBody, required = true)]
    pub registered_address: Object,
    /// Where the business operates (not a post-office box).
    #[serde(default)]
    #[schema(value_type = AddressBody, required = true)]
    pub physical_address: Object,
    /// 1–20 owners, controllers and signers.
    #[serde(default)]
    #[schema(value_type = Vec<AssociatedPersonBody>, required = true, min_items = 1, max_items = 20)]
    pub associated_persons: List,
    /// A decentralised autonomous organisation.
    #[serde(default)]
    #[schema(value_type = bool, required = true)]
    pub is_dao: Field<Option<bool>>,
    /// An intermediate legal entity owns 25% or more.
    #[serde(default)]
    #[schema(value_type = bool, required = true)]
    pub has_material_intermediary_ownership: Field<Option<bool>>,
    /// 1–10 items, at least one a tax identification number of the country of
    /// registration (e.g. an `ein`).
    #[serde(default)]
    #[schema(value_type = Vec<IdentityBody>, required = true, min_items = 1, max_items = 10)]
    pub identifying_information: List,
    /// 1–10 supporting documents.
    #[serde(default)]
    #[schema(value_type = Vec<DocumentBody>, required = true, min_items = 1, max_items = 10)]
    pub documents: List,
    /// Why the account is opened.
    #[serde(default)]
    #[schema(schema_with = schemas::business_account_purpose, required = true)]
    pub account_purpose: Text,
    /// What `other` means; required when `account_purpose` is `other`.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 1024)]
    pub account_purpose_other: Text,
    /// Where the money comes from.
    #[serde(default)]
    #[schema(schema_with = schemas::business_source_of_funds, required = true)]
    pub source_of_funds: Text,
    /// Contact e-mail (default: the customer's).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub email: Text,
    /// Contact phone (default: the customer's).
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 40)]
    pub phone: Text,
    /// The terms-of-service acceptance; required here unless one is stored.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9._:-]{1,256}$")]
    pub signed_agreement_id: Text,
}

impl BusinessBody {
    /// The business's input.
    pub(super) fn input(self, errors: &mut ValidationErrors) -> BusinessInput {
        BusinessInput {
            business_legal_name: text(self.business_legal_name, "business_legal_name", errors),
            business_trade_name: text(self.business_trade_name, "business_trade_name", errors),
            business_description: text(self.business_description, "business_description", errors),
            business_type: text(self.business_type, "business_type", errors),
            business_industry: strings(self.business_industry, "business_industry", errors),
            registered_address: AddressBody::read(
                self.registered_address,
                "registered_address",
                errors,
            ),
            physical_address: AddressBody::read(self.physical_address, "physical_address", errors),
            associated_persons: nested_items(
                self.associated_persons,
                "associated_persons",
                errors,
                AssociatedPersonBody::input,
            ),
            is_dao: self.is_dao.read("is_dao", errors).flatten(),
            has_material_intermediary_ownership: self
                .has_material_intermediary_ownership
                .read("has_material_intermediary_ownership", errors)
                .flatten(),
            identifying_information: nested_items(
                self.identifying_information,
                "identifying_information",
                errors,
                IdentityBody::input,
            ),
            documents: nested_items(self.documents, "documents", errors, DocumentBody::input),
            account_purpose: text(self.account_purpose, "account_purpose", errors),
            account_purpose_other: text(
                self.account_purpose_other,
                "account_purpose_other",
                errors,
            ),
            source_of_funds: text(self.source_of_funds, "source_of_funds", errors),
            email: text(self.email, "email", errors),
            phone: text(self.phone, "phone", errors),
            signed_agreement_id: text(self.signed_agreement_id, "signed_agreement_id", errors),
        }
    }
}
