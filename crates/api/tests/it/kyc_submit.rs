//! `POST /customer/{id}/kyc` and `GET /customer/{id}/kyc` over the real routes, gate,
//! extractors and error mapping, with the use case mocked: every bad field named by its
//! path (and nothing sent), and each use-case outcome as one status.

use actix_web::http::{header, StatusCode};
use actix_web::test::TestRequest;
use domain::{CustomerId, CustomerType, KycStatus, KycSubmission};
use ports::{KycOverview, MockReadKyc, MockSubmitKyc, SubmitKycError};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::kyc_cases::{bad_cases, business, individual, with};
use crate::support::{account, assert_error_shape, call, customer_from, token, Ports};

pub const CUSTOMER: &str = "21fe7601-3be3-4d15-94c0-a94b15d8b872";

pub fn post_kyc(body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/customer/{CUSTOMER}/kyc"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
        .set_json(body)
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

/// A use-case error and the status and code it is answered with.
type Outcome = (fn() -> SubmitKycError, StatusCode, &'static str);

#[actix_web::test]
async fn each_outcome_of_the_use_case_has_its_status() {
    let cases: Vec<Outcome> = vec![
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
    // `GET /customer/{id}/kyc` shows the submissions beside where the verification stands.
    let mut read_kyc = MockReadKyc::new();
    read_kyc.expect_kyc_overview().times(1).returning(|_, _| {
        Ok(Some(KycOverview::new(
            customer_from(crate::support::seed_body_input()),
            vec![],
        )))
    });
    let request = TestRequest::get()
        .uri(&format!("/customer/{CUSTOMER}/kyc"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())));
    let reply = call(
        Ports {
            read_kyc,
            ..ports_with(submit)
        },
        request,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["data"]["kyc_status"], "approved");
    let record = &reply.body["data"]["submissions"][0];
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

    // Another account's customer is no customer: 404, and its submissions are not read.
    let mut submit = MockSubmitKyc::new();
    submit.expect_list_submissions().never();
    let mut read_kyc = MockReadKyc::new();
    read_kyc.expect_kyc_overview().returning(|_, _| Ok(None));
    let request = TestRequest::get()
        .uri(&format!("/customer/{}/kyc", CustomerId(Uuid::from_u128(3))))
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())));
    assert_error_shape(
        &call(
            Ports {
                read_kyc,
                ..ports_with(submit)
            },
            request,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}
