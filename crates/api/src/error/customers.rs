//! The customer use cases' errors: the answers they share, and the mapping of the change
//! and erasure errors, each variant to one status.

use ports::{DeleteCustomerError, UpdateCustomerError};

use actix_web::http::StatusCode;

use super::{log_chain, ApiError};

impl ApiError {
    /// `412 precondition_failed`: `If-Match` names a version the customer no longer has.
    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "The customer has changed since the version named in If-Match",
        )
    }

    /// `410 customer_deleted`: a retry of a request whose customer has since been erased.
    pub fn customer_deleted() -> Self {
        Self::new(
            StatusCode::GONE,
            "customer_deleted",
            "The customer this request created or changed has been deleted",
        )
    }

    /// `409 email_locked`: the e-mail address cannot change once KYC has started.
    pub fn email_locked() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "email_locked",
            "The e-mail address cannot change once the customer's KYC has started",
        )
    }

    /// `409 customer_exists`.
    pub(super) fn customer_exists() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "customer_exists",
            "A customer with this email already exists",
        )
    }

    /// `422 kyc_rejected`, quoting the provider.
    pub(super) fn kyc_rejected(message: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "kyc_rejected",
            "The KYC provider rejected the customer",
        )
        .with_details(serde_json::json!({ "provider_message": message }))
    }

    /// `504 kyc_provider_timeout`.
    pub(super) fn kyc_timeout() -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "kyc_provider_timeout",
            "The KYC provider did not answer in time",
        )
    }

    /// `502 kyc_provider_unavailable`.
    pub(super) fn kyc_unavailable() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "kyc_provider_unavailable",
            "The KYC provider is unavailable",
        )
    }
}

impl From<UpdateCustomerError> for ApiError {
    fn from(e: UpdateCustomerError) -> Self {
        match &e {
            UpdateCustomerError::NotFound => Self::not_found(),
            UpdateCustomerError::PreconditionFailed => Self::precondition_failed(),
            UpdateCustomerError::Duplicate => Self::customer_exists(),
            UpdateCustomerError::EmailLocked => Self::email_locked(),
            UpdateCustomerError::KycRejected { message } => Self::kyc_rejected(message),
            UpdateCustomerError::KycTimeout => {
                log_chain("KYC provider timed out", &e);
                Self::kyc_timeout()
            }
            UpdateCustomerError::KycUnavailable(_) => {
                log_chain("KYC provider unavailable", &e);
                Self::kyc_unavailable()
            }
            UpdateCustomerError::Contended => {
                tracing::warn!("a customer kept changing while being updated");
                Self::service_unavailable()
            }
            UpdateCustomerError::StoreUnavailable(_) => {
                log_chain("customer store unavailable", &e);
                Self::service_unavailable()
            }
            UpdateCustomerError::Unexpected(_) => {
                log_chain("unexpected error while updating a customer", &e);
                Self::internal()
            }
        }
    }
}

impl From<DeleteCustomerError> for ApiError {
    fn from(e: DeleteCustomerError) -> Self {
        match &e {
            DeleteCustomerError::NotFound => Self::not_found(),
            DeleteCustomerError::PreconditionFailed => Self::precondition_failed(),
            DeleteCustomerError::Contended => {
                tracing::warn!("a customer kept changing while being erased");
                Self::service_unavailable()
            }
            DeleteCustomerError::StoreUnavailable(_) => {
                log_chain("customer store unavailable", &e);
                Self::service_unavailable()
            }
            DeleteCustomerError::Unexpected(_) => {
                log_chain("unexpected error while erasing a customer", &e);
                Self::internal()
            }
        }
    }
}
