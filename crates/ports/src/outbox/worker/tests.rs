//! The engine's branches, with mockall mocks of the outbox and the handler.

use std::sync::atomic::{AtomicUsize, Ordering};

use domain::{CustomerId, KycMailStatus};
use uuid::Uuid;

use super::*;
use crate::outbox::{JobWork, MockOutbox, RetryPolicy};

fn job(attempt: u32) -> OutboxJob {
    let customer_id = CustomerId(Uuid::from_u128(1));
    OutboxJob {
        id: JobId(Uuid::from_u128(attempt.into())),
        attempt,
        work: JobWork::KycMail {
            customer_id,
            message_id: crate::kyc_message_id(customer_id),
        },
    }
}

fn settings(lease: Duration) -> WorkerSettings {
    WorkerSettings {
        batch_size: 20,
        lease,
        concurrency: 4,
        per_endpoint: None,
        schedule: RetrySchedule::Exponential(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(60),
        }),
    }
}

fn outbox_with(jobs: Vec<OutboxJob>) -> MockOutbox {
    let mut outbox = MockOutbox::new();
    outbox
        .expect_claim()
        .times(1)
        .withf(|r| r.kind == JobKind::KycMail && r.limit == 20)
        .returning(move |_| Ok(jobs.clone()));
    outbox
}

fn handler_answering(answer: Attempted) -> MockJobHandler {
    let mut handler = MockJobHandler::new();
    handler.expect_kind().return_const(JobKind::KycMail);
    handler
        .expect_attempt()
        .times(1)
        .returning(move |_| answer.clone());
    handler
}

fn worker(outbox: MockOutbox, handler: MockJobHandler) -> OutboxWorker {
    OutboxWorker::new(
        Arc::new(outbox),
        Arc::new(handler),
        settings(Duration::from_secs(60)),
    )
}

fn sent_effects() -> Effects {
    Effects {
        kyc_mail_status: Some((CustomerId(Uuid::from_u128(1)), KycMailStatus::Sent)),
        events: vec![],
    }
}

#[tokio::test]
async fn a_delivered_job_is_finished_with_the_handlers_effects() {
    let mut outbox = outbox_with(vec![job(1)]);
    outbox
        .expect_finish()
        .times(1)
        .withf(|id, report, effects| {
            *id == job(1).id
                && report.end == JobEnd::Delivered
                && report.error.is_none()
                && report.http_status == Some(204)
                && *effects == sent_effects()
        })
        .returning(|_, _, _| Ok(()));
    let mut handler = handler_answering(Attempted::Delivered {
        http_status: Some(204),
    });
    handler
        .expect_on_end()
        .times(1)
        .withf(|_, delivered, _| *delivered)
        .returning(|_, _, _| Ok(sent_effects()));
    assert_eq!(worker(outbox, handler).run_once().await.unwrap(), 1);
}

#[tokio::test]
async fn a_transient_failure_is_retried_later_without_effects() {
    let mut outbox = outbox_with(vec![job(1)]);
    outbox
        .expect_finish()
        .times(1)
        .withf(|_, report, effects| {
            matches!(report.end, JobEnd::RetryAt(at) if at > Utc::now() + chrono::TimeDelta::seconds(4))
                && report.error.as_deref() == Some("connection refused")
                && *effects == Effects::default()
        })
        .returning(|_, _, _| Ok(()));
    let mut handler = handler_answering(Attempted::Failed {
        permanent: false,
        error: "connection refused".into(),
        http_status: None,
    });
    handler.expect_on_end().never();
    worker(outbox, handler).run_once().await.unwrap();
}

#[tokio::test]
async fn the_last_allowed_attempt_failing_gives_the_job_up() {
    let mut outbox = outbox_with(vec![job(3)]);
    outbox
        .expect_finish()
        .times(1)
        .withf(|_, report, _| report.end == JobEnd::Failed && report.http_status == Some(500))
        .returning(|_, _, _| Ok(()));
    let mut handler = handler_answering(Attempted::Failed {
        permanent: false,
        error: "HTTP 500".into(),
        http_status: Some(500),
    });
    handler
        .expect_on_end()
        .times(1)
        .withf(|_, delivered, _| !*delivered)
        .returning(|_, _, _| Ok(Effects::default()));
    worker(outbox, handler).run_once().await.unwrap();
}

#[tokio::test]
async fn a_permanent_failure_is_not_retried() {
    let mut outbox = outbox_with(vec![job(1)]);
    outbox
        .expect_finish()
        .times(1)
        .withf(|_, report, _| report.end == JobEnd::Failed)
        .returning(|_, _, _| Ok(()));
    let mut handler = handler_answering(Attempted::Failed {
        permanent: true,
        error: "550 no such user".into(),
        http_status: None,
    });
    handler
        .expect_on_end()
        .times(1)
        .returning(|_, _, _| Ok(Effects::default()));
    worker(outbox, handler).run_once().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_outbox_is_reported_not_swallowed() {
    let mut outbox = MockOutbox::new();
    outbox
        .expect_claim()
        .returning(|_| Err(RepositoryError::Unavailable(anyhow::anyhow!("db down"))));
    let mut handler = MockJobHandler::new();
    handler.expect_kind().return_const(JobKind::KycMail);
    handler.expect_attempt().never();
    let err = worker(outbox, handler).run_once().await.unwrap_err();
    assert!(matches!(err, RepositoryError::Unavailable(_)));
}

/// A handler that takes `delay` per attempt and counts the most attempts in flight.
struct SlowHandler {
    delay: Duration,
    in_flight: AtomicUsize,
    most: AtomicUsize,
    attempted: AtomicUsize,
}

impl SlowHandler {
    fn new(delay: Duration) -> Self {
        Self {
            delay,
            in_flight: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            attempted: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl JobHandler for SlowHandler {
    fn kind(&self) -> JobKind {
        JobKind::KycMail
    }

    async fn attempt(&self, _job: &OutboxJob) -> Attempted {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.attempted.fetch_add(1, Ordering::SeqCst);
        Attempted::Delivered { http_status: None }
    }

    async fn on_end(
        &self,
        _job: &OutboxJob,
        _delivered: bool,
        _at: chrono::DateTime<Utc>,
    ) -> Result<Effects, RepositoryError> {
        Ok(Effects::default())
    }
}

#[tokio::test]
async fn attempts_run_concurrently_up_to_the_limit() {
    let mut outbox = outbox_with((1..=8).map(job).collect());
    outbox.expect_finish().times(8).returning(|_, _, _| Ok(()));
    let handler = Arc::new(SlowHandler::new(Duration::from_millis(50)));
    let worker = OutboxWorker::new(
        Arc::new(outbox),
        handler.clone(),
        settings(Duration::from_secs(60)),
    );
    assert_eq!(worker.run_once().await.unwrap(), 8);
    assert_eq!(handler.most.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn jobs_not_started_by_half_the_lease_are_given_back() {
    let mut outbox = outbox_with((1..=4).map(job).collect());
    outbox.expect_finish().times(1).returning(|_, _, _| Ok(()));
    outbox
        .expect_release()
        .times(1)
        .withf(|ids| ids.len() == 3)
        .returning(|_| Ok(()));
    let handler = Arc::new(SlowHandler::new(Duration::from_millis(250)));
    let mut one_at_a_time = settings(Duration::from_millis(400));
    one_at_a_time.concurrency = 1;
    let worker = OutboxWorker::new(Arc::new(outbox), handler.clone(), one_at_a_time);
    // 250 ms per attempt, lease 400 ms: once the first is done half the lease is gone.
    assert_eq!(worker.run_once().await.unwrap(), 1);
    assert_eq!(handler.attempted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_worker_stops_when_told() {
    let mut outbox = MockOutbox::new();
    outbox.expect_claim().returning(|_| Ok(vec![]));
    let mut handler = MockJobHandler::new();
    handler.expect_kind().return_const(JobKind::KycMail);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker(outbox, handler).run(Duration::from_secs(3600), rx));
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
}

/// A handler whose job 1 never ends (a receiver that never answers) and whose others end
/// at once, counting those.
struct OneStuckHandler {
    quick_done: AtomicUsize,
}

#[async_trait]
impl JobHandler for OneStuckHandler {
    fn kind(&self) -> JobKind {
        JobKind::KycMail
    }

    async fn attempt(&self, job: &OutboxJob) -> Attempted {
        if job.attempt == 1 {
            std::future::pending::<()>().await;
        }
        self.quick_done.fetch_add(1, Ordering::SeqCst);
        Attempted::Delivered { http_status: None }
    }

    async fn on_end(
        &self,
        _job: &OutboxJob,
        _delivered: bool,
        _at: chrono::DateTime<Utc>,
    ) -> Result<Effects, RepositoryError> {
        Ok(Effects::default())
    }
}

#[tokio::test]
async fn a_stuck_attempt_holds_its_slot_only_and_the_others_keep_flowing() {
    // Jobs 1..=6, handed out two at a time as slots free: job 1 never ends.
    let queue = Arc::new(std::sync::Mutex::new((1..=6).map(job).collect::<Vec<_>>()));
    let mut outbox = MockOutbox::new();
    let handed = Arc::clone(&queue);
    outbox.expect_claim().returning(move |r| {
        let mut queue = handed.lock().unwrap();
        let n = queue.len().min(r.limit as usize);
        Ok(queue.drain(..n).collect())
    });
    outbox.expect_finish().returning(|_, _, _| Ok(()));
    let handler = Arc::new(OneStuckHandler {
        quick_done: AtomicUsize::new(0),
    });
    let mut two = settings(Duration::from_secs(3600));
    two.concurrency = 2;
    let worker = OutboxWorker::new(Arc::new(outbox), handler.clone(), two);
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.run(Duration::from_millis(10), rx));
    // A round-by-round worker would wait for job 1 with the first batch and never get
    // further; this one fills the free slot again and again.
    tokio::time::timeout(Duration::from_secs(5), async {
        while handler.quick_done.load(Ordering::SeqCst) < 5 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the jobs behind the stuck one were all delivered");
    running.abort();
}
