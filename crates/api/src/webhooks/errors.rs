//! The webhook use cases' errors as HTTP answers: each variant one status and one code.

use actix_web::http::StatusCode;
use ports::{DeliveryError, EndpointError};

use crate::error::{log_chain, ApiError};

impl From<EndpointError> for ApiError {
    fn from(e: EndpointError) -> Self {
        match &e {
            EndpointError::NotFound => Self::not_found(),
            EndpointError::UrlRefused(reason) => Self::invalid_parameter("url", reason),
            EndpointError::LimitReached { limit } => Self::new(
                StatusCode::CONFLICT,
                "endpoint_limit_reached",
                format!("An account may have at most {limit} webhook endpoints"),
            ),
            EndpointError::StoreUnavailable(_) => {
                log_chain("webhook store unavailable", &e);
                Self::service_unavailable()
            }
            EndpointError::Unexpected(_) => {
                log_chain("unexpected error in a webhook endpoint operation", &e);
                Self::internal()
            }
        }
    }
}

impl From<DeliveryError> for ApiError {
    fn from(e: DeliveryError) -> Self {
        match &e {
            DeliveryError::NotFound => Self::not_found(),
            DeliveryError::UnknownCursor => Self::invalid_parameter(
                "starting_after",
                "does not name a delivery of this endpoint",
            ),
            DeliveryError::InFlight => Self::new(
                StatusCode::CONFLICT,
                "delivery_in_progress",
                "The delivery is being attempted right now; try again when it is done",
            ),
            DeliveryError::EndpointDisabled => Self::new(
                StatusCode::CONFLICT,
                "endpoint_disabled",
                "The endpoint is disabled; enable it before retrying its deliveries",
            ),
            DeliveryError::StoreUnavailable(_) => {
                log_chain("webhook store unavailable", &e);
                Self::service_unavailable()
            }
            DeliveryError::Unexpected(_) => {
                log_chain("unexpected error in a webhook delivery operation", &e);
                Self::internal()
            }
        }
    }
}
