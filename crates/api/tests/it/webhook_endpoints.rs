//! `/webhook-endpoints`, over the real routes, extractors and error mapping, with mocked
//! use cases (the harness is `webhook_support`).

use actix_web::http::StatusCode;
use actix_web::test;
use domain::{
    EndpointDescription, EventFilter, SigningSecret, UrlRules, WebhookEndpoint, WebhookEventType,
    WebhookUrl,
};
use ports::{CreatedEndpoint, EndpointError, MockManageDeliveries};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{account, assert_error_shape, assert_unauthorized};
use crate::webhook_support::{authorised, call, endpoint_id, endpoints, path};

fn stored_endpoint() -> WebhookEndpoint {
    WebhookEndpoint {
        id: endpoint_id(),
        account_id: account(),
        url: WebhookUrl::parse("https://hooks.example.com/in", UrlRules::default()).unwrap(),
        description: EndpointDescription::parse("orders").unwrap(),
        filter: EventFilter::new([WebhookEventType::CustomerCreated]),
        enabled: true,
        created_at: "2026-01-02T03:04:05.678Z".parse().unwrap(),
        updated_at: None,
    }
}

fn secret() -> SigningSecret {
    SigningSecret::from_key(&[5; 32])
}

#[actix_web::test]
async fn registering_answers_201_with_the_endpoint_and_its_secret() {
    let mut use_case = endpoints(false);
    use_case
        .expect_create_endpoint()
        .times(1)
        .withf(|acc, input| {
            *acc == account()
                && input.url.as_str() == "https://hooks.example.com/in"
                && input.filter == EventFilter::new([WebhookEventType::CustomerCreated])
                && input.description.as_str() == "orders"
        })
        .returning(|_, _| {
            Ok(CreatedEndpoint {
                endpoint: stored_endpoint(),
                secret: secret(),
            })
        });
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::post().uri("/webhook-endpoints")).set_json(json!({
            "url": "https://hooks.example.com/in",
            "events": ["customer.created"],
            "description": "orders"
        })),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({
            "status": "success",
            "status_code": 201,
            "message": "Webhook endpoint created",
            "data": {
                "id": endpoint_id().0.to_string(),
                "url": "https://hooks.example.com/in",
                "description": "orders",
                "events": ["customer.created"],
                "enabled": true,
                "created_at": "2026-01-02T03:04:05.678Z",
                "updated_at": null,
                "secret": secret().expose(),
            }
        })
    );
}

#[actix_web::test]
async fn every_bad_field_of_a_registration_is_named_and_nothing_is_registered() {
    let mut use_case = endpoints(false);
    use_case.expect_create_endpoint().never();
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::post().uri("/webhook-endpoints")).set_json(json!({
            "url": "http://hooks.example.com/in",
            "events": ["customer.created", "everything"],
            "enabled": false
        })),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let details = reply.body["details"].as_object().unwrap();
    let mut named: Vec<&str> = details.keys().map(String::as_str).collect();
    named.sort_unstable();
    assert_eq!(named, ["enabled", "events[1]", "url"]);
    assert_eq!(details["url"], "must be an https URL");
}

#[actix_web::test]
async fn plain_http_is_accepted_where_the_deployment_allows_it() {
    let mut use_case = endpoints(true);
    use_case
        .expect_create_endpoint()
        .times(1)
        .withf(|_, input| input.url.as_str() == "http://localhost:9000/in")
        .returning(|_, _| {
            Ok(CreatedEndpoint {
                endpoint: stored_endpoint(),
                secret: secret(),
            })
        });
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::post().uri("/webhook-endpoints"))
            .set_json(json!({"url": "http://localhost:9000/in"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

#[actix_web::test]
async fn a_refused_destination_is_400_naming_url_and_the_eleventh_endpoint_409() {
    for (error, status, code) in [
        (
            (|| EndpointError::UrlRefused("the host is or resolves to a non-public address".into()))
                as fn() -> EndpointError,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            || EndpointError::LimitReached { limit: 10 },
            StatusCode::CONFLICT,
            "endpoint_limit_reached",
        ),
        (
            || EndpointError::StoreUnavailable(anyhow::anyhow!("pool timed out")),
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        ),
        (
            || EndpointError::Unexpected(anyhow::anyhow!("boom")),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        ),
    ] {
        let mut use_case = endpoints(false);
        use_case
            .expect_create_endpoint()
            .times(1)
            .returning(move |_, _| Err(error()));
        let reply = call(
            use_case,
            MockManageDeliveries::new(),
            authorised(test::TestRequest::post().uri("/webhook-endpoints"))
                .set_json(json!({"url": "https://internal.example/"})),
        )
        .await;
        assert_error_shape(&reply, status, code);
        if status == StatusCode::BAD_REQUEST {
            assert_eq!(
                reply.body["details"],
                json!({"url": "the host is or resolves to a non-public address"})
            );
        }
        if status == StatusCode::CONFLICT {
            assert_eq!(
                reply.body["error"],
                "An account may have at most 10 webhook endpoints"
            );
        }
    }
}

#[actix_web::test]
async fn reads_never_show_the_secret_and_another_accounts_endpoint_is_404() {
    let mut use_case = endpoints(false);
    use_case
        .expect_get_endpoint()
        .withf(|acc, id| *acc == account() && *id == endpoint_id())
        .returning(|_, _| Ok(stored_endpoint()));
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::get().uri(&path(""))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["data"]["id"], endpoint_id().0.to_string());
    assert!(reply.body["data"].get("secret").is_none(), "{}", reply.body);

    let mut use_case = endpoints(false);
    use_case
        .expect_list_endpoints()
        .returning(|_| Ok(vec![stored_endpoint()]));
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::get().uri("/webhook-endpoints")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["data"].as_array().unwrap().len(), 1);
    assert!(reply.body["data"][0].get("secret").is_none());

    let mut use_case = endpoints(false);
    use_case
        .expect_get_endpoint()
        .returning(|_, _| Err(EndpointError::NotFound));
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::get().uri(&path(""))),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
    // A malformed id reaches no use case.
    let reply = call(
        endpoints(false),
        MockManageDeliveries::new(),
        authorised(test::TestRequest::get().uri("/webhook-endpoints/nope")),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn a_change_passes_only_what_the_body_names() {
    let mut use_case = endpoints(false);
    use_case
        .expect_update_endpoint()
        .times(1)
        .withf(|_, id, patch| {
            *id == endpoint_id()
                && patch.enabled == Some(false)
                && patch.url.is_none()
                && patch.filter == Some(EventFilter::all())
        })
        .returning(|_, _, _| {
            Ok(WebhookEndpoint {
                enabled: false,
                filter: EventFilter::all(),
                ..stored_endpoint()
            })
        });
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::patch().uri(&path("")))
            .set_json(json!({"enabled": false, "events": []})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["data"]["enabled"], false);
    assert_eq!(reply.body["data"]["events"], json!([]));

    let mut use_case = endpoints(false);
    use_case.expect_update_endpoint().never();
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::patch().uri(&path("")))
            .set_json(json!({"url": null, "enabled": 1})),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        reply.body["details"],
        json!({"url": "must not be null", "enabled": "must be a boolean"})
    );
}

#[actix_web::test]
async fn deletion_and_rotation_answer_in_the_envelope() {
    let mut use_case = endpoints(false);
    use_case
        .expect_delete_endpoint()
        .times(1)
        .returning(|_, _| Ok(()));
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::delete().uri(&path(""))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body["data"],
        json!({"id": endpoint_id().0.to_string(), "deleted": true})
    );

    let mut use_case = endpoints(false);
    use_case.expect_rotate_secret().times(1).returning(|_, _| {
        Ok(CreatedEndpoint {
            endpoint: stored_endpoint(),
            secret: secret(),
        })
    });
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::post().uri(&path("/rotate-secret"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["data"]["secret"], secret().expose());

    let mut use_case = endpoints(false);
    use_case
        .expect_rotate_secret()
        .returning(|_, _| Err(EndpointError::NotFound));
    let reply = call(
        use_case,
        MockManageDeliveries::new(),
        authorised(test::TestRequest::post().uri(&path("/rotate-secret"))),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn every_webhook_route_wants_a_token() {
    let deliveries = path("/deliveries");
    let retry = path(&format!("/deliveries/{}/retry", Uuid::new_v4()));
    let requests = [
        test::TestRequest::post()
            .uri("/webhook-endpoints")
            .set_json(json!({"url": "https://h.example/"})),
        test::TestRequest::get().uri("/webhook-endpoints"),
        test::TestRequest::get().uri(&path("")),
        test::TestRequest::patch()
            .uri(&path(""))
            .set_json(json!({"enabled": false})),
        test::TestRequest::delete().uri(&path("")),
        test::TestRequest::post().uri(&path("/rotate-secret")),
        test::TestRequest::get().uri(&deliveries),
        test::TestRequest::post().uri(&retry),
    ];
    for request in requests {
        let reply = call(endpoints(false), MockManageDeliveries::new(), request).await;
        assert_unauthorized(&reply);
    }
}

#[actix_web::test]
async fn the_document_describes_every_webhook_route_with_bearer_security_and_its_bodies_exactly() {
    let doc: Value = serde_json::from_str(api::openapi::document_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths
        .iter()
        .filter(|(p, _)| p.starts_with("/webhook-endpoints"))
    {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            assert_eq!(operation["tags"], json!(["webhooks"]), "{method} {path}");
            assert_eq!(
                operation["security"][0]["bearer"],
                json!([]),
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
    }
    assert_eq!(operations, 8);
    let properties = |schema: &str| -> Vec<String> {
        let mut names: Vec<String> = doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    };
    let accepted = |names: &[&str]| -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(
        properties("CreateWebhookEndpointRequest"),
        accepted(api::wire::serde_names::<api::webhooks::CreateEndpointBody>())
    );
    assert_eq!(
        properties("UpdateWebhookEndpointRequest"),
        accepted(api::wire::serde_names::<api::webhooks::UpdateEndpointBody>())
    );
    assert_eq!(
        doc["components"]["schemas"]["CreateWebhookEndpointRequest"]["required"],
        json!(["url"])
    );
    assert!(doc["components"]["schemas"]["UpdateWebhookEndpointRequest"]
        .get("required")
        .is_none());
    let create = &paths["/webhook-endpoints"]["post"]["responses"];
    for status in ["201", "400", "409", "413", "415"] {
        assert!(create.get(status).is_some(), "POST lacks {status}");
    }
}
