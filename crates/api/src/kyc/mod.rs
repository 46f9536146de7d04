//! KYC by API and the terms of service: the routes, their wire shapes, the upload gate
//! (permits, size and idle limits) and the signed `state` of terms-of-service links.
//!
//! - [`handlers`]: `POST /customer/{id}/kyc`, `POST /customer/{id}/tos-link`,
//!   `GET /tos/complete`.
//! - [`body`], [`person`], [`business`]: the submission's body, read leniently into the
//!   domain's input; [`schemas`]: the document's vocabularies, from the domain's lists.
//! - [`gate`]: the route wrapper and body extractor of the upload.
//! - [`state`]: the HMAC-signed `state`.
//! - [`data`]: the answers and the error mapping.
//! - [`overview`]: `GET /customer/{id}/kyc`: state, links, history and the masked
//!   submissions.
//!
//! `Idempotency-Key` on `POST /customer/{id}/kyc` is honoured by the service-wide
//! idempotency glue (`crate::idempotency`), called by the handler after the gate's permit
//! is taken and the body read, with the body's fingerprint taken before it is parsed.

pub mod body;
pub mod business;
pub mod data;
pub mod examples;
pub mod gate;
pub mod handlers;
pub mod overview;
pub mod person;
pub mod schemas;
pub mod state;

pub use body::{parse_submission, KycSubmissionBody};
pub use gate::{kyc_upload_gate, KycBody, KycUploadLimits};
pub use handlers::{complete_tos, create_tos_link, submit_kyc, TosLinks};
pub use state::{TosStateKey, TOS_STATE_TTL};
