//! The inbound port for events a KYC provider pushes to us: turns a delivery (its signature
//! header, its raw body, the time it arrived) into the one shape every KYC report takes, or
//! says why it must not be applied. The provider's adapter implements it (signature scheme,
//! envelope, status vocabulary); the HTTP handler only reads the request and maps the answer.

use chrono::{DateTime, Utc};
use domain::KycUpdate;

/// Why a delivery is not applied. Each variant is answered differently, so that the
/// provider retries exactly what a retry can mend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventRejection {
    /// The signature header is missing or malformed, or the signature does not verify under
    /// any configured key. `reason` is a fixed word for the log, never the header itself.
    #[error("the event's signature is invalid ({reason})")]
    InvalidSignature {
        /// Which check failed.
        reason: &'static str,
    },
    /// The signature's timestamp is too far in the past or the future; the provider signs
    /// every retry afresh, so a retry can pass.
    #[error("the event's timestamp is outside the accepted window")]
    Stale,
    /// The signed body is not JSON.
    #[error("the event body is not JSON")]
    NotJson,
    /// The body is JSON but not an event this adapter can read (a required field missing or
    /// of the wrong type). `reason` names the field, never its value.
    #[error("the event is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// A well-formed event of a kind the KYC lifecycle does not follow (another category,
    /// a deletion): accepted and dropped.
    #[error("the event is not about KYC ({kind})")]
    Ignored {
        /// The provider's name for the kind of event, for the log.
        kind: String,
    },
    /// A status value the adapter's mapping does not know: refused (so the provider
    /// retries once the mapping knows it), never guessed.
    #[error("the event carries an unknown {field} value {value:?}")]
    UnknownValue {
        /// Which field.
        field: &'static str,
        /// The raw value (cut short), for the log.
        value: String,
    },
}

impl EventRejection {
    /// A short stable word for metrics and logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InvalidSignature { .. } => "invalid_signature",
            Self::Stale => "stale_event",
            Self::NotJson => "not_json",
            Self::Malformed { .. } => "malformed",
            Self::Ignored { .. } => "ignored",
            Self::UnknownValue { .. } => "unknown_value",
        }
    }
}

/// Verifies and reads a provider's event deliveries.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait ProviderEventVerifier: Send + Sync + 'static {
    /// The provider's name, as customers store it (`bridge`).
    fn provider(&self) -> &'static str;

    /// Checks `signature` (the signature header's value, if any) over the raw `body` as
    /// received at `now`, then reads the event: the report it makes, or why it is refused.
    #[expect(
        clippy::needless_lifetimes,
        reason = "mockall cannot mock a lifetime elided inside an Option"
    )]
    fn verify<'a>(
        &self,
        signature: Option<&'a str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<KycUpdate, EventRejection>;
}
