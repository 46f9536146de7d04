//! The business rules, one bad business submission per rule.

use super::*;

type BusinessCase = (&'static str, fn(&mut BusinessInput));

const BUSINESS_CASES: &[BusinessCase] = &[
    ("business_legal_name", |b| b.business_legal_name = None),
    ("business_type", |b| b.business_type = s("charity")),
    ("business_industry", |b| b.business_industry = Some(vec![])),
    ("business_industry[0]", |b| {
        b.business_industry = Some(vec!["software".into()])
    }),
    ("physical_address.street_line_1", |b| {
        b.physical_address.as_mut().unwrap().street_line_1 = s("P.O. Box 9")
    }),
    ("associated_persons", |b| {
        b.associated_persons = Some(vec![associated(false)])
    }),
    ("associated_persons[0].title", |b| {
        b.associated_persons.as_mut().unwrap()[0].title = None
    }),
    ("associated_persons[0].email", |b| {
        b.associated_persons.as_mut().unwrap()[0].person.email = None
    }),
    ("associated_persons[0].ownership_percentage", |b| {
        b.associated_persons.as_mut().unwrap()[0].ownership_percentage = Some(10)
    }),
    ("associated_persons[0].ownership_percentage", |b| {
        b.associated_persons.as_mut().unwrap()[0].ownership_percentage = Some(101)
    }),
    ("associated_persons[0].birth_date", |b| {
        b.associated_persons.as_mut().unwrap()[0].person.birth_date = s("2015-06-01")
    }),
    (
        "associated_persons[0].identifying_information[0].number",
        |b| {
            b.associated_persons.as_mut().unwrap()[0]
                .person
                .identifying_information
                .as_mut()
                .unwrap()[0]
                .number = s("1234")
        },
    ),
    ("is_dao", |b| b.is_dao = None),
    ("identifying_information", |b| {
        b.identifying_information.as_mut().unwrap()[0].issuing_country = s("CAN")
    }),
    ("documents", |b| {
        b.documents.as_mut().unwrap().remove(1);
    }),
    ("documents[0].purposes", |b| {
        b.documents.as_mut().unwrap()[0].purposes = Some(vec![
            "business_formation".into(),
            "business_formation".into(),
        ])
    }),
    ("documents[0].description", |b| {
        b.documents.as_mut().unwrap()[0].purposes =
            Some(vec!["business_formation".into(), "other".into()])
    }),
    ("documents[1].file", |b| {
        b.documents.as_mut().unwrap()[1].file = None
    }),
    ("account_purpose", |b| b.account_purpose = None),
    ("source_of_funds", |b| b.source_of_funds = s("salary")),
];

#[test]
fn every_bad_business_field_is_named() {
    for (field, spoil) in BUSINESS_CASES {
        let mut input = business();
        spoil(&mut input);
        assert_eq!(
            fields(SubmissionInput::Business(input)),
            [*field],
            "case for {field}"
        );
    }
}

#[test]
fn a_sole_proprietorship_needs_no_formation_documents() {
    let mut input = business();
    input.business_type = s("sole_prop");
    input.documents = Some(vec![DocumentInput {
        purposes: Some(vec!["proof_of_address".into()]),
        file: Some(pdf()),
        description: None,
    }]);
    check(SubmissionInput::Business(input)).unwrap();
}
