//! `POST /customer/{id}/kyc` and `GET /customer/{id}/kyc` over the real routes, gate,
//! extractors and error mapping, with the use case mocked: every bad field named by its
//! path (and nothing sent), and each use-case outcome as one status.

use actix_web::http::{header, StatusCode};
use actix_web::test::TestRequest;
use domain::{CustomerId, CustomerType, KycStatus, KycSubmission};
use ports::{CustomerKycError, MockSubmitKyc, SubmitKycError};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{account, assert_error_shape, call, customer_from, token, Ports};

pub const CUSTOMER: &str = "21fe7601-3be3-4d15-94c0-a94b15d8b872";

pub fn post_kyc(body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/customer/{CUSTOMER}/kyc"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
        .set_json(body)
}

fn individual() -> Value {
    testkit::individual_submission_body()
}

fn business() -> Value {
    testkit::business_submission_body()
}

/// `body` with the value at the JSON pointer `at` replaced (or removed, for `None`).
fn with(mut body: Value, at: &str, value: Option<Value>) -> Value {
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

fn customer_accepted() -> MockSubmitKyc {
    let mut submit = MockSubmitKyc::new();
    submit.expect_list_submissions().never();
    submit
}

fn ports_with(submit: MockSubmitKyc) -> Ports {
    Ports {
        submit,
        ..Ports::new()
    }
}

/// A submission the use case must never see, and the one field it must be refused for.
fn bad_cases() -> Vec<(Value, &'static str)> {
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

#[actix_web::test]
async fn every_bad_submission_is_refused_naming_its_field_and_nothing_is_sent() {
    let cases = bad_cases();
    assert!(cases.len() >= 30, "{}", cases.len());
    for (body, field) in cases {
        let reply = call(Ports::new(), post_kyc(&body)).await;
        assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        let details = reply.body["details"].as_object().unwrap();
        let named: Vec<&String> = details.keys().collect();
        assert_eq!(named, [field], "case for {field}: {}", reply.body);
    }
}

#[actix_web::test]
async fn every_bad_field_is_named_in_one_answer() {
    let body = with(individual(), "/first_name", None);
    let body = with(body, "/residential_address/subdivision", Some(json!("QQ")));
    let body = with(body, "/identifying_information/0/number", Some(json!(1)));
    let reply = call(Ports::new(), post_kyc(&body)).await;
    let mut named: Vec<&String> = reply.body["details"].as_object().unwrap().keys().collect();
    named.sort();
    assert_eq!(
        named,
        [
            "first_name",
            "identifying_information[0].number",
            "residential_address.subdivision"
        ]
    );
}

#[actix_web::test]
async fn a_good_submission_is_accepted_with_the_customer_and_its_status() {
    let mut submit = customer_accepted();
    submit
        .expect_submit_kyc()
        .times(1)
        .withf(|account_id, customer_id, submission| {
            *account_id == account()
                && customer_id.0.to_string() == CUSTOMER
                && matches!(submission, KycSubmission::Individual(s) if s.person.last_name == "Lovelace")
        })
        .returning(|_, _, _| {
            let mut customer = customer_from(crate::support::seed_body_input());
            customer.kyc_state.kyc_status = KycStatus::UnderReview;
            Ok(customer)
        });
    let reply = call(ports_with(submit), post_kyc(&individual())).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["status_code"], 202);
    assert_eq!(reply.body["data"]["kyc_status"], "under_review");
    assert_eq!(reply.body["data"]["id"], CUSTOMER);

    let mut submit = customer_accepted();
    submit
        .expect_submit_kyc()
        .times(1)
        .withf(|_, _, submission| submission.customer_type() == CustomerType::Business)
        .returning(|_, _, _| Ok(customer_from(crate::support::seed_body_input())));
    let reply = call(ports_with(submit), post_kyc(&business())).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
}

#[actix_web::test]
async fn each_outcome_of_the_use_case_has_its_status() {
    let cases: Vec<(fn() -> SubmitKycError, StatusCode, &str)> = vec![
        (
            || SubmitKycError::NotFound,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            || SubmitKycError::InProgress,
            StatusCode::CONFLICT,
            "kyc_in_progress",
        ),
        (
            || SubmitKycError::TermsNotAccepted,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            || SubmitKycError::TypeMismatch {
                expected: CustomerType::Business,
            },
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            || SubmitKycError::Rejected {
                field_errors: vec![(
                    "identifying_information[0].number".into(),
                    "invalid SSN".into(),
                )],
                message: "fields are invalid".into(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "kyc_rejected",
        ),
        (
            || SubmitKycError::KycTimeout,
            StatusCode::GATEWAY_TIMEOUT,
            "kyc_provider_timeout",
        ),
        (
            || SubmitKycError::KycUnavailable(anyhow::anyhow!("down")),
            StatusCode::BAD_GATEWAY,
            "kyc_provider_unavailable",
        ),
        (
            || SubmitKycError::StoreUnavailable(anyhow::anyhow!("down")),
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        ),
        (
            || SubmitKycError::Unexpected(anyhow::anyhow!("bug")),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        ),
    ];
    for (error, status, code) in cases {
        let mut submit = customer_accepted();
        submit
            .expect_submit_kyc()
            .times(1)
            .returning(move |_, _, _| Err(error()));
        let reply = call(ports_with(submit), post_kyc(&individual())).await;
        assert_error_shape(&reply, status, code);
        match code {
            "kyc_rejected" => {
                assert_eq!(
                    reply.body["details"]["provider_message"],
                    "fields are invalid"
                );
                assert_eq!(
                    reply.body["details"]["fields"],
                    json!({"identifying_information[0].number": "invalid SSN"})
                );
            }
            "invalid_request" => {
                let named: Vec<&String> =
                    reply.body["details"].as_object().unwrap().keys().collect();
                assert!(
                    named == ["signed_agreement_id"] || named == ["customer_type"],
                    "{}",
                    reply.body
                );
            }
            _ => {}
        }
    }
}

#[actix_web::test]
async fn an_id_that_is_no_uuid_is_not_found() {
    let request = TestRequest::post()
        .uri("/customer/not-a-uuid/kyc")
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
        .set_json(individual());
    assert_error_shape(
        &call(Ports::new(), request).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[actix_web::test]
async fn the_masked_submissions_are_listed_and_another_accounts_customer_is_not_found() {
    let mut submit = MockSubmitKyc::new();
    submit.expect_submit_kyc().never();
    submit
        .expect_list_submissions()
        .times(1)
        .withf(|a, c| *a == account() && c.0.to_string() == CUSTOMER)
        .returning(|_, customer_id| {
            let summary = testkit::individual_submission().summary();
            Ok(vec![domain::KycSubmissionRecord {
                id: domain::SubmissionId(Uuid::from_u128(1)),
                customer_id,
                account_id: account(),
                customer_type: CustomerType::Individual,
                submitted_at: crate::support::seed_created_at(),
                summary,
                outcome: domain::SubmissionOutcome::Accepted,
                kyc_status: Some(KycStatus::UnderReview),
                provider_reference: Some("cust_1".into()),
                refused_fields: vec![],
                finished_at: Some(crate::support::seed_created_at()),
            }])
        });
    let request = TestRequest::get()
        .uri(&format!("/customer/{CUSTOMER}/kyc"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())));
    let reply = call(ports_with(submit), request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let record = &reply.body["data"][0];
    assert_eq!(record["outcome"], "accepted");
    assert_eq!(record["kyc_status"], "under_review");
    assert_eq!(record["customer_type"], "individual");
    assert_eq!(
        record["identifying_information"][0],
        json!({"path": "identifying_information[0]", "type": "ssn", "number_last_four": "6789", "image_front": null, "image_back": null})
    );
    assert_eq!(
        record["identifying_information"][1]["image_front"],
        "image/jpeg"
    );
    let text = reply.body.to_string();
    for secret in [
        testkit::SUBMITTED_SSN,
        testkit::SUBMITTED_BIRTH_DATE,
        testkit::SUBMITTED_PASSPORT_NUMBER,
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }

    let mut submit = MockSubmitKyc::new();
    submit
        .expect_list_submissions()
        .returning(|_, _| Err(CustomerKycError::NotFound));
    let request = TestRequest::get()
        .uri(&format!("/customer/{}/kyc", CustomerId(Uuid::from_u128(3))))
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())));
    assert_error_shape(
        &call(ports_with(submit), request).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}
