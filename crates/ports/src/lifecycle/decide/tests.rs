//! Every branch of the decision, on plain values.

use super::*;
use crate::lifecycle::fixtures::{at, customer, events, report};
use domain::{KycOrder, KycSource, RejectionReason};

fn order(secs: i64) -> KycOrder {
    KycOrder::at(at(secs))
}

fn types(decision: &Decision) -> Vec<String> {
    decision
        .events
        .iter()
        .map(|e| e.event_type.as_str().to_owned())
        .collect()
}

#[test]
fn a_newer_report_with_a_new_status_is_applied_with_history_and_events() {
    let c = customer(1);
    let now = at(50);
    let d = decide(
        &c,
        &report("e1", KycStatus::Approved, order(10)),
        now,
        &events(),
    );
    assert_eq!(d.outcome, ApplyOutcome::Applied);
    let change = d.change.clone().unwrap();
    assert_eq!(change.expected_version, 3);
    assert_eq!(change.expected_as_of, c.kyc_as_of);
    assert_eq!(change.customer.version, 4);
    assert_eq!(change.customer.updated_at, Some(now));
    assert_eq!(change.customer.kyc_as_of, order(10));
    assert_eq!(change.customer.kyc_state.kyc_status, KycStatus::Approved);
    let history = d.history.clone().unwrap();
    assert_eq!(
        (history.from, history.to, history.applied),
        (KycStatus::NotStarted, KycStatus::Approved, true)
    );
    assert_eq!(
        (history.at, history.recorded_at, history.source),
        (at(10), now, KycSource::Webhook)
    );
    assert_eq!(history.event_id.as_deref(), Some("e1"));
    assert_eq!(types(&d), ["customer.kyc.updated", "customer.kyc.approved"]);
    // The updated event shows the customer after the change and the statuses before it.
    assert_eq!(
        d.events[0].body,
        "customer.kyc.updated approved Some((NotStarted, Pending))"
    );
    assert_eq!(d.events[1].body, "customer.kyc.approved approved None");
    assert!(d.events.iter().all(|e| e.customer_id == Some(c.id)
        && e.account_id == c.account_id
        && e.created_at == now));
}

#[test]
fn becoming_rejected_says_so_and_other_statuses_only_update() {
    let c = customer(1);
    let mut rejected = report("e1", KycStatus::Rejected, order(10));
    rejected.rejection_reasons = Some(vec![RejectionReason {
        reason: "ID expired".into(),
        developer_reason: None,
        created_at: at(9),
    }]);
    let d = decide(&c, &rejected, at(50), &events());
    assert_eq!(types(&d), ["customer.kyc.updated", "customer.kyc.rejected"]);
    assert_eq!(
        d.change.unwrap().customer.kyc_state.rejection_reasons[0].reason,
        "ID expired"
    );
    let d = decide(
        &c,
        &report("e2", KycStatus::UnderReview, order(10)),
        at(50),
        &events(),
    );
    assert_eq!(types(&d), ["customer.kyc.updated"]);
}

#[test]
fn a_terms_of_service_change_alone_is_a_change_with_only_the_updated_event() {
    let mut c = customer(1);
    c.kyc_state.kyc_status = KycStatus::Approved;
    let mut tos = report("e1", KycStatus::Approved, order(10));
    tos.kyc_status = None;
    tos.tos_status = Some(TosStatus::Approved);
    let d = decide(&c, &tos, at(50), &events());
    assert_eq!(d.outcome, ApplyOutcome::Applied);
    assert_eq!(types(&d), ["customer.kyc.updated"]);
    let history = d.history.unwrap();
    assert_eq!(
        (history.from, history.to, history.tos_status),
        (
            KycStatus::Approved,
            KycStatus::Approved,
            TosStatus::Approved
        )
    );
}

#[test]
fn reasons_go_when_the_status_moves_on_without_new_ones() {
    let mut c = customer(1);
    c.kyc_state.kyc_status = KycStatus::Rejected;
    c.kyc_state.rejection_reasons = vec![RejectionReason {
        reason: "blurry".into(),
        developer_reason: None,
        created_at: at(-5),
    }];
    let d = decide(
        &c,
        &report("e1", KycStatus::UnderReview, order(10)),
        at(50),
        &events(),
    );
    assert!(d
        .change
        .unwrap()
        .customer
        .kyc_state
        .rejection_reasons
        .is_empty());
    // A report about the terms only keeps the reasons of the status that stays.
    let mut tos = report("e2", KycStatus::Rejected, order(10));
    tos.kyc_status = None;
    tos.tos_status = Some(TosStatus::Approved);
    let d = decide(&c, &tos, at(50), &events());
    assert_eq!(
        d.change.unwrap().customer.kyc_state.rejection_reasons.len(),
        1
    );
}

#[test]
fn an_older_report_is_kept_in_the_history_only() {
    let mut c = customer(1);
    c.kyc_state.kyc_status = KycStatus::Approved;
    c.kyc_as_of = order(20);
    let d = decide(
        &c,
        &report("e0", KycStatus::UnderReview, order(10)),
        at(50),
        &events(),
    );
    assert_eq!(d.outcome, ApplyOutcome::Stale);
    assert_eq!(d.change, None);
    assert!(d.events.is_empty());
    let history = d.history.unwrap();
    assert_eq!(
        (history.from, history.to, history.applied),
        (KycStatus::Approved, KycStatus::UnderReview, false)
    );
}

#[test]
fn sequence_numbers_order_reports_before_times_do() {
    let mut c = customer(1);
    c.kyc_as_of = KycOrder {
        sequence: Some(7),
        at: at(20),
    };
    let earlier_sequence_later_time = KycOrder {
        sequence: Some(6),
        at: at(30),
    };
    let d = decide(
        &c,
        &report("e6", KycStatus::Approved, earlier_sequence_later_time),
        at(50),
        &events(),
    );
    assert_eq!(d.outcome, ApplyOutcome::Stale);
    let later_sequence_earlier_time = KycOrder {
        sequence: Some(8),
        at: at(10),
    };
    let d = decide(
        &c,
        &report("e8", KycStatus::Approved, later_sequence_earlier_time),
        at(50),
        &events(),
    );
    assert_eq!(d.outcome, ApplyOutcome::Applied);
    assert_eq!(
        d.change.unwrap().customer.kyc_as_of,
        later_sequence_earlier_time
    );
}

#[test]
fn a_newer_report_that_changes_nothing_moves_only_the_watermark() {
    let c = customer(1);
    let d = decide(
        &c,
        &report("e1", KycStatus::NotStarted, order(10)),
        at(50),
        &events(),
    );
    assert_eq!(d.outcome, ApplyOutcome::Unchanged);
    assert_eq!(d.history, None);
    assert!(d.events.is_empty());
    let change = d.change.unwrap();
    // Nothing a reader sees changed: same version, same updated_at.
    assert_eq!(change.customer.version, 3);
    assert_eq!(change.customer.updated_at, None);
    assert_eq!(change.customer.kyc_as_of, order(10));
    assert_eq!(change.expected_as_of, order(0));
}

#[test]
fn a_tie_is_applied_as_the_later_arrival() {
    let c = customer(1);
    let d = decide(
        &c,
        &report("e1", KycStatus::Incomplete, order(0)),
        at(50),
        &events(),
    );
    assert_eq!(d.outcome, ApplyOutcome::Applied);
}

#[test]
fn a_report_of_nothing_writes_nothing() {
    let c = customer(1);
    let mut nothing = report("e1", KycStatus::NotStarted, order(10));
    nothing.kyc_status = None;
    nothing.event_id = None;
    nothing.source = KycSource::Poll;
    let d = decide(&c, &nothing, at(50), &events());
    assert_eq!(d.outcome, ApplyOutcome::Unchanged);
    assert_eq!(d.change, None);
    assert_eq!(d.history, None);
    // Not even when it is older: there is nothing to keep.
    nothing.order = order(-10);
    let d = decide(&c, &nothing, at(50), &events());
    assert_eq!(d.outcome, ApplyOutcome::Stale);
    assert_eq!((d.change, d.history), (None, None));
}

#[test]
fn a_provider_customer_id_is_kept_even_from_an_older_report() {
    let mut c = customer(1);
    c.kyc_as_of = order(20);
    let mut old = report("e1", KycStatus::Approved, order(10));
    old.provider_customer_id = Some("cust_9".into());
    let d = decide(&c, &old, at(50), &events());
    assert_eq!(d.outcome, ApplyOutcome::Stale);
    let change = d.change.unwrap();
    assert_eq!(
        change.customer.kyc.provider_customer_id.as_deref(),
        Some("cust_9")
    );
    assert_eq!(change.customer.version, 4);
    assert_eq!(change.customer.kyc_state, c.kyc_state);
    assert_eq!(change.customer.kyc_as_of, order(20));
    // A known id is no change at all.
    c.kyc.provider_customer_id = Some("cust_9".into());
    assert_eq!(decide(&c, &old, at(50), &events()).change, None);
}

#[test]
fn a_new_provider_customer_id_with_a_status_change_bumps_the_version_once() {
    let c = customer(1);
    let mut r = report("e1", KycStatus::Approved, order(10));
    r.provider_customer_id = Some("cust_9".into());
    let change = decide(&c, &r, at(50), &events()).change.unwrap();
    assert_eq!(change.customer.version, 4);
    assert_eq!(
        change.customer.kyc.provider_customer_id.as_deref(),
        Some("cust_9")
    );
}
