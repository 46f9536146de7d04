//! Route registration: an [`Endpoint`] names a method, a path and a handler, and
//! [`register`] installs a list of them, answering other methods with `405` and `Allow`.

use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::http::Method;
use actix_web::{web, HttpResponse, ResponseError, Route};

use crate::error::ApiError;

/// One route: its method, its path template (actix and OpenAPI spell them alike) and
/// its handler. `configure` registers exactly these, and a test checks that the OpenAPI
/// document describes every one of them.
pub struct Endpoint {
    /// The HTTP method.
    pub method: &'static str,
    /// The path template, e.g. `/customer/{id}`.
    pub path: &'static str,
    /// Builds the route (without its method guard).
    pub route: fn() -> Route,
}

/// Registers `endpoints`, each path answering other methods with `405` and `Allow`.
pub fn register(cfg: &mut web::ServiceConfig, endpoints: &'static [Endpoint]) {
    let mut paths: Vec<&'static str> = endpoints.iter().map(|e| e.path).collect();
    paths.dedup();
    for path in paths {
        let here: Vec<&'static Endpoint> = endpoints.iter().filter(|e| e.path == path).collect();
        let allow = here.iter().map(|e| e.method).collect::<Vec<_>>().join(", ");
        let mut resource = web::resource(path);
        for endpoint in here {
            let method = Method::from_bytes(endpoint.method.as_bytes()).unwrap_or(Method::GET);
            resource = resource.route((endpoint.route)().method(method));
        }
        cfg.service(resource.default_service(web::to(move || method_not_allowed(allow.clone()))));
    }
}

async fn method_not_allowed(allow: String) -> HttpResponse {
    let mut response = ApiError::method_not_allowed().error_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}
