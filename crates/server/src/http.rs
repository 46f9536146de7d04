//! The HTTP server: what every worker's `App` is given ([`AppState`]) and how it is built —
//! every route, the load limits and the middleware, in the order they must run.

use std::net::TcpListener;

use actix_web::{middleware, web, App, HttpServer};
use api::kyc::{KycUploadLimits, TosLinks};
use api::sessions::LoginThrottle;
use api::JwtKeys;
use ports::{
    AccountStatus, Authenticate, CreateCustomer, DeleteCustomer, Idempotency, KycLifecycle,
    ManageDeliveries, ManageWebhookEndpoints, ProviderEventVerifier, ReadCustomers, ReadKyc,
    StoreHealth, SubmitKyc, TermsOfService, UpdateCustomer,
};

use crate::config::HttpSettings;

/// What every HTTP worker's `App` is given.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) limits: web::Data<api::limits::Limits>,
    pub(crate) metrics: web::Data<api::ops::Metrics>,
    pub(crate) health: web::Data<dyn StoreHealth>,
    pub(crate) keys: web::Data<JwtKeys>,
    pub(crate) create: web::Data<dyn CreateCustomer>,
    pub(crate) read: web::Data<dyn ReadCustomers>,
    pub(crate) update: web::Data<dyn UpdateCustomer>,
    pub(crate) delete: web::Data<dyn DeleteCustomer>,
    pub(crate) authenticate: web::Data<dyn Authenticate>,
    pub(crate) status: web::Data<dyn AccountStatus>,
    pub(crate) endpoints: web::Data<dyn ManageWebhookEndpoints>,
    pub(crate) deliveries: web::Data<dyn ManageDeliveries>,
    pub(crate) throttle: web::Data<LoginThrottle>,
    pub(crate) idempotency: web::Data<Idempotency>,
    pub(crate) read_kyc: web::Data<dyn ReadKyc>,
    pub(crate) lifecycle: web::Data<dyn KycLifecycle>,
    /// Bridge's webhooks are received only when a public key is configured.
    pub(crate) webhooks: Option<web::Data<dyn ProviderEventVerifier>>,
    pub(crate) submit: web::Data<dyn SubmitKyc>,
    pub(crate) terms: web::Data<dyn TermsOfService>,
    pub(crate) upload_limits: web::Data<KycUploadLimits>,
    pub(crate) tos_links: web::Data<TosLinks>,
    /// The sandbox provider's pages are served only when it is the provider.
    pub(crate) sandbox_routes: bool,
}

/// The HTTP server on `listener`, with every route, the load limits and the
/// observability middleware (outermost, so that refusals are logged and counted too).
pub(crate) fn http_server(
    settings: &HttpSettings,
    listener: TcpListener,
    state: AppState,
) -> anyhow::Result<actix_web::dev::Server> {
    let server = HttpServer::new(move || {
        let state = state.clone();
        App::new()
            // Innermost first: admission (a slot only once the body has arrived), the body's
            // idle rule, the security headers (on refusals too), then observability.
            .wrap(middleware::from_fn(api::limits::admit))
            .wrap(middleware::from_fn(api::limits::body_idle_timeout))
            .wrap(middleware::from_fn(api::hardening::guard))
            .wrap(middleware::from_fn(api::ops::observe))
            .app_data(state.limits)
            .app_data(state.metrics)
            .app_data(state.health)
            .app_data(state.keys)
            .app_data(state.create)
            .app_data(state.read)
            .app_data(state.update)
            .app_data(state.delete)
            .app_data(state.authenticate)
            .app_data(state.status)
            .app_data(state.endpoints)
            .app_data(state.deliveries)
            .app_data(state.throttle)
            .app_data(state.idempotency)
            .app_data(state.read_kyc)
            .app_data(state.lifecycle)
            .configure(|cfg| {
                if let Some(webhooks) = state.webhooks {
                    cfg.app_data(webhooks);
                }
            })
            .app_data(state.submit)
            .app_data(state.terms)
            .app_data(state.upload_limits)
            .app_data(state.tos_links)
            .configure(api::configure)
            .configure(|cfg| {
                if state.sandbox_routes {
                    api::sandbox::configure(cfg);
                }
            })
            .default_service(web::to(api::not_found))
    })
    .worker_max_blocking_threads(usize::try_from(settings.blocking_threads)?)
    .shutdown_timeout(settings.shutdown_grace_seconds)
    .listen(listener)?
    .workers(http_workers(settings.http_workers));
    Ok(server.run())
}

/// The HTTP workers: `configured`, or (0) one for every two cores, at least one.
///
/// An HTTP worker only reads requests and writes answers (registrations run on the
/// application's runtime, database calls on blocking threads); one answers tens of thousands
/// of requests a second. More of them only contend for the cores with the work they hand
/// off and, when it runs on the same machine, with the database: on the README's 2-core
/// machine under overload, one worker instead of two cut the refusals' p99 by a third with
/// the same rate of admitted registrations.
fn http_workers(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (cores / 2).max(1)
}
