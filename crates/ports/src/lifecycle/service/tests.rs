//! The lifecycle use case's branches, with mockall mocks of its ports.

use std::sync::{Arc, Mutex};

use super::*;
use crate::lifecycle::fixtures::{at, customer, events, report};
use crate::lifecycle::{KycReportRecord, MockKycReports};
use crate::{MockCustomerRepository, RepositoryError};
use domain::{KycOrder, KycStatus};

fn service(reports: MockKycReports, customers: MockCustomerRepository) -> KycLifecycleService {
    KycLifecycleService::new(Arc::new(reports), Arc::new(customers), events())
}

fn no_customers() -> MockCustomerRepository {
    let mut customers = MockCustomerRepository::new();
    customers.expect_find().never();
    customers
}

/// Keeps every record the store was handed.
fn recording(
    reports: &mut MockKycReports,
    answers: Vec<Recorded>,
) -> Arc<Mutex<Vec<KycReportRecord>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let answers = Mutex::new(answers.into_iter());
    reports.expect_record().returning(move |record| {
        kept.lock().unwrap().push(record.clone());
        Ok(answers.lock().unwrap().next().unwrap_or(Recorded::Written))
    });
    seen
}

#[tokio::test]
async fn an_event_for_no_customer_is_recorded_as_unmatched() {
    let mut reports = MockKycReports::new();
    reports
        .expect_customers_matching()
        .withf(|p, t| p == "bridge" && *t == ProviderRef::KycLink("kyc_link_1".into()))
        .times(1)
        .returning(|_, _| Ok(vec![]));
    let seen = recording(&mut reports, vec![Recorded::Written]);
    let outcome = service(reports, no_customers())
        .apply(
            "bridge",
            report("e1", KycStatus::Approved, KycOrder::at(at(5))),
        )
        .await
        .unwrap();
    assert_eq!(outcome, ApplyOutcome::Unmatched);
    let records = seen.lock().unwrap();
    let receipt = records[0].receipt.as_ref().unwrap();
    assert_eq!(
        (
            receipt.provider.as_str(),
            receipt.event_id.as_str(),
            receipt.outcome
        ),
        ("bridge", "e1", ApplyOutcome::Unmatched)
    );
    assert!(records[0].changes.is_empty() && records[0].history.is_empty());
}

#[tokio::test]
async fn a_poll_for_no_customer_writes_nothing() {
    let mut reports = MockKycReports::new();
    reports
        .expect_customers_matching()
        .returning(|_, _| Ok(vec![]));
    reports.expect_record().never();
    let mut poll = report("x", KycStatus::Approved, KycOrder::at(at(5)));
    poll.event_id = None;
    poll.source = domain::KycSource::Poll;
    let outcome = service(reports, no_customers())
        .apply("bridge", poll)
        .await
        .unwrap();
    assert_eq!(outcome, ApplyOutcome::Unmatched);
}

#[tokio::test]
async fn a_new_status_is_written_in_one_record_with_its_receipt_history_and_events() {
    let mut reports = MockKycReports::new();
    reports
        .expect_customers_matching()
        .times(1)
        .returning(|_, _| Ok(vec![customer(1)]));
    let seen = recording(&mut reports, vec![Recorded::Written]);
    let outcome = service(reports, no_customers())
        .apply(
            "bridge",
            report("e1", KycStatus::Approved, KycOrder::at(at(5))),
        )
        .await
        .unwrap();
    assert_eq!(outcome, ApplyOutcome::Applied);
    let records = seen.lock().unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(
        record.receipt.as_ref().unwrap().outcome,
        ApplyOutcome::Applied
    );
    assert_eq!(record.changes.len(), 1);
    assert_eq!(record.history.len(), 1);
    assert_eq!(record.events.len(), 2);
}

#[tokio::test]
async fn a_report_about_a_shared_link_changes_every_customer_in_one_record() {
    let mut reports = MockKycReports::new();
    reports
        .expect_customers_matching()
        .returning(|_, _| Ok(vec![customer(1), customer(2)]));
    let seen = recording(&mut reports, vec![Recorded::Written]);
    let outcome = service(reports, no_customers())
        .apply(
            "bridge",
            report("e1", KycStatus::Rejected, KycOrder::at(at(5))),
        )
        .await
        .unwrap();
    assert_eq!(outcome, ApplyOutcome::Applied);
    let records = seen.lock().unwrap();
    let ids: Vec<_> = records[0].changes.iter().map(|c| c.customer.id).collect();
    assert_eq!(ids, [customer(1).id, customer(2).id]);
    assert_eq!(records[0].history.len(), 2);
    assert_eq!(records[0].events.len(), 4);
}

#[tokio::test]
async fn a_redelivered_event_is_a_duplicate() {
    let mut reports = MockKycReports::new();
    reports
        .expect_customers_matching()
        .returning(|_, _| Ok(vec![customer(1)]));
    let _seen = recording(&mut reports, vec![Recorded::DuplicateEvent]);
    let outcome = service(reports, no_customers())
        .apply(
            "bridge",
            report("e1", KycStatus::Approved, KycOrder::at(at(5))),
        )
        .await
        .unwrap();
    assert_eq!(outcome, ApplyOutcome::Duplicate);
}

#[tokio::test]
async fn a_lost_compare_and_set_is_decided_again_on_the_customer_as_it_now_is() {
    let mut reports = MockKycReports::new();
    let reads = Mutex::new(0);
    reports
        .expect_customers_matching()
        .times(2)
        .returning(move |_, _| {
            let mut n = reads.lock().unwrap();
            *n += 1;
            let mut c = customer(1);
            if *n == 2 {
                // Meanwhile a newer report made it approved.
                c.kyc_state.kyc_status = KycStatus::Approved;
                c.kyc_as_of = KycOrder::at(at(9));
                c.version = 4;
            }
            Ok(vec![c])
        });
    let seen = recording(
        &mut reports,
        vec![Recorded::VersionConflict, Recorded::Written],
    );
    let outcome = service(reports, no_customers())
        .apply(
            "bridge",
            report("e1", KycStatus::UnderReview, KycOrder::at(at(5))),
        )
        .await
        .unwrap();
    // Decided again: older than the approval, so kept in the history only.
    assert_eq!(outcome, ApplyOutcome::Stale);
    let records = seen.lock().unwrap();
    assert_eq!(records[0].changes[0].expected_version, 3);
    assert!(records[1].changes.is_empty());
    assert!(!records[1].history[0].applied);
    assert_eq!(
        records[1].receipt.as_ref().unwrap().outcome,
        ApplyOutcome::Stale
    );
}

#[tokio::test]
async fn a_customer_that_never_stops_changing_ends_in_contention() {
    let mut reports = MockKycReports::new();
    reports
        .expect_customers_matching()
        .times(MAX_DECISIONS)
        .returning(|_, _| Ok(vec![customer(1)]));
    reports
        .expect_record()
        .times(MAX_DECISIONS)
        .returning(|_| Ok(Recorded::VersionConflict));
    let err = service(reports, no_customers())
        .apply(
            "bridge",
            report("e1", KycStatus::Approved, KycOrder::at(at(5))),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::Contention), "{err:?}");
}

#[tokio::test]
async fn a_store_outage_is_an_error_and_nothing_is_recorded() {
    let mut reports = MockKycReports::new();
    reports.expect_customers_matching().returning(|_, _| {
        Err(RepositoryError::Unavailable(anyhow::anyhow!(
            "pool timed out"
        )))
    });
    reports.expect_record().never();
    let err = service(reports, no_customers())
        .apply(
            "bridge",
            report("e1", KycStatus::Approved, KycOrder::at(at(5))),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::StoreUnavailable(_)), "{err:?}");

    let mut reports = MockKycReports::new();
    reports
        .expect_customers_matching()
        .returning(|_, _| Ok(vec![customer(1)]));
    reports
        .expect_record()
        .returning(|_| Err(RepositoryError::Unexpected(anyhow::anyhow!("disk full"))));
    let err = service(reports, no_customers())
        .apply(
            "bridge",
            report("e1", KycStatus::Approved, KycOrder::at(at(5))),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::Unexpected(_)), "{err:?}");
}

#[tokio::test]
async fn the_state_of_a_link_is_its_first_customers() {
    let mut reports = MockKycReports::new();
    reports.expect_customers_matching().returning(|_, _| {
        let mut c = customer(1);
        c.kyc_state.kyc_status = KycStatus::Incomplete;
        Ok(vec![c, customer(2)])
    });
    let state = service(reports, no_customers())
        .state_of("sandbox", &ProviderRef::KycLink("kyc_link_1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.kyc_status, KycStatus::Incomplete);
}

#[tokio::test]
async fn the_overview_is_the_accounts_customer_with_its_history() {
    let c = customer(1);
    let (account, id) = (c.account_id, c.id);
    let mut customers = MockCustomerRepository::new();
    let found = c.clone();
    customers
        .expect_find()
        .withf(move |a, i| *a == account && *i == id)
        .returning(move |_, _| Ok(Some(found.clone())));
    let mut reports = MockKycReports::new();
    let entry = domain::KycHistoryEntry {
        customer_id: id,
        from: KycStatus::NotStarted,
        to: KycStatus::Approved,
        tos_status: domain::TosStatus::Pending,
        source: domain::KycSource::Sandbox,
        event_id: None,
        at: at(1),
        recorded_at: at(2),
        applied: true,
    };
    let kept = entry.clone();
    reports
        .expect_history()
        .withf(move |i| *i == id)
        .returning(move |_| Ok(vec![kept.clone()]));
    let overview = service(reports, customers)
        .kyc_overview(account, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(overview.customer, c);
    assert_eq!(overview.history, vec![entry]);
}

#[tokio::test]
async fn another_accounts_customer_has_no_overview_and_its_history_is_not_read() {
    let mut customers = MockCustomerRepository::new();
    customers.expect_find().returning(|_, _| Ok(None));
    let mut reports = MockKycReports::new();
    reports.expect_history().never();
    let c = customer(1);
    assert!(service(reports, customers)
        .kyc_overview(c.account_id, c.id)
        .await
        .unwrap()
        .is_none());
}
