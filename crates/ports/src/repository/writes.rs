//! The units of work that change or erase an existing customer, each committed by the
//! store in one transaction exactly as the use case decided it.

use chrono::{DateTime, Utc};
use domain::{AccountId, Customer, CustomerId};

use crate::{IdempotencyCompletion, NewEvent, QueuedKycMail};

/// A change to an existing customer and everything it causes, written in one transaction
/// — but only while the customer still has `expected_version` (optimistic concurrency:
/// a compare-and-set on the version). Built with [`CustomerChange::new`] and the `with_`
/// methods, so that a new part does not break existing callers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CustomerChange {
    /// The customer as it is after the change: the store writes every field but its id,
    /// account and creation time, which never change. Its `version` is `expected_version
    /// + 1` and its `updated_at` the time of the change.
    pub new: Customer,
    /// The version the change was decided on.
    pub expected_version: i64,
    /// The KYC ordering watermark the change was decided on: a report that moved only the
    /// watermark (it said the state held until then) makes no new version, so the version
    /// alone would let this change write the older watermark back.
    pub expected_as_of: domain::KycOrder,
    /// A KYC mail that replaces the customer's: the customer's KYC mail jobs still queued
    /// are cancelled and this one is queued in their place (a new address got new links).
    pub kyc_mail: Option<QueuedKycMail>,
    /// Events the change causes (`customer.updated`).
    pub events: Vec<NewEvent>,
    /// The outcome of the request's idempotency key, when it carried one.
    pub idempotency: Option<IdempotencyCompletion>,
    /// The change puts the customer on a new KYC link (a new e-mail address): the terms
    /// agreement signed under the old link is dropped with it.
    pub starts_over: bool,
    /// The KYC history entry of the change, when it changes where the verification
    /// stands (a new link whose statuses differ from the old one's).
    pub history: Option<domain::KycHistoryEntry>,
}

impl CustomerChange {
    /// `new` replacing the customer as of `expected_version`, causing nothing else; its
    /// KYC watermark is expected to be `new`'s (a change that starts the customer over on a
    /// new link says otherwise with [`Self::decided_at_watermark`]).
    pub fn new(new: Customer, expected_version: i64) -> Self {
        Self {
            expected_as_of: new.kyc_as_of,
            new,
            expected_version,
            kyc_mail: None,
            events: Vec::new(),
            idempotency: None,
            starts_over: false,
            history: None,
        }
    }

    /// The change puts the customer on a new KYC link: the signed terms agreement of the
    /// old one is dropped, and `history` (when the statuses changed) is recorded.
    pub fn starting_over(mut self, history: Option<domain::KycHistoryEntry>) -> Self {
        self.starts_over = true;
        self.history = history;
        self
    }

    /// The change was decided on the customer at KYC watermark `as_of`.
    pub fn decided_at_watermark(mut self, as_of: domain::KycOrder) -> Self {
        self.expected_as_of = as_of;
        self
    }

    /// Writes `event` with the change.
    pub fn with_event(mut self, event: NewEvent) -> Self {
        self.events.push(event);
        self
    }

    /// Replaces the customer's queued KYC mail with `mail`.
    pub fn with_kyc_mail(mut self, mail: QueuedKycMail) -> Self {
        self.kyc_mail = Some(mail);
        self
    }

    /// Finishes the request's idempotency key with the change.
    pub fn with_idempotency(mut self, completion: IdempotencyCompletion) -> Self {
        self.idempotency = Some(completion);
        self
    }
}

/// The erasure of a customer (GDPR Art. 17), written in one transaction while the customer
/// still has `expected_version`: the customer and everything holding its personal data go,
/// a tombstone (id, account, both times) stays so the id is never used again, and the
/// `events` (`customer.deleted`, which carries the id alone) are written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CustomerErasure {
    /// The account that owns the customer.
    pub account_id: AccountId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The version the erasure was decided on.
    pub expected_version: i64,
    /// When the customer was created, kept on the tombstone.
    pub created_at: DateTime<Utc>,
    /// When it was erased.
    pub erased_at: DateTime<Utc>,
    /// Events the erasure causes.
    pub events: Vec<NewEvent>,
}

impl CustomerErasure {
    /// The erasure of `customer` as read, at `erased_at`, causing nothing else.
    pub fn of(customer: &Customer, erased_at: DateTime<Utc>) -> Self {
        Self {
            account_id: customer.account_id,
            customer_id: customer.id,
            expected_version: customer.version,
            created_at: customer.created_at,
            erased_at,
            events: Vec::new(),
        }
    }

    /// Writes `event` with the erasure.
    pub fn with_event(mut self, event: NewEvent) -> Self {
        self.events.push(event);
        self
    }
}
