//! The KYC lifecycle: every report of where a customer's verification stands — a signed
//! provider event, a poll, a sandbox page — takes one path, [`KycLifecycle::apply`]. The
//! provider's answer to a KYC submission and a terms-of-service acceptance are decided by
//! the same `decide` (history, `customer.kyc.updated`), and written by their own use
//! case with the submission or the acceptance (see `kyc_submissions`). It finds
//! the customers the report is about, decides with the domain's ordering what changes, and
//! hands the store one unit of work per report ([`KycReportRecord`]): the exactly-once
//! receipt, each customer's new state under a compare-and-set, the history, and the outgoing
//! events. A lost compare-and-set is re-read and decided again, so racing reports end as if
//! they had come in order.
//!
//! Around it: the poller that re-reads unfinished verifications from the provider
//! ([`KycSyncWorker`]), the retention of exactly-once receipts ([`ReceiptRetention`]), and
//! a pump from a channel of reports into `apply` ([`drain_updates`]).

mod decide;
#[cfg(test)]
pub(crate) mod fixtures;
mod retention;
mod service;
mod sync;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    AccountId, Customer, CustomerId, KycHistoryEntry, KycOrder, KycState, KycUpdate, ProviderRef,
};

use crate::{NewEvent, ReadCustomersError, RepositoryError};

pub(crate) use decide::{decide, Decision};
pub use retention::{drain_updates, ReceiptRetention};
pub use service::KycLifecycleService;
pub use sync::{KycSyncWorker, NoSyncObserver, SyncObserver, SyncRound, SyncSettings};

/// The sandbox provider's name, as its customers store it.
pub const SANDBOX_PROVIDER: &str = "sandbox";

/// The id of the KYC link the sandbox provider issues under page id `page` (the UUID in
/// its `/sandbox/kyc/{page}` and `/sandbox/tos/{page}` links): the one spelling shared by
/// the provider that issues links and the pages that act on them.
pub fn sandbox_link_id(page: uuid::Uuid) -> String {
    format!("sandbox_kyc_link_{}", page.simple())
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplyOutcome {
    /// It changed where a customer's verification stands.
    Applied,
    /// It was the newest report but said nothing new (or nothing at all).
    Unchanged,
    /// Its event id was seen before: nothing done.
    Duplicate,
    /// It is older than the report the current state came from: kept in the history only.
    Stale,
    /// It is about no customer of ours: recorded (events), logged, dropped.
    Unmatched,
}

impl ApplyOutcome {
    /// The spelling of logs, metrics and the stored receipt.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Unchanged => "unchanged",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Unmatched => "unmatched",
        }
    }
}

/// Why a report could not be handled; nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The store is unreachable or overloaded.
    #[error("the customer store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Other writers kept changing the customer while the report was being decided.
    #[error("the customer kept changing; the report was not applied")]
    Contention,
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for ApplyError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
            // A duplicate or a lost race cannot happen here: report it, never guess.
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// The record that an event was received, so that a redelivery is recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventReceipt {
    /// The provider (`bridge`, `sandbox`): event ids are unique per provider.
    pub provider: String,
    /// The provider's event id.
    pub event_id: String,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// What became of it.
    pub outcome: ApplyOutcome,
}

/// One customer's new KYC state, written only if the customer is still as it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct KycChange {
    /// The version the decision was made on.
    pub expected_version: i64,
    /// The ordering watermark the decision was made on.
    pub expected_as_of: KycOrder,
    /// The customer after the change: the store writes its KYC state, watermark
    /// (`kyc_as_of`), provider customer id, `version` and `updated_at`.
    pub customer: Customer,
}

/// Everything one report writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct KycReportRecord {
    /// The exactly-once receipt, for reports with an event id.
    pub receipt: Option<EventReceipt>,
    /// The customers' new states.
    pub changes: Vec<KycChange>,
    /// The history entries.
    pub history: Vec<KycHistoryEntry>,
    /// The outgoing events (`customer.kyc.updated`, `…approved`, `…rejected`).
    pub events: Vec<NewEvent>,
}

impl KycReportRecord {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.receipt.is_none()
            && self.changes.is_empty()
            && self.history.is_empty()
            && self.events.is_empty()
    }
}

/// How writing a [`KycReportRecord`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// All of it was written.
    Written,
    /// A customer changed since it was read: nothing was written; read and decide again.
    VersionConflict,
    /// The receipt's event was received before: nothing was written.
    DuplicateEvent,
}

/// Where the KYC lifecycle's state is kept. Unscoped (reports act for no account).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait KycReports: Send + Sync + 'static {
    /// The customers of `provider` that `target` names: usually one, several when the
    /// provider gave one verification to customers of several accounts.
    async fn customers_matching(
        &self,
        provider: &str,
        target: &ProviderRef,
    ) -> Result<Vec<Customer>, RepositoryError>;

    /// Writes `record` in one transaction: the receipt first (a repeat is
    /// [`Recorded::DuplicateEvent`]), then each change under its compare-and-set on the
    /// customer's version and watermark (a miss is [`Recorded::VersionConflict`]), then
    /// the history and the events. Nothing is written unless all of it is.
    async fn record(&self, record: &KycReportRecord) -> Result<Recorded, RepositoryError>;

    /// The customer's KYC history, oldest first (by the moment each report describes, then
    /// by when it was recorded).
    async fn history(
        &self,
        customer_id: CustomerId,
    ) -> Result<Vec<KycHistoryEntry>, RepositoryError>;

    /// Deletes the receipts of events received before `before`; returns how many.
    async fn purge_receipts(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError>;
}

/// A customer due for a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncTarget {
    /// Our customer.
    pub customer_id: CustomerId,
    /// How the provider knows the verification (the KYC link when there is one).
    pub target: ProviderRef,
}

/// Which customers to lease for a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncClaim {
    /// Customers of this provider.
    pub provider: String,
    /// Not synced (or, never synced, not created) within this long.
    pub interval: Duration,
    /// At most this many.
    pub limit: u32,
    /// Leased to the claimer for this long: no other claimer gets them meanwhile.
    pub lease: Duration,
}

/// The queue of customers whose verification has not reached an end, for polling.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait KycSyncQueue: Send + Sync + 'static {
    /// Leases up to `claim.limit` customers whose status is not final and whose last sync
    /// is older than `claim.interval`, oldest sync first; concurrent claimers (other
    /// instances) never get the same customer while its lease lasts.
    async fn claim_due(&self, claim: &SyncClaim) -> Result<Vec<SyncTarget>, RepositoryError>;

    /// Records a successful sync at `at` and ends the lease. Not a change of the customer.
    async fn mark_synced(
        &self,
        customer_id: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;
}

/// The use case every report goes through.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait KycLifecycle: Send + Sync + 'static {
    /// Applies a report about customers of `provider` (`bridge`, `sandbox`).
    async fn apply(&self, provider: &str, update: KycUpdate) -> Result<ApplyOutcome, ApplyError>;

    /// Where the verification `target` names stands, if it is one of ours (the first
    /// customer's, when several share it).
    async fn state_of(
        &self,
        provider: &str,
        target: &ProviderRef,
    ) -> Result<Option<KycState>, ApplyError>;
}

/// A customer's KYC as `GET /customer/{id}/kyc` shows it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KycOverview {
    /// The customer (its links, state, sync time).
    pub customer: Customer,
    /// Its history, oldest first.
    pub history: Vec<KycHistoryEntry>,
}

impl KycOverview {
    /// The overview of `customer` with `history`.
    pub fn new(customer: Customer, history: Vec<KycHistoryEntry>) -> Self {
        Self { customer, history }
    }
}

/// The read side of the lifecycle, scoped to one account.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ReadKyc: Send + Sync + 'static {
    /// The account's customer's KYC overview, if the account has that customer.
    async fn kyc_overview(
        &self,
        account_id: AccountId,
        id: CustomerId,
    ) -> Result<Option<KycOverview>, ReadCustomersError>;
}
