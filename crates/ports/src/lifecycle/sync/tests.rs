//! The poller's branches, with mockall mocks of the queue, the provider and the lifecycle.

use std::sync::Mutex;

use super::*;
use crate::lifecycle::{ApplyError, MockKycLifecycle, MockKycSyncQueue};
use crate::{KycProviderError, MockKycProvider, ProviderKycState};
use domain::{CustomerId, KycStatus, ProviderRef, TosStatus};
use uuid::Uuid;

fn settings() -> SyncSettings {
    SyncSettings {
        interval: Duration::from_secs(300),
        batch: 10,
        lease: Duration::from_secs(120),
        concurrency: 2,
        pause: Duration::from_millis(10),
    }
}

fn target(n: u128) -> SyncTarget {
    SyncTarget {
        customer_id: CustomerId(Uuid::from_u128(n)),
        target: ProviderRef::KycLink(format!("link_{n}")),
    }
}

fn provider(
    answer: fn(&ProviderRef) -> Result<ProviderKycState, KycProviderError>,
) -> MockKycProvider {
    let mut provider = MockKycProvider::new();
    provider.expect_name().return_const("bridge");
    provider.expect_fetch_kyc_state().returning(answer);
    provider
}

fn worker(
    queue: MockKycSyncQueue,
    provider: MockKycProvider,
    lifecycle: MockKycLifecycle,
    settings: SyncSettings,
) -> KycSyncWorker {
    KycSyncWorker::new(
        Arc::new(queue),
        Arc::new(provider),
        Arc::new(lifecycle),
        Arc::new(NoSyncObserver),
        settings,
    )
}

#[tokio::test]
async fn each_leased_customer_is_read_applied_as_a_poll_and_marked_synced() {
    let mut queue = MockKycSyncQueue::new();
    queue
        .expect_claim_due()
        .withf(|c| {
            c.provider == "bridge"
                && c.interval == Duration::from_secs(300)
                && c.limit == 10
                && c.lease == Duration::from_secs(120)
        })
        .times(1)
        .returning(|_| Ok(vec![target(1), target(2)]));
    let synced = Arc::new(Mutex::new(Vec::new()));
    let kept = synced.clone();
    queue
        .expect_mark_synced()
        .times(2)
        .returning(move |id, at| {
            kept.lock().unwrap().push((id, at));
            Ok(())
        });
    let applied = Arc::new(Mutex::new(Vec::new()));
    let seen = applied.clone();
    let mut lifecycle = MockKycLifecycle::new();
    lifecycle
        .expect_apply()
        .times(2)
        .returning(move |provider, update| {
            assert_eq!(provider, "bridge");
            seen.lock().unwrap().push(update.clone());
            Ok(if update.target == ProviderRef::KycLink("link_1".into()) {
                ApplyOutcome::Applied
            } else {
                ApplyOutcome::Unchanged
            })
        });
    let provider = provider(|_| {
        Ok(ProviderKycState {
            kyc_status: Some(KycStatus::Approved),
            tos_status: Some(TosStatus::Approved),
            rejection_reasons: Some(vec![]),
            provider_customer_id: Some("cust_1".into()),
        })
    });
    let before = Utc::now();
    let round = worker(queue, provider, lifecycle, settings())
        .run_round()
        .await
        .unwrap();
    assert_eq!(
        round,
        SyncRound {
            claimed: 2,
            changed: 1,
            unchanged: 1,
            ..SyncRound::default()
        }
    );
    let applied = applied.lock().unwrap();
    for update in applied.iter() {
        assert_eq!(update.source, KycSource::Poll);
        assert_eq!(update.event_id, None);
        assert_eq!(update.kyc_status, Some(KycStatus::Approved));
        assert_eq!(update.provider_customer_id.as_deref(), Some("cust_1"));
        assert_eq!(update.order.sequence, None);
        assert!(update.order.at >= before && update.order.at <= Utc::now());
    }
    // Each customer is marked synced as of the moment its state was fetched.
    let synced = synced.lock().unwrap();
    for (id, at) in synced.iter() {
        let link = ProviderRef::KycLink(format!("link_{}", id.0.as_u128()));
        let update = applied.iter().find(|u| u.target == link).unwrap();
        assert_eq!(*at, update.order.at);
    }
}

#[tokio::test]
async fn a_provider_failure_touches_nothing_and_is_counted() {
    let mut queue = MockKycSyncQueue::new();
    queue.expect_claim_due().returning(|_| Ok(vec![target(1)]));
    queue.expect_mark_synced().never();
    let mut lifecycle = MockKycLifecycle::new();
    lifecycle.expect_apply().never();
    let provider = provider(|_| Err(KycProviderError::Timeout));
    let round = worker(queue, provider, lifecycle, settings())
        .run_round()
        .await
        .unwrap();
    assert_eq!((round.claimed, round.provider_errors), (1, 1));
}

#[tokio::test]
async fn a_result_that_cannot_be_applied_is_not_marked_synced() {
    let mut queue = MockKycSyncQueue::new();
    queue.expect_claim_due().returning(|_| Ok(vec![target(1)]));
    queue.expect_mark_synced().never();
    let mut lifecycle = MockKycLifecycle::new();
    lifecycle
        .expect_apply()
        .returning(|_, _| Err(ApplyError::Contention));
    let provider = provider(|_| Ok(ProviderKycState::default()));
    let round = worker(queue, provider, lifecycle, settings())
        .run_round()
        .await
        .unwrap();
    assert_eq!(round.store_errors, 1);
}

#[tokio::test]
async fn no_read_starts_once_half_the_lease_is_used() {
    let mut queue = MockKycSyncQueue::new();
    queue
        .expect_claim_due()
        .returning(|_| Ok(vec![target(1), target(2)]));
    queue.expect_mark_synced().never();
    let mut lifecycle = MockKycLifecycle::new();
    lifecycle.expect_apply().never();
    let mut provider = MockKycProvider::new();
    provider.expect_name().return_const("bridge");
    provider.expect_fetch_kyc_state().never();
    let round = worker(
        queue,
        provider,
        lifecycle,
        SyncSettings {
            lease: Duration::ZERO,
            ..settings()
        },
    )
    .run_round()
    .await
    .unwrap();
    assert_eq!((round.claimed, round.left), (2, 2));
}

#[tokio::test]
async fn a_store_failure_while_leasing_fails_the_round() {
    let mut queue = MockKycSyncQueue::new();
    queue
        .expect_claim_due()
        .returning(|_| Err(crate::RepositoryError::Unavailable(anyhow::anyhow!("down"))));
    let mut provider = MockKycProvider::new();
    provider.expect_name().return_const("bridge");
    let err = worker(queue, provider, MockKycLifecycle::new(), settings())
        .run_round()
        .await
        .unwrap_err();
    assert!(matches!(err, crate::RepositoryError::Unavailable(_)));
}

/// Counts what it is told.
#[derive(Default)]
struct Counting {
    rounds: Mutex<Vec<SyncRound>>,
    failed: Mutex<usize>,
}

impl SyncObserver for Counting {
    fn round(&self, round: &SyncRound) {
        self.rounds.lock().unwrap().push(round.clone());
    }
    fn round_failed(&self) {
        *self.failed.lock().unwrap() += 1;
    }
}

#[tokio::test]
async fn the_worker_reports_every_round_and_stops_when_told() {
    let mut queue = MockKycSyncQueue::new();
    let calls = Mutex::new(0);
    queue.expect_claim_due().returning(move |_| {
        let mut n = calls.lock().unwrap();
        *n += 1;
        if *n == 1 {
            Err(crate::RepositoryError::Unavailable(anyhow::anyhow!("down")))
        } else {
            Ok(vec![])
        }
    });
    let mut provider = MockKycProvider::new();
    provider.expect_name().return_const("bridge");
    let observer = Arc::new(Counting::default());
    let worker = KycSyncWorker::new(
        Arc::new(queue),
        Arc::new(provider),
        Arc::new(MockKycLifecycle::new()),
        observer.clone(),
        settings(),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.run(stopped));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(*observer.failed.lock().unwrap(), 1);
    assert!(!observer.rounds.lock().unwrap().is_empty());
}
