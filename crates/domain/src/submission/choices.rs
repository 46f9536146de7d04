//! The closed vocabularies of a submission (account purpose, source of funds, business
//! type, document purpose …). The spelling of each value is the API's; Bridge's API
//! reference uses the same words, which is why they were chosen.

/// Declares a closed vocabulary: an enum, its spellings, and a parser whose message lists
/// every accepted value.
macro_rules! choice {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $spelling:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = concat!("`", $spelling, "`")] $variant),+
        }

        impl $name {
            /// Every value, in the documented order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The API's spelling.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $spelling),+
                }
            }

            /// Reads the API's spelling (exactly, case included).
            pub fn parse(raw: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == raw)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Self::ALL.iter().map(Self::as_str).collect();
                        format!("must be one of: {}", names.join(", "))
                    })
            }
        }
    };
}

choice!(
    /// Why an individual opens the account.
    AccountPurpose {
        CharitableDonations = "charitable_donations",
        EcommerceRetailPayments = "ecommerce_retail_payments",
        InvestmentPurposes = "investment_purposes",
        OperatingACompany = "operating_a_company",
        Other = "other",
        PaymentsToFriendsOrFamilyAbroad = "payments_to_friends_or_family_abroad",
        PersonalOrLivingExpenses = "personal_or_living_expenses",
        ProtectWealth = "protect_wealth",
        PurchaseGoodsAndServices = "purchase_goods_and_services",
        ReceivePaymentForFreelancing = "receive_payment_for_freelancing",
        ReceiveSalary = "receive_salary",
    }
);

choice!(
    /// Why a business opens the account.
    BusinessAccountPurpose {
        CharitableDonations = "charitable_donations",
        EcommerceRetailPayments = "ecommerce_retail_payments",
        InvestmentPurposes = "investment_purposes",
        Other = "other",
        PaymentsToFriendsOrFamilyAbroad = "payments_to_friends_or_family_abroad",
        Payroll = "payroll",
        PersonalOrLivingExpenses = "personal_or_living_expenses",
        ProtectWealth = "protect_wealth",
        PurchaseGoodsAndServices = "purchase_goods_and_services",
        ReceivePaymentsForGoodsAndServices = "receive_payments_for_goods_and_services",
        TaxOptimization = "tax_optimization",
        ThirdPartyMoneyTransmission = "third_party_money_transmission",
        TreasuryManagement = "treasury_management",
    }
);

choice!(
    /// Where an individual's money comes from.
    SourceOfFunds {
        CompanyFunds = "company_funds",
        EcommerceReseller = "ecommerce_reseller",
        GamblingProceeds = "gambling_proceeds",
        Gifts = "gifts",
        GovernmentBenefits = "government_benefits",
        Inheritance = "inheritance",
        InvestmentsLoans = "investments_loans",
        PensionRetirement = "pension_retirement",
        Salary = "salary",
        SaleOfAssetsRealEstate = "sale_of_assets_real_estate",
        Savings = "savings",
        SomeoneElsesFunds = "someone_elses_funds",
    }
);

choice!(
    /// Where a business's money comes from.
    BusinessSourceOfFunds {
        BusinessLoans = "business_loans",
        Grants = "grants",
        InterCompanyFunds = "inter_company_funds",
        InvestmentProceeds = "investment_proceeds",
        LegalSettlement = "legal_settlement",
        OwnersCapital = "owners_capital",
        PensionRetirement = "pension_retirement",
        SaleOfAssets = "sale_of_assets",
        SalesOfGoodsAndServices = "sales_of_goods_and_services",
        ThirdPartyFunds = "third_party_funds",
        TreasuryReserves = "treasury_reserves",
    }
);

choice!(
    /// An individual's employment.
    EmploymentStatus {
        Employed = "employed",
        Homemaker = "homemaker",
        Retired = "retired",
        SelfEmployed = "self_employed",
        Student = "student",
        Unemployed = "unemployed",
    }
);

choice!(
    /// How much an individual expects to move per month, in US dollars.
    ExpectedMonthlyPayments {
        UpTo4999 = "0_4999",
        From5000To9999 = "5000_9999",
        From10000To49999 = "10000_49999",
        From50000 = "50000_plus",
    }
);

choice!(
    /// A business's legal form.
    BusinessType {
        Cooperative = "cooperative",
        Corporation = "corporation",
        Llc = "llc",
        Other = "other",
        Partnership = "partnership",
        SoleProp = "sole_prop",
        Trust = "trust",
    }
);

choice!(
    /// What a business document proves.
    DocumentPurpose {
        AmlComfortLetter = "aml_comfort_letter",
        BusinessFormation = "business_formation",
        DirectorsRegistry = "directors_registry",
        ESignatureCertificate = "e_signature_certificate",
        EvidenceOfGoodStanding = "evidence_of_good_standing",
        FlowOfFunds = "flow_of_funds",
        MarketingMaterials = "marketing_materials",
        OwnershipChart = "ownership_chart",
        OwnershipInformation = "ownership_information",
        ProofOfAccountPurpose = "proof_of_account_purpose",
        ProofOfAddress = "proof_of_address",
        ProofOfEntityNameChange = "proof_of_entity_name_change",
        ProofOfNatureOfBusiness = "proof_of_nature_of_business",
        ProofOfSignatoryAuthority = "proof_of_signatory_authority",
        ProofOfSourceOfFunds = "proof_of_source_of_funds",
        ProofOfSourceOfWealth = "proof_of_source_of_wealth",
        ProofOfTaxIdentification = "proof_of_tax_identification",
        ShareholderRegister = "shareholder_register",
        Other = "other",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_from_its_spelling_and_nothing_else_does() {
        for value in AccountPurpose::ALL {
            assert_eq!(AccountPurpose::parse(value.as_str()), Ok(*value));
        }
        for value in DocumentPurpose::ALL {
            assert_eq!(DocumentPurpose::parse(value.as_str()), Ok(*value));
        }
        let message = EmploymentStatus::parse("Employed").unwrap_err();
        assert_eq!(
            message,
            "must be one of: employed, homemaker, retired, self_employed, student, unemployed"
        );
        assert_eq!(
            ExpectedMonthlyPayments::parse("0_4999"),
            Ok(ExpectedMonthlyPayments::UpTo4999)
        );
    }
}
