//! Bad KYC submissions, each with the one field it must be refused for: changes to the
//! sample bodies of `testkit`.

use serde_json::{json, Value};

pub fn individual() -> Value {
    testkit::individual_submission_body()
}

pub fn business() -> Value {
    testkit::business_submission_body()
}

/// `body` with the value at the JSON pointer `at` replaced (or removed, for `None`).
pub fn with(mut body: Value, at: &str, value: Option<Value>) -> Value {
    let (parent, key) = at.rsplit_once('/').unwrap();
    let parent = body.pointer_mut(parent).unwrap();
    match (parent, value) {
        (Value::Object(map), Some(value)) => {
            map.insert(key.to_owned(), value);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        (Value::Array(items), Some(value)) => items[key.parse::<usize>().unwrap()] = value,
        (Value::Array(items), None) => {
            items.remove(key.parse::<usize>().unwrap());
        }
        (other, _) => panic!("{at} is inside {other}"),
    }
    body
}

/// A submission the use case must never see, and the one field it must be refused for.
pub fn bad_cases() -> Vec<(Value, &'static str)> {
    let long = "x".repeat(1025);
    vec![
        (with(individual(), "/first_name", None), "first_name"),
        (
            with(individual(), "/first_name", Some(json!(7))),
            "first_name",
        ),
        (
            with(individual(), "/first_name", Some(json!("A"))),
            "first_name",
        ),
        (
            with(individual(), "/last_name", Some(json!(""))),
            "last_name",
        ),
        (
            with(individual(), "/middle_name", Some(json!(long))),
            "middle_name",
        ),
        (
            with(individual(), "/birth_date", Some(json!("1990/05/17"))),
            "birth_date",
        ),
        (
            with(individual(), "/birth_date", Some(json!("2015-01-01"))),
            "birth_date",
        ),
        (
            with(individual(), "/birth_date", Some(json!("2999-01-01"))),
            "birth_date",
        ),
        (
            with(individual(), "/nationality", Some(json!("US"))),
            "nationality",
        ),
        (with(individual(), "/email", Some(json!("nope"))), "email"),
        (with(individual(), "/phone", Some(json!("12"))), "phone"),
        (
            with(individual(), "/residential_address", Some(json!("x"))),
            "residential_address",
        ),
        (
            with(individual(), "/residential_address", None),
            "residential_address",
        ),
        (
            with(
                individual(),
                "/residential_address/street_line_1",
                Some(json!("PO Box 7")),
            ),
            "residential_address.street_line_1",
        ),
        (
            with(
                individual(),
                "/residential_address/street_line_1",
                Some(json!("1 A")),
            ),
            "residential_address.street_line_1",
        ),
        (
            with(individual(), "/residential_address/city", Some(Value::Null)),
            "residential_address.city",
        ),
        (
            with(
                individual(),
                "/residential_address/subdivision",
                Some(json!("US-NY")),
            ),
            "residential_address.subdivision",
        ),
        (
            with(
                individual(),
                "/residential_address/subdivision",
                Some(json!("QQ")),
            ),
            "residential_address.subdivision",
        ),
        (
            with(
                individual(),
                "/residential_address/postal_code",
                Some(json!("ABCDE")),
            ),
            "residential_address.postal_code",
        ),
        (
            with(
                individual(),
                "/residential_address/country",
                Some(json!("ZZZ")),
            ),
            "residential_address.country",
        ),
        (
            with(individual(), "/residential_address/zip", Some(json!("1"))),
            "residential_address.zip",
        ),
        (
            with(individual(), "/identifying_information", Some(json!({}))),
            "identifying_information",
        ),
        (
            with(individual(), "/identifying_information", Some(json!([]))),
            "identifying_information",
        ),
        (
            with(
                individual(),
                "/identifying_information/0",
                Some(json!("ssn")),
            ),
            "identifying_information[0]",
        ),
        (
            with(
                individual(),
                "/identifying_information/0/type",
                Some(json!("social")),
            ),
            "identifying_information[0].type",
        ),
        (
            with(
                individual(),
                "/identifying_information/0/number",
                Some(json!("12-34")),
            ),
            "identifying_information[0].number",
        ),
        (
            with(
                individual(),
                "/identifying_information/0/issuing_country",
                Some(json!("GBR")),
            ),
            "identifying_information[0].issuing_country",
        ),
        (
            with(
                individual(),
                "/identifying_information/0/color",
                Some(json!("red")),
            ),
            "identifying_information[0].color",
        ),
        (
            with(
                individual(),
                "/identifying_information/1/image_front",
                Some(json!("not-a-data-uri")),
            ),
            "identifying_information[1].image_front",
        ),
        (
            with(
                individual(),
                "/identifying_information/1/image_front",
                Some(json!("data:image/gif;base64,R0lGODlh")),
            ),
            "identifying_information[1].image_front",
        ),
        (
            with(
                individual(),
                "/identifying_information/1/image_front",
                Some(json!("data:image/png;base64,/9j/4AAQ")),
            ),
            "identifying_information[1].image_front",
        ),
        (
            with(individual(), "/identifying_information/1/image_front", None),
            "identifying_information[1].image_front",
        ),
        (
            with(
                individual(),
                "/identifying_information/1/expiration",
                Some(json!("2001-01-01")),
            ),
            "identifying_information[1].expiration",
        ),
        (
            with(individual(), "/identifying_information/0", None),
            "identifying_information",
        ),
        (
            with(
                individual(),
                "/signed_agreement_id",
                Some(json!("two words")),
            ),
            "signed_agreement_id",
        ),
        (
            with(individual(), "/account_purpose", Some(json!("fun"))),
            "account_purpose",
        ),
        (
            with(individual(), "/account_purpose", Some(json!("other"))),
            "account_purpose_other",
        ),
        (
            with(individual(), "/source_of_funds", Some(json!(5))),
            "source_of_funds",
        ),
        (
            with(individual(), "/employment_status", Some(json!("Employed"))),
            "employment_status",
        ),
        (
            with(
                individual(),
                "/expected_monthly_payments_usd",
                Some(json!("lots")),
            ),
            "expected_monthly_payments_usd",
        ),
        (
            with(
                individual(),
                "/most_recent_occupation",
                Some(json!("Accountant")),
            ),
            "most_recent_occupation",
        ),
        (
            with(individual(), "/customer_type", Some(json!("robot"))),
            "customer_type",
        ),
        (with(individual(), "/ssn", Some(json!("123456789"))), "ssn"),
        (
            with(business(), "/business_type", Some(json!("charity"))),
            "business_type",
        ),
        (with(business(), "/is_dao", None), "is_dao"),
        (
            with(business(), "/business_industry", Some(json!([541511]))),
            "business_industry[0]",
        ),
        (
            with(
                business(),
                "/physical_address/street_line_1",
                Some(json!("PO Box 1")),
            ),
            "physical_address.street_line_1",
        ),
        (
            with(
                business(),
                "/associated_persons/0/has_control",
                Some(json!("yes")),
            ),
            "associated_persons[0].has_control",
        ),
        (
            with(
                business(),
                "/associated_persons/0/residential_address/subdivision",
                Some(json!("ZZ")),
            ),
            "associated_persons[0].residential_address.subdivision",
        ),
        (
            with(
                business(),
                "/documents/0/file",
                Some(json!("data:application/pdf;base64,AAAA")),
            ),
            "documents[0].file",
        ),
        (
            with(
                business(),
                "/documents/0/purposes",
                Some(json!(["formation"])),
            ),
            "documents[0].purposes[0]",
        ),
        (with(business(), "/documents/1", None), "documents"),
    ]
}
