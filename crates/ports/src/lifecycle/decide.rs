//! What one report does to one customer: pure, so every branch is a plain unit test.
//!
//! - Older than the report the current state came from (`KycOrder::is_older_than`): the
//!   state stays; the report is kept in the history, marked not applied, when it is an
//!   event or says something different. A provider customer id it brings is still kept.
//! - Newer (or as new), and different: the new state, the report's position as the new
//!   watermark, a history entry, and the events — `customer.kyc.updated` and, when the
//!   status becomes approved or rejected, `customer.kyc.approved`/`…rejected`.
//! - Newer and the same: only the watermark moves (a report says the state held until
//!   then), without a new version: nothing a reader sees has changed. A report that says
//!   nothing at all (the sandbox's poll) moves nothing.

use chrono::{DateTime, Utc};
use domain::{
    Customer, KycHistoryEntry, KycState, KycStatus, KycUpdate, TosStatus, WebhookEventType,
};

use super::{ApplyOutcome, KycChange};
use crate::{Events, NewEvent};

/// What a report does to one customer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    pub outcome: ApplyOutcome,
    pub change: Option<KycChange>,
    pub history: Option<KycHistoryEntry>,
    pub events: Vec<NewEvent>,
}

/// The state `update` reports, laid over `current`: fields it does not speak of keep their
/// value, except that rejection reasons belong to the status they came with and go when
/// the status changes without new ones.
fn reported_state(current: &KycState, update: &KycUpdate) -> KycState {
    let kyc_status = update.kyc_status.unwrap_or(current.kyc_status);
    let rejection_reasons = match &update.rejection_reasons {
        Some(reasons) => reasons.clone(),
        None if kyc_status != current.kyc_status => Vec::new(),
        None => current.rejection_reasons.clone(),
    };
    KycState {
        kyc_status,
        tos_status: update.tos_status.unwrap_or(current.tos_status),
        rejection_reasons,
    }
}

fn says_nothing(update: &KycUpdate) -> bool {
    update.kyc_status.is_none() && update.tos_status.is_none() && update.rejection_reasons.is_none()
}

fn history_entry(
    customer: &Customer,
    update: &KycUpdate,
    reported: &KycState,
    now: DateTime<Utc>,
    applied: bool,
) -> KycHistoryEntry {
    KycHistoryEntry {
        customer_id: customer.id,
        from: customer.kyc_state.kyc_status,
        to: reported.kyc_status,
        tos_status: reported.tos_status,
        source: update.source,
        event_id: update.event_id.clone(),
        at: update.order.at,
        recorded_at: now,
        applied,
    }
}

/// The events a change from `before` to `after` (the customer as it now is) causes.
fn change_events(
    events: &Events,
    before: (KycStatus, TosStatus),
    after: &Customer,
    now: DateTime<Utc>,
) -> Vec<NewEvent> {
    let mut made = vec![events.about(
        WebhookEventType::CustomerKycUpdated,
        after,
        Some(before),
        now,
    )];
    let status = after.kyc_state.kyc_status;
    if status != before.0 {
        let became = match status {
            KycStatus::Approved => Some(WebhookEventType::CustomerKycApproved),
            KycStatus::Rejected => Some(WebhookEventType::CustomerKycRejected),
            _ => None,
        };
        if let Some(event_type) = became {
            made.push(events.about(event_type, after, None, now));
        }
    }
    made
}

/// Decides what `update`, received at `now`, does to `customer` as it was read.
pub(crate) fn decide(
    customer: &Customer,
    update: &KycUpdate,
    now: DateTime<Utc>,
    events: &Events,
) -> Decision {
    let current = &customer.kyc_state;
    let reported = reported_state(current, update);
    let new_provider_id = update
        .provider_customer_id
        .as_ref()
        .filter(|id| customer.kyc.provider_customer_id.as_ref() != Some(*id));
    let mut after = customer.clone();
    if let Some(id) = new_provider_id {
        after.kyc.provider_customer_id = Some(id.clone());
        after.version += 1;
        after.updated_at = Some(now);
    }

    if update.order.is_older_than(&customer.kyc_as_of) {
        let keep = update.event_id.is_some() || (!says_nothing(update) && reported != *current);
        return Decision {
            outcome: ApplyOutcome::Stale,
            history: keep.then(|| history_entry(customer, update, &reported, now, false)),
            change: new_provider_id.map(|_| change(customer, after)),
            events: Vec::new(),
        };
    }

    if reported == *current {
        if !says_nothing(update) {
            after.kyc_as_of = update.order;
        }
        let moved = after != *customer;
        return Decision {
            outcome: ApplyOutcome::Unchanged,
            history: None,
            change: moved.then(|| change(customer, after)),
            events: Vec::new(),
        };
    }

    if new_provider_id.is_none() {
        after.version += 1;
        after.updated_at = Some(now);
    }
    after.kyc_state = reported.clone();
    after.kyc_as_of = update.order;
    let before = (current.kyc_status, current.tos_status);
    Decision {
        outcome: ApplyOutcome::Applied,
        history: Some(history_entry(customer, update, &reported, now, true)),
        events: change_events(events, before, &after, now),
        change: Some(change(customer, after)),
    }
}

fn change(before: &Customer, after: Customer) -> KycChange {
    KycChange {
        expected_version: before.version,
        expected_as_of: before.kyc_as_of,
        customer: after,
    }
}

#[cfg(test)]
mod tests;
