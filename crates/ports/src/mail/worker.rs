//! The KYC mail use case: a worker that claims due jobs from the outbox, hands each
//! message to the mailer, and retries failures with capped exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng as _;

use super::{KycMailJob, MailError, MailOutbox, Mailer};
use crate::RepositoryError;

/// When to try again after a failed attempt, and when to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay after the first failure; doubled after each further one.
    pub base_delay: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The pause after failed attempt number `attempt` (1-based): exponential, capped,
    /// with "equal jitter" (between half and all of it) so instances do not retry in step.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        let half = exponential / 2;
        half + exponential
            .saturating_sub(half)
            .mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }
}

/// Delivers due KYC mails from the outbox.
pub struct KycMailWorker {
    outbox: Arc<dyn MailOutbox>,
    mailer: Arc<dyn Mailer>,
    policy: RetryPolicy,
    batch_size: u32,
    lease: Duration,
}

impl KycMailWorker {
    /// A worker over an outbox and a transport. `lease` must exceed the transport's own
    /// timeout, or a slow send could be claimed again by another worker.
    pub fn new(
        outbox: Arc<dyn MailOutbox>,
        mailer: Arc<dyn Mailer>,
        policy: RetryPolicy,
        lease: Duration,
    ) -> Self {
        Self {
            outbox,
            mailer,
            policy,
            batch_size: 20,
            lease,
        }
    }

    /// Claims and handles one batch of due jobs; returns how many were handled. Stops
    /// early once half the lease is used, so that no mail is still being sent when its
    /// lease runs out and another worker may claim it; the rest are claimed again later.
    pub async fn run_once(&self) -> Result<usize, RepositoryError> {
        let claimed = std::time::Instant::now();
        let jobs = self.outbox.claim_due(self.batch_size, self.lease).await?;
        let mut handled = 0;
        for job in &jobs {
            if claimed.elapsed() >= self.lease / 2 {
                tracing::info!(
                    left = jobs.len() - handled,
                    "half the lease used; leaving the rest of the batch for later"
                );
                break;
            }
            self.deliver(job).await?;
            handled += 1;
        }
        Ok(handled)
    }

    #[tracing::instrument(name = "kyc_mail.deliver", skip_all, fields(customer_id = %job.customer_id, attempt = job.attempt))]
    async fn deliver(&self, job: &KycMailJob) -> Result<(), RepositoryError> {
        match self.mailer.send(&job.mail()).await {
            Ok(()) => {
                tracing::info!(transport = self.mailer.name(), "KYC mail sent");
                self.outbox.mark_sent(job.customer_id).await
            }
            Err(error) => {
                let permanent = matches!(error, MailError::Rejected(_));
                // The error text can quote the recipient; it is stored, not logged.
                let stored = format!("{:#}", anyhow::Error::new(error));
                if permanent || job.attempt >= self.policy.max_attempts {
                    tracing::warn!(permanent, "KYC mail failed; giving up");
                    self.outbox.mark_failed(job.customer_id, stored).await
                } else {
                    let delay = self.policy.delay_after(job.attempt);
                    tracing::warn!(
                        retry_in_ms = delay.as_millis() as u64,
                        "KYC mail failed; will retry"
                    );
                    let next = Utc::now()
                        + chrono::TimeDelta::from_std(delay).unwrap_or(chrono::TimeDelta::MAX);
                    self.outbox.mark_retry(job.customer_id, stored, next).await
                }
            }
        }
    }

    /// Polls until `shutdown` turns true; finishes the batch in hand before stopping.
    pub async fn run(
        self,
        poll_interval: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        tracing::info!(transport = self.mailer.name(), "KYC mail worker started");
        while !*shutdown.borrow() {
            let handled = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "KYC mail worker could not reach the outbox");
                    0
                }
            };
            if handled == 0 {
                tokio::select! {
                    _ = shutdown.changed() => {}
                    () = tokio::time::sleep(poll_interval) => {}
                }
            }
        }
        tracing::info!("KYC mail worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::tests::job;
    use crate::mail::{MockMailOutbox, MockMailer, OutgoingMail};
    use async_trait::async_trait;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(60),
        }
    }

    fn worker(outbox: MockMailOutbox, mailer: MockMailer) -> KycMailWorker {
        KycMailWorker::new(
            Arc::new(outbox),
            Arc::new(mailer),
            policy(),
            Duration::from_secs(60),
        )
    }

    fn outbox_with(job: KycMailJob) -> MockMailOutbox {
        let mut outbox = MockMailOutbox::new();
        outbox
            .expect_claim_due()
            .times(1)
            .returning(move |_, _| Ok(vec![job.clone()]));
        outbox
    }

    fn mailer_answering(result: fn() -> Result<(), MailError>) -> MockMailer {
        let mut mailer = MockMailer::new();
        mailer.expect_name().return_const("test");
        mailer.expect_send().times(1).returning(move |_| result());
        mailer
    }

    #[test]
    fn retry_delays_grow_exponentially_with_jitter_and_a_cap() {
        let p = policy();
        for _ in 0..50 {
            let first = p.delay_after(1);
            assert!(
                first >= Duration::from_secs(5) && first <= Duration::from_secs(10),
                "{first:?}"
            );
            let second = p.delay_after(2);
            assert!(second >= Duration::from_secs(10) && second <= Duration::from_secs(20));
            let late = p.delay_after(30);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60));
        }
    }

    #[tokio::test]
    async fn a_sent_mail_marks_the_job_sent() {
        let mut outbox = outbox_with(job(1));
        outbox.expect_mark_sent().times(1).returning(|_| Ok(()));
        let mut mailer = MockMailer::new();
        mailer.expect_name().return_const("test");
        mailer
            .expect_send()
            .times(1)
            .withf(|mail| *mail == job(1).mail())
            .returning(|_| Ok(()));
        let handled = worker(outbox, mailer).run_once().await.unwrap();
        assert_eq!(handled, 1);
    }

    #[tokio::test]
    async fn a_transient_failure_schedules_a_later_retry() {
        let mut outbox = outbox_with(job(1));
        outbox
            .expect_mark_retry()
            .times(1)
            .withf(|_, error, next| {
                error.contains("unavailable") && *next > Utc::now() + chrono::TimeDelta::seconds(4)
            })
            .returning(|_, _, _| Ok(()));
        outbox.expect_mark_failed().never();
        let mailer = mailer_answering(|| {
            Err(MailError::Unavailable(anyhow::anyhow!(
                "connection refused"
            )))
        });
        worker(outbox, mailer).run_once().await.unwrap();
    }

    #[tokio::test]
    async fn the_last_allowed_attempt_failing_marks_the_job_failed() {
        let mut outbox = outbox_with(job(3));
        outbox
            .expect_mark_failed()
            .times(1)
            .withf(|_, error| error.contains("connection refused"))
            .returning(|_, _| Ok(()));
        outbox.expect_mark_retry().never();
        let mailer = mailer_answering(|| {
            Err(MailError::Unavailable(anyhow::anyhow!(
                "connection refused"
            )))
        });
        worker(outbox, mailer).run_once().await.unwrap();
    }

    #[tokio::test]
    async fn a_permanent_rejection_is_not_retried() {
        let mut outbox = outbox_with(job(1));
        outbox
            .expect_mark_failed()
            .times(1)
            .returning(|_, _| Ok(()));
        outbox.expect_mark_retry().never();
        let mailer = mailer_answering(|| Err(MailError::Rejected("550 no such user".into())));
        worker(outbox, mailer).run_once().await.unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_outbox_is_reported_not_swallowed() {
        let mut outbox = MockMailOutbox::new();
        outbox
            .expect_claim_due()
            .returning(|_, _| Err(RepositoryError::Unavailable(anyhow::anyhow!("db down"))));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        let err = worker(outbox, mailer).run_once().await.unwrap_err();
        assert!(matches!(err, RepositoryError::Unavailable(_)));
    }

    /// A transport that takes `delay` per mail.
    struct SlowMailer {
        delay: Duration,
        sent: std::sync::atomic::AtomicUsize,
    }

    #[async_trait]
    impl Mailer for SlowMailer {
        fn name(&self) -> &'static str {
            "slow"
        }

        async fn send(&self, _mail: &OutgoingMail) -> Result<(), MailError> {
            tokio::time::sleep(self.delay).await;
            self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_batch_stops_once_half_the_lease_is_used() {
        let mut outbox = MockMailOutbox::new();
        outbox
            .expect_claim_due()
            .times(1)
            .returning(|_, _| Ok(vec![job(1), job(1), job(1), job(1)]));
        outbox.expect_mark_sent().returning(|_| Ok(()));
        let mailer = Arc::new(SlowMailer {
            delay: Duration::from_millis(120),
            sent: Default::default(),
        });
        let worker = KycMailWorker::new(
            Arc::new(outbox),
            mailer.clone(),
            policy(),
            Duration::from_millis(400),
        );
        // 120 ms per mail, lease 400 ms: after two mails half the lease is gone.
        let handled = worker.run_once().await.unwrap();
        assert_eq!(handled, 2);
        assert_eq!(mailer.sent.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn the_worker_stops_when_told() {
        let mut outbox = MockMailOutbox::new();
        outbox.expect_claim_due().returning(|_, _| Ok(vec![]));
        let mut mailer = MockMailer::new();
        mailer.expect_name().return_const("test");
        let (tx, rx) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(worker(outbox, mailer).run(Duration::from_secs(3600), rx));
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .unwrap()
            .unwrap();
    }
}
