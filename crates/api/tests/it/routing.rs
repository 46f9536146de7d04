//! Routing: other methods get `405` with `Allow`, unknown paths a JSON `404`.

use actix_web::http::{header, StatusCode};
use actix_web::test;

use crate::support::{assert_error_shape, send, unreachable_use_case};

#[actix_web::test]
async fn other_methods_on_customer_return_405_with_allow() {
    let reply = send(
        unreachable_use_case(),
        test::TestRequest::delete().uri("/customer"),
    )
    .await;
    assert_error_shape(&reply, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(reply.headers.get(header::ALLOW).unwrap(), "POST");
}

#[actix_web::test]
async fn unknown_routes_return_a_json_404() {
    let reply = send(
        unreachable_use_case(),
        test::TestRequest::get().uri("/nope"),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}
