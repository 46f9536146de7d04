//! The OpenAPI document against the routes the app really registers and the body the
//! handler really reads, and the offline reference page.

use std::collections::BTreeSet;

use actix_web::test as web_test;
use actix_web::App;
use api::customers::CreateCustomerBody;
use serde_json::Value;

fn document() -> Value {
    serde_json::from_str(api::openapi::document_json()).unwrap()
}

fn registered(with_sandbox: bool) -> BTreeSet<(String, String)> {
    let sandbox: &[api::Endpoint] = if with_sandbox {
        api::sandbox::ENDPOINTS
    } else {
        &[]
    };
    api::ENDPOINTS
        .iter()
        .chain(sandbox)
        .map(|e| (e.method.to_ascii_lowercase(), e.path.to_owned()))
        .collect()
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert((method.clone(), path.clone()));
        }
    }
    operations
}

#[test]
fn every_registered_route_is_documented_and_nothing_else() {
    for (json, with_sandbox) in [
        (api::openapi::document_json(), false),
        (api::openapi::document_json_with_sandbox(), true),
    ] {
        let doc: Value = serde_json::from_str(json).unwrap();
        let registered = registered(with_sandbox);
        let documented = documented(&doc);
        let missing: Vec<_> = registered.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the document (sandbox: {with_sandbox}): {missing:?}"
        );
        let extra: Vec<_> = documented.difference(&registered).collect();
        assert!(
            extra.is_empty(),
            "documented routes that do not exist (sandbox: {with_sandbox}): {extra:?}"
        );
    }
}

#[actix_web::test]
async fn the_served_document_lists_the_sandbox_pages_exactly_when_they_are_served() {
    for with_sandbox in [false, true] {
        let app = web_test::init_service(App::new().configure(|cfg| {
            api::register(cfg, api::ENDPOINTS);
            if with_sandbox {
                api::sandbox::configure(cfg);
            }
        }))
        .await;
        let json = web_test::call_and_read_body(
            &app,
            web_test::TestRequest::get()
                .uri("/openapi.json")
                .to_request(),
        )
        .await;
        let served: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(documented(&served), registered(with_sandbox));
        assert_eq!(
            served["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == "sandbox"),
            with_sandbox
        );
    }
}

#[test]
fn the_document_is_openapi_3_1_with_bearer_security_on_protected_routes() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for (method, path) in [
        ("post", "/customer"),
        ("get", "/customer/{id}"),
        ("put", "/customer/{id}"),
        ("delete", "/customer/{id}"),
        ("get", "/customers"),
        ("get", "/auth/refresh-token"),
        ("post", "/customer/{id}/kyc"),
        ("get", "/customer/{id}/kyc"),
        ("post", "/customer/{id}/tos-link"),
    ] {
        let operation = &doc["paths"][path][method];
        assert_eq!(
            operation["security"][0]["bearer"],
            serde_json::json!([]),
            "{method} {path}"
        );
        for status in ["401", "500", "503"] {
            assert_eq!(
                operation["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path} {status}"
            );
        }
    }
    assert!(doc["paths"]["/auth/login"]["post"]
        .get("security")
        .is_none());
    assert!(doc["paths"]["/tos/complete"]["get"]
        .get("security")
        .is_none());
    let submit = &doc["paths"]["/customer/{id}/kyc"]["post"]["responses"];
    for status in [
        "202", "400", "401", "404", "408", "409", "413", "415", "422", "500", "502", "503", "504",
    ] {
        assert!(
            submit.get(status).is_some(),
            "POST /customer/{{id}}/kyc lacks {status}"
        );
    }
    assert!(submit["503"]["headers"].get("Retry-After").is_some());
    let create = &doc["paths"]["/customer"]["post"]["responses"];
    for status in [
        "201", "400", "401", "409", "413", "415", "422", "500", "502", "503", "504",
    ] {
        assert!(
            create.get(status).is_some(),
            "POST /customer lacks {status}"
        );
    }
}

#[test]
fn the_documented_request_body_has_exactly_the_accepted_fields_and_the_seed_example() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["CreateCustomerRequest"];
    let properties: BTreeSet<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // The fields the handler reads, as serde sees them (the schema is utoipa's view).
    let accepted: BTreeSet<&str> = api::wire::serde_names::<CreateCustomerBody>()
        .iter()
        .copied()
        .collect();
    assert_eq!(properties, accepted);
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["example"], api::examples::seed_request_example());
    // The example is one the handler accepts.
    CreateCustomerBody::from_json(api::examples::seed_request_example())
        .unwrap()
        .try_into_domain()
        .unwrap();
}

#[test]
fn the_update_body_has_exactly_the_accepted_fields_with_the_create_bodys_rules() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let update = &schemas["UpdateCustomerRequest"];
    let properties = update["properties"].as_object().unwrap();
    let documented: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
    let accepted: BTreeSet<&str> = api::wire::serde_names::<api::customers::UpdateCustomerBody>()
        .iter()
        .copied()
        .collect();
    assert_eq!(documented, accepted);
    assert_eq!(update["additionalProperties"], false);
    assert_eq!(update["minProperties"], 1);
    assert!(update.get("required").is_none(), "{update}");
    for (field, rule) in properties {
        assert_eq!(
            rule, &schemas["CreateCustomerRequest"]["properties"][field],
            "{field} is declared differently for update and create"
        );
    }
    // The example is one the handler accepts.
    api::customers::UpdateCustomerBody::from_json(update["example"].clone())
        .unwrap()
        .try_into_domain()
        .unwrap();
    for (method, statuses) in [
        (
            "put",
            &[
                "200", "400", "404", "409", "412", "413", "415", "422", "502", "504",
            ][..],
        ),
        ("delete", &["200", "400", "404", "412"][..]),
    ] {
        let responses = &doc["paths"]["/customer/{id}"][method]["responses"];
        for status in statuses {
            assert!(responses.get(*status).is_some(), "{method} lacks {status}");
        }
        let if_match = doc["paths"]["/customer/{id}"][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "If-Match")
            .unwrap_or_else(|| panic!("{method} does not document If-Match"));
        assert_eq!(if_match["in"], "header");
    }
    for method in ["get", "put"] {
        assert!(
            doc["paths"]["/customer/{id}"][method]["responses"]["200"]["headers"]
                .get("ETag")
                .is_some(),
            "{method} does not document its ETag"
        );
    }
}

#[test]
fn the_documented_required_fields_are_exactly_those_the_handler_requires() {
    let doc = document();
    let documented: BTreeSet<&str> = doc["components"]["schemas"]["CreateCustomerRequest"]
        ["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field.as_str().unwrap())
        .collect();
    let errors = CreateCustomerBody::from_json(serde_json::json!({}))
        .unwrap()
        .try_into_domain()
        .unwrap_err();
    let required: BTreeSet<&str> = errors
        .errors()
        .iter()
        .filter(|e| e.message == "is required")
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(documented, required);
    assert_eq!(required.len(), 4, "{required:?}");
}

#[actix_web::test]
async fn the_reference_page_and_its_assets_are_served_without_any_external_fetch() {
    let app = web_test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(api::hardening::guard))
            .configure(|cfg| {
                api::register(cfg, api::ENDPOINTS);
            }),
    )
    .await;
    let page =
        web_test::call_service(&app, web_test::TestRequest::get().uri("/docs").to_request()).await;
    let policy = page
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let page = String::from_utf8(web_test::read_body(page).await.to_vec()).unwrap();
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    // Every script is a file, so the policy can forbid inline ones.
    assert_eq!(
        page.matches("<script").count(),
        page.matches("<script src=\"/docs/").count(),
        "{page}"
    );
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    for (asset, content_type, at_least) in [
        ("/docs/swagger-ui-bundle.js", "text/javascript", 10_000),
        ("/docs/swagger-ui.css", "text/css", 10_000),
        ("/docs/swagger-initializer.js", "text/javascript", 50),
    ] {
        assert!(page.contains(asset));
        let response =
            web_test::call_service(&app, web_test::TestRequest::get().uri(asset).to_request())
                .await;
        assert_eq!(response.status(), 200, "{asset}");
        let served = response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(served.starts_with(content_type), "{asset}: {served}");
        assert_eq!(
            response.headers().get("x-content-type-options").unwrap(),
            "nosniff"
        );
        let body = web_test::read_body(response).await;
        assert!(body.len() > at_least, "{asset}");
        if asset.ends_with("initializer.js") {
            assert!(String::from_utf8_lossy(&body).contains("url: \"/openapi.json\""));
        }
    }
    let json = web_test::call_and_read_body(
        &app,
        web_test::TestRequest::get()
            .uri("/openapi.json")
            .to_request(),
    )
    .await;
    let served: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(served, document());
}

#[test]
fn every_creating_operation_documents_its_idempotency_key_and_what_it_answers() {
    let doc = document();
    for (path, created, conflicts, unprocessable) in [
        (
            "/customer",
            "201",
            &["customer_exists", "idempotency_key_in_use"][..],
            &["kyc_rejected", "idempotency_key_reused"][..],
        ),
        (
            "/customer/{id}/kyc",
            "202",
            &["kyc_in_progress", "idempotency_key_in_use"][..],
            &["kyc_rejected", "idempotency_key_reused"][..],
        ),
        (
            "/webhook-endpoints",
            "201",
            &["endpoint_limit_reached", "idempotency_key_in_use"][..],
            &["idempotency_key_reused"][..],
        ),
    ] {
        let operation = &doc["paths"][path]["post"];
        let parameters = operation["parameters"].as_array().unwrap();
        let key = parameters
            .iter()
            .find(|p| p["name"] == "Idempotency-Key")
            .unwrap_or_else(|| panic!("{path}: no Idempotency-Key in {parameters:?}"));
        assert_eq!(key["in"], "header", "{path}");
        assert_eq!(key["required"], false, "{path}");
        assert_eq!(
            key["schema"]["maxLength"], 257,
            "{path}: 255 characters, quoted"
        );
        assert_eq!(key["schema"]["minLength"], 1, "{path}");
        assert!(
            key["description"]
                .as_str()
                .unwrap()
                .contains("IDEMPOTENCY_KEY_REQUIRED"),
            "{path}"
        );
        let responses = &operation["responses"];
        for (status, codes) in [
            ("409", conflicts),
            ("422", unprocessable),
            ("400", &["invalid_request", "idempotency_key_required"][..]),
        ] {
            let description = responses[status]["description"].as_str().unwrap();
            for code in codes {
                assert!(description.contains(code), "{path} {status}: {description}");
            }
        }
        assert!(
            responses[created]["headers"]
                .get("Idempotent-Replayed")
                .is_some(),
            "{path}"
        );
        assert!(
            responses["409"]["headers"].get("Retry-After").is_some(),
            "{path}"
        );
    }
}

/// The documented properties and required fields of a submission schema against what the
/// handler reads and requires.
fn check_submission_schema<T: serde::de::DeserializeOwned>(name: &str, empty: Value) {
    let doc = document();
    let schema = &doc["components"]["schemas"][name];
    let properties: BTreeSet<&str> = schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{name} is not documented"))
        .keys()
        .map(String::as_str)
        .collect();
    let accepted: BTreeSet<&str> = api::wire::serde_names::<T>().iter().copied().collect();
    assert_eq!(properties, accepted, "{name}");
    assert_eq!(schema["additionalProperties"], false, "{name}");
    let documented: BTreeSet<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field.as_str().unwrap())
        .filter(|field| *field != "customer_type")
        .collect();
    let errors = api::kyc::parse_submission(empty, chrono::Utc::now().date_naive()).unwrap_err();
    let required: BTreeSet<&str> = errors
        .errors()
        .iter()
        .filter(|e| e.message == "is required")
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(documented, required, "{name}");
}

#[test]
fn the_documented_submission_bodies_are_the_accepted_and_required_fields() {
    check_submission_schema::<api::kyc::person::IndividualBody>(
        "IndividualKycRequest",
        serde_json::json!({}),
    );
    check_submission_schema::<api::kyc::business::BusinessBody>(
        "BusinessKycRequest",
        serde_json::json!({"customer_type": "business"}),
    );
    let doc = document();
    let one_of = doc["components"]["schemas"]["KycSubmissionRequest"]["oneOf"]
        .as_array()
        .unwrap();
    assert_eq!(one_of.len(), 2);
    // The documented example is one the handler accepts.
    let example = doc["components"]["schemas"]["IndividualKycRequest"]["example"].clone();
    assert_eq!(example, api::kyc::examples::individual_example());
    api::kyc::parse_submission(example, chrono::Utc::now().date_naive()).unwrap();
}
