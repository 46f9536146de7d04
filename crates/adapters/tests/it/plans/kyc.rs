//! The KYC lifecycle: what every provider webhook runs (the receipt, finding the report's
//! customers by the KYC link id or the provider's customer id, the compare-and-set change),
//! a customer's KYC history, and the sync poller's claim of the customers due for a poll.

use std::time::Duration;

use chrono::Utc;
use domain::{KycOrder, ProviderRef};
use ports::{ApplyOutcome, EventReceipt, KycChange, KycReportRecord, SyncClaim};
use ports::{KycReports as _, KycSyncQueue as _};

use super::check::{Index, Probe};
use super::Statement;

/// A report that writes only its receipt, or only `changes`.
fn report(receipt: Option<EventReceipt>, changes: Vec<KycChange>) -> KycReportRecord {
    let mut record = KycReportRecord::default();
    record.receipt = receipt;
    record.changes = changes;
    record
}

/// Whether `sql` finds a report's customers by this condition.
fn matching(sql: &str, cond: &str) -> bool {
    sql.starts_with("select customers.id, ")
        && sql.contains("customers.kyc_provider =")
        && sql.contains(cond)
}

pub fn statements() -> Vec<Statement> {
    vec![
        Statement {
            name: "provider event receipt",
            run: |s, _| {
                Box::pin(async move {
                    let receipt = EventReceipt {
                        provider: "bridge".into(),
                        event_id: format!("probe-{}", uuid::Uuid::new_v4()),
                        received_at: Utc::now(),
                        outcome: ApplyOutcome::Unmatched,
                    };
                    s.record(&report(Some(receipt), Vec::new())).await.unwrap();
                })
            },
            sql: |sql| sql.starts_with("insert into provider_events"),
            params: None,
            probe: Probe::no_full_scan(),
        },
        Statement {
            name: "customers matching a KYC link id",
            run: |s, _| {
                Box::pin(async move {
                    let target = ProviderRef::KycLink("kyc_link_123".into());
                    s.customers_matching("bridge", &target).await.unwrap();
                })
            },
            sql: |sql| matching(sql, "customers.kyc_link_id ="),
            params: Some(|_| vec!["'bridge'".into(), "'kyc_link_123'".into()]),
            probe: Probe::uses(Index::Named("customers_kyc_link_idx"))
                .pg_cond(&["kyc_link_id ="])
                .sqlite_cond(&["kyc_link_id=?"]),
        },
        Statement {
            name: "customers matching a provider customer id",
            run: |s, _| {
                Box::pin(async move {
                    let target = ProviderRef::ProviderCustomer(PROVIDER_CUSTOMER.into());
                    s.customers_matching("bridge", &target).await.unwrap();
                })
            },
            sql: |sql| matching(sql, "customers.provider_customer_id ="),
            params: Some(|_| vec!["'bridge'".into(), format!("'{PROVIDER_CUSTOMER}'")]),
            probe: Probe::uses(Index::Named("customers_provider_customer_idx"))
                .pg_cond(&["provider_customer_id ="])
                .sqlite_cond(&["provider_customer_id=?"]),
        },
        Statement {
            name: "KYC change (compare-and-set)",
            run: |s, f| {
                Box::pin(async move {
                    // An expected version the customer never had: the change conflicts
                    // (and is undone) after its statement ran.
                    let change = KycChange {
                        expected_version: 999,
                        expected_as_of: KycOrder::at(f.cursor),
                        customer: f.first.clone(),
                    };
                    s.record(&report(None, vec![change])).await.unwrap();
                })
            },
            sql: |sql| sql.starts_with("update customers set kyc_status"),
            params: Some(|f| {
                let no_sequence = i64::MIN.to_string();
                vec![
                    "'approved'".into(),
                    "'pending'".into(),
                    "'[]'".into(),
                    "NULL".into(),
                    "now()".into(),
                    "NULL".into(),
                    "2".into(),
                    "now()".into(),
                    f.customer(),
                    "999".into(),
                    f.cursor(),
                    no_sequence.clone(),
                    no_sequence,
                ]
            }),
            probe: Probe::uses(Index::PrimaryKey("customers"))
                .pg_cond(&["(id ="])
                .sqlite_cond(&["id=?"]),
        },
        Statement {
            name: "KYC history",
            run: |s, f| {
                Box::pin(async move {
                    s.history(f.customer).await.unwrap();
                })
            },
            sql: |sql| sql.starts_with("select kyc_history.id"),
            params: Some(|f| vec![f.customer()]),
            probe: Probe::uses(Index::Named("kyc_history_customer_idx"))
                .pg_cond(&["customer_id ="])
                .sqlite_cond(&["customer_id=?"]),
        },
        Statement {
            name: "due syncs claim",
            run: |s, _| {
                Box::pin(async move {
                    s.claim_due(&SyncClaim {
                        provider: "sandbox".into(),
                        interval: Duration::from_secs(60),
                        limit: 20,
                        lease: Duration::from_secs(60),
                    })
                    .await
                    .unwrap();
                })
            },
            sql: |sql| sql.starts_with("select customers.id from customers where"),
            // The provider of the grown customers, most of them due. Not checked for index
            // order: without ANALYZE, PostgreSQL reads the due customers off the index in
            // a bitmap and sorts them (it guesses a few dozen rows due).
            params: Some(|_| {
                vec![
                    "'sandbox'".into(),
                    "now()".into(),
                    "now()".into(),
                    "20".into(),
                ]
            }),
            probe: Probe::uses(Index::Named("customers_sync_due_idx"))
                .pg_cond(&["kyc_provider ="])
                .sqlite_cond(&["kyc_provider=?"]),
        },
    ]
}

/// The provider customer id of every sample customer.
const PROVIDER_CUSTOMER: &str = "7d5b9315-796e-4d4d-b771-1ee5997e4abf";
