//! A customer's KYC history: one entry per report that changed, or would have changed,
//! where the verification stands.

use chrono::{DateTime, Utc};

use crate::{CustomerId, KycSource, KycStatus, TosStatus};

/// One report in a customer's KYC history. Entries carry no personal data, so they may
/// outlive an erased customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycHistoryEntry {
    /// Whose history.
    pub customer_id: CustomerId,
    /// The KYC status when the report arrived.
    pub from: KycStatus,
    /// The KYC status the report gave (the current one when it gave none).
    pub to: KycStatus,
    /// The terms-of-service status the report gave (the current one when it gave none).
    pub tos_status: TosStatus,
    /// Where the report came from.
    pub source: KycSource,
    /// The provider's event id, when the report was an event.
    pub event_id: Option<String>,
    /// The moment the report describes (an event's creation, a poll's fetch).
    pub at: DateTime<Utc>,
    /// When the service recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Whether it changed the current state: `false` for a report older than the one
    /// the current state came from, kept for the record only.
    pub applied: bool,
}
