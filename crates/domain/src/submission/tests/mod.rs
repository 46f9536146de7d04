//! The submission rules, one bad submission per rule: each must be refused naming exactly
//! the field at fault, and the good ones must pass.

use chrono::NaiveDate;

use super::*;
use crate::ValidationErrors;

mod business;
mod files;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

fn jpeg() -> FileInput {
    FileInput {
        media_type: "image/jpeg".into(),
        bytes: b"\xFF\xD8\xFF\xE0 a tiny jpeg".to_vec(),
    }
}

fn pdf() -> FileInput {
    FileInput {
        media_type: "application/pdf".into(),
        bytes: b"%PDF-1.7 a tiny pdf".to_vec(),
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

fn usa_address() -> AddressInput {
    AddressInput {
        street_line_1: s("1 Market Street"),
        street_line_2: s("Suite 100"),
        city: s("San Francisco"),
        subdivision: s("CA"),
        postal_code: s("94105"),
        country: s("USA"),
    }
}

fn ssn() -> IdentityInput {
    IdentityInput {
        id_type: s("ssn"),
        issuing_country: s("USA"),
        number: s("123-45-6789"),
        ..IdentityInput::default()
    }
}

fn us_person() -> PersonInput {
    PersonInput {
        first_name: s("Ada"),
        last_name: s("Lovelace"),
        birth_date: s("1990-05-17"),
        nationality: s("USA"),
        email: s("ada@example.com"),
        phone: s("+1 415 555 2671"),
        residential_address: Some(usa_address()),
        identifying_information: Some(vec![ssn()]),
        ..PersonInput::default()
    }
}

fn individual() -> IndividualInput {
    IndividualInput {
        person: us_person(),
        signed_agreement_id: s("4d5d8c45-9feb-422a-bb5e-0fd32e3b3c53"),
        account_purpose: s("receive_salary"),
        source_of_funds: s("salary"),
        employment_status: s("employed"),
        most_recent_occupation: s("132011"),
        expected_monthly_payments_usd: s("0_4999"),
        ..IndividualInput::default()
    }
}

fn nigerian() -> IndividualInput {
    let mut input = individual();
    input.person.residential_address = Some(AddressInput {
        street_line_1: s("12 Adeola Odeku Street"),
        street_line_2: None,
        city: s("Lagos"),
        subdivision: s("LA"),
        postal_code: s("101241"),
        country: s("NGA"),
    });
    input.person.phone = s("0903 939 5114");
    input.person.identifying_information = Some(vec![
        IdentityInput {
            id_type: s("passport"),
            issuing_country: s("NGA"),
            number: s("A12345678"),
            expiration: s("2030-01-01"),
            image_front: Some(jpeg()),
            ..IdentityInput::default()
        },
        IdentityInput {
            id_type: s("nin"),
            issuing_country: s("NGA"),
            number: s("12345678901"),
            ..IdentityInput::default()
        },
    ]);
    input
}

fn associated(control: bool) -> AssociatedPersonInput {
    AssociatedPersonInput {
        person: us_person(),
        ownership_percentage: Some(60),
        has_ownership: Some(true),
        has_control: Some(control),
        is_signer: Some(true),
        title: s("CEO"),
    }
}

fn business() -> BusinessInput {
    BusinessInput {
        business_legal_name: s("Acme Fintech Inc."),
        business_trade_name: s("Acme"),
        business_description: s("Payments software"),
        business_type: s("corporation"),
        business_industry: Some(vec!["541511".into()]),
        registered_address: Some(usa_address()),
        physical_address: Some(usa_address()),
        associated_persons: Some(vec![associated(true)]),
        is_dao: Some(false),
        has_material_intermediary_ownership: Some(false),
        identifying_information: Some(vec![IdentityInput {
            id_type: s("ein"),
            issuing_country: s("USA"),
            number: s("12-3456789"),
            ..IdentityInput::default()
        }]),
        documents: Some(vec![
            DocumentInput {
                purposes: Some(vec!["business_formation".into()]),
                file: Some(pdf()),
                description: None,
            },
            DocumentInput {
                purposes: Some(vec!["ownership_information".into()]),
                file: Some(pdf()),
                description: None,
            },
        ]),
        account_purpose: s("treasury_management"),
        source_of_funds: s("sales_of_goods_and_services"),
        ..BusinessInput::default()
    }
}

fn check(input: SubmissionInput) -> Result<KycSubmission, ValidationErrors> {
    KycSubmission::validate(input, today(), ValidationErrors::new())
}

fn fields(input: SubmissionInput) -> Vec<String> {
    check(input)
        .expect_err("the submission should be refused")
        .errors()
        .iter()
        .map(|e| e.field.clone())
        .collect()
}

#[test]
fn good_submissions_pass() {
    let us = check(SubmissionInput::Individual(individual())).unwrap();
    assert_eq!(us.customer_type(), crate::CustomerType::Individual);
    let KycSubmission::Individual(us) = us else {
        unreachable!()
    };
    assert_eq!(
        us.person.residential_address.subdivision.as_deref(),
        Some("CA")
    );
    assert_eq!(us.person.phone.as_ref().unwrap().as_str(), "+14155552671");
    check(SubmissionInput::Individual(nigerian())).unwrap();
    let company = check(SubmissionInput::Business(business())).unwrap();
    assert_eq!(company.files().len(), 2);
    assert_eq!(company.persons().len(), 1);
}

#[test]
fn the_summary_keeps_no_number_image_or_birth_date() {
    let submission = check(SubmissionInput::Individual(nigerian())).unwrap();
    let summary = submission.summary();
    assert!(summary.fields.contains(&"birth_date".to_owned()));
    assert!(!summary.fields.contains(&"middle_name".to_owned()));
    assert_eq!(
        summary.identity_documents,
        [
            IdentitySummary {
                path: "identifying_information[0]".into(),
                id_type: "passport".into(),
                number_last_four: Some("5678".into()),
                image_front: Some("image/jpeg".into()),
                image_back: None,
            },
            IdentitySummary {
                path: "identifying_information[1]".into(),
                id_type: "nin".into(),
                number_last_four: Some("8901".into()),
                image_front: None,
                image_back: None,
            },
        ]
    );
    let text = format!("{summary:?}");
    for secret in ["A12345678", "12345678901", "1990", "Lovelace", "Adeola"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let debug = format!("{submission:?}");
    for secret in ["A12345678", "12345678901", "1990-05-17", "tiny jpeg"] {
        assert!(!debug.contains(secret), "{secret} in the Debug output");
    }
}

/// One rule each: a change to a good submission, and the one field it must be refused for.
type Case = (&'static str, fn(&mut IndividualInput));

const INDIVIDUAL_CASES: &[Case] = &[
    ("first_name", |i| i.person.first_name = None),
    ("first_name", |i| i.person.first_name = s("A")),
    ("first_name", |i| {
        i.person.first_name = Some("x".repeat(1025))
    }),
    ("first_name", |i| i.person.first_name = s("Ada\u{202E}")),
    ("last_name", |i| i.person.last_name = s(" ")),
    ("middle_name", |i| i.person.middle_name = s("\u{7}")),
    ("birth_date", |i| i.person.birth_date = None),
    ("birth_date", |i| i.person.birth_date = s("17/05/1990")),
    ("birth_date", |i| i.person.birth_date = s("2010-01-01")),
    ("birth_date", |i| i.person.birth_date = s("2027-01-01")),
    ("birth_date", |i| i.person.birth_date = s("1990-02-30")),
    ("nationality", |i| i.person.nationality = s("US")),
    ("nationality", |i| i.person.nationality = s("XXX")),
    ("email", |i| i.person.email = s("not-an-address")),
    ("phone", |i| i.person.phone = s("12345")),
    ("residential_address", |i| {
        i.person.residential_address = None
    }),
    ("residential_address.street_line_1", |i| {
        i.person.residential_address.as_mut().unwrap().street_line_1 = s("PO Box 12")
    }),
    ("residential_address.street_line_1", |i| {
        i.person.residential_address.as_mut().unwrap().street_line_1 = s("1 A")
    }),
    ("residential_address.street_line_1", |i| {
        i.person.residential_address.as_mut().unwrap().street_line_1 = None
    }),
    ("residential_address.city", |i| {
        i.person.residential_address.as_mut().unwrap().city = None
    }),
    ("residential_address.subdivision", |i| {
        i.person.residential_address.as_mut().unwrap().subdivision = None
    }),
    ("residential_address.subdivision", |i| {
        i.person.residential_address.as_mut().unwrap().subdivision = s("US-CA")
    }),
    ("residential_address.subdivision", |i| {
        i.person.residential_address.as_mut().unwrap().subdivision = s("ZZ")
    }),
    ("residential_address.postal_code", |i| {
        i.person.residential_address.as_mut().unwrap().postal_code = None
    }),
    ("residential_address.postal_code", |i| {
        i.person.residential_address.as_mut().unwrap().postal_code = s("9410")
    }),
    ("residential_address.country", |i| {
        i.person.residential_address.as_mut().unwrap().country = s("United States")
    }),
    ("identifying_information", |i| {
        i.person.identifying_information = None
    }),
    ("identifying_information", |i| {
        i.person.identifying_information = Some(vec![])
    }),
    ("identifying_information", |i| {
        i.person.identifying_information = Some((0..11).map(|_| ssn()).collect())
    }),
    ("identifying_information", |i| {
        // A USA resident with only a passport has no ssn or itin.
        i.person.identifying_information = Some(vec![IdentityInput {
            id_type: s("passport"),
            issuing_country: s("USA"),
            number: s("X1234567"),
            image_front: Some(jpeg()),
            ..IdentityInput::default()
        }])
    }),
    ("identifying_information[0].type", |i| {
        i.person.identifying_information.as_mut().unwrap()[0].id_type = s("library_card")
    }),
    ("identifying_information[0].type", |i| {
        i.person.identifying_information.as_mut().unwrap()[0].id_type = None
    }),
    ("identifying_information[0].issuing_country", |i| {
        i.person.identifying_information.as_mut().unwrap()[0].issuing_country = s("CAN")
    }),
    ("identifying_information[0].number", |i| {
        i.person.identifying_information.as_mut().unwrap()[0].number = None
    }),
    ("identifying_information[0].number", |i| {
        i.person.identifying_information.as_mut().unwrap()[0].number = s("12345")
    }),
    ("identifying_information[0].expiration", |i| {
        i.person.identifying_information.as_mut().unwrap()[0].expiration = s("2020-01-01")
    }),
    ("identifying_information[0].image_front", |i| {
        i.person.identifying_information.as_mut().unwrap()[0].image_front = Some(FileInput {
            media_type: "image/gif".into(),
            bytes: b"GIF89a".to_vec(),
        })
    }),
    ("identifying_information[0].image_back", |i| {
        i.person.identifying_information.as_mut().unwrap()[0].image_back = Some(FileInput {
            media_type: "image/png".into(),
            bytes: b"\xFF\xD8\xFF\xE0 a jpeg".to_vec(),
        })
    }),
    ("signed_agreement_id", |i| {
        i.signed_agreement_id = s("not an id")
    }),
    ("account_purpose", |i| i.account_purpose = s("gambling")),
    ("account_purpose_other", |i| i.account_purpose = s("other")),
    ("source_of_funds", |i| i.source_of_funds = s("lottery")),
    ("employment_status", |i| i.employment_status = s("Employed")),
    ("most_recent_occupation", |i| {
        i.most_recent_occupation = s("Accountant")
    }),
    ("expected_monthly_payments_usd", |i| {
        i.expected_monthly_payments_usd = s("1000")
    }),
];

#[test]
fn every_bad_individual_field_is_named() {
    assert!(INDIVIDUAL_CASES.len() >= 30);
    for (field, spoil) in INDIVIDUAL_CASES {
        let mut input = individual();
        spoil(&mut input);
        assert_eq!(
            fields(SubmissionInput::Individual(input)),
            [*field],
            "case for {field}"
        );
    }
}

type NonUsCase = (&'static str, fn(&mut IndividualInput));

const NON_US_CASES: &[NonUsCase] = &[
    ("identifying_information", |i| {
        // A passport without its image is no photo ID...
        i.person.identifying_information.as_mut().unwrap().remove(0);
    }),
    ("identifying_information", |i| {
        // ...and a photo ID without any tax number is not enough either.
        let ids = i.person.identifying_information.as_mut().unwrap();
        ids.remove(1);
        ids[0].number = None;
    }),
    ("identifying_information[0].image_front", |i| {
        i.person.identifying_information.as_mut().unwrap()[0].image_front = None
    }),
    ("identifying_information[1].issuing_country", |i| {
        let ids = i.person.identifying_information.as_mut().unwrap();
        ids[1].id_type = s("ssn");
        ids[1].number = s("123456789");
    }),
    ("residential_address.subdivision", |i| {
        i.person.residential_address.as_mut().unwrap().subdivision = s("CA")
    }),
    ("phone", |i| i.person.phone = s("0903 939")),
];

#[test]
fn every_bad_field_of_a_resident_outside_the_usa_is_named() {
    for (field, spoil) in NON_US_CASES {
        let mut input = nigerian();
        spoil(&mut input);
        assert_eq!(
            fields(SubmissionInput::Individual(input)),
            [*field],
            "case for {field}"
        );
    }
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let mut input = individual();
    input.person.first_name = None;
    input.person.birth_date = s("2020-01-01");
    input
        .person
        .residential_address
        .as_mut()
        .unwrap()
        .subdivision = s("XX");
    input.person.identifying_information.as_mut().unwrap()[0].number = s("1");
    assert_eq!(
        fields(SubmissionInput::Individual(input)),
        [
            "first_name",
            "birth_date",
            "residential_address.subdivision",
            "identifying_information[0].number",
        ]
    );
}

#[test]
fn a_field_the_reader_already_refused_is_not_named_again() {
    let mut errors = ValidationErrors::new();
    errors.push(crate::FieldError::new("first_name", "must be a string"));
    let mut input = individual();
    input.person.first_name = None;
    let refused =
        KycSubmission::validate(SubmissionInput::Individual(input), today(), errors).unwrap_err();
    assert_eq!(
        refused.errors(),
        [crate::FieldError::new("first_name", "must be a string")]
    );
}
