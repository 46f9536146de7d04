//! KYC mail jobs: claimed with leases, released, retried, finished with their effects, the
//! backlog per kind, and racing workers sending each mail once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use domain::{KycMailStatus, WebhookEventType};
use ports::{
    Effects, JobEnd, JobKind, JobWork, KycMailHandler, MailError, Mailer, OutboxWorker,
    OutgoingMail, RetryPolicy, RetrySchedule, WorkerSettings,
};

use super::{claim, deliveries, endpoint, events, insert, mails, report, reread, LEASE};
use crate::stores::Store;

pub async fn a_mail_job_is_queued_with_the_customer_only_when_mail_is_requested(store: Store) {
    let wanted = insert(&store, "wanted@example.com", true).await;
    let unwanted = insert(&store, "unwanted@example.com", false).await;

    let jobs = claim(&store, &mails(10, LEASE)).await;

    let [job] = jobs.as_slice() else {
        panic!("one job expected: {jobs:?}")
    };
    assert_eq!(job.attempt, 1);
    assert_eq!(
        job.work,
        JobWork::KycMail {
            customer_id: wanted.id,
            message_id: ports::kyc_message_id(wanted.id),
        }
    );
    assert_eq!(
        reread(&store, &unwanted).await.kyc_mail_status,
        KycMailStatus::NotRequested
    );
    // Other kinds are other queues.
    assert!(claim(&store, &deliveries(10, None)).await.is_empty());
}

pub async fn a_claimed_job_is_not_claimed_again_while_leased(store: Store) {
    insert(&store, "a@example.com", true).await;
    assert_eq!(claim(&store, &mails(10, LEASE)).await.len(), 1);
    assert!(claim(&store, &mails(10, LEASE)).await.is_empty());
}

pub async fn a_job_whose_lease_ran_out_is_claimed_again_as_a_new_attempt(store: Store) {
    insert(&store, "a@example.com", true).await;
    let short = mails(10, Duration::from_millis(1));
    assert_eq!(claim(&store, &short).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = claim(&store, &mails(10, LEASE)).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
}

pub async fn a_released_job_comes_back_with_its_attempt_uncounted(store: Store) {
    insert(&store, "a@example.com", true).await;
    let jobs = claim(&store, &mails(10, LEASE)).await;
    store
        .outbox
        .release(jobs.iter().map(|j| j.id).collect())
        .await
        .unwrap();
    let again = claim(&store, &mails(10, LEASE)).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 1);
}

pub async fn a_delivered_mail_is_done_and_the_customer_shows_sent(store: Store) {
    let customer = insert(&store, "a@example.com", true).await;
    let job = claim(&store, &mails(10, LEASE)).await.remove(0);
    let done = report(JobEnd::Delivered, None);
    let effects = Effects {
        kyc_mail_status: Some((customer.id, KycMailStatus::Sent)),
        events: vec![],
    };
    store
        .outbox
        .finish(job.id, done.clone(), effects)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(claim(&store, &mails(10, LEASE)).await.is_empty());
    let after = reread(&store, &customer).await;
    assert_eq!(after.kyc_mail_status, KycMailStatus::Sent);
    // A change to the customer: its version and updated_at move.
    assert_eq!(after.version, customer.version + 1);
    assert_eq!(
        after.updated_at.map(|t| t.timestamp_millis()),
        Some(done.at.timestamp_millis())
    );
    assert_eq!(
        store.outbox.backlog(JobKind::KycMail).await.unwrap().queued,
        0
    );
}

pub async fn a_retried_job_waits_until_it_is_due(store: Store) {
    let customer = insert(&store, "a@example.com", true).await;
    let job = claim(&store, &mails(10, LEASE)).await.remove(0);
    let later = report(
        JobEnd::RetryAt(Utc::now() + TimeDelta::hours(1)),
        Some("connection refused"),
    );
    store
        .outbox
        .finish(job.id, later, Effects::default())
        .await
        .unwrap();
    assert!(claim(&store, &mails(10, LEASE)).await.is_empty());
    let now = report(
        JobEnd::RetryAt(Utc::now() - TimeDelta::seconds(1)),
        Some("connection refused"),
    );
    store
        .outbox
        .finish(job.id, now, Effects::default())
        .await
        .unwrap();
    let due = claim(&store, &mails(10, LEASE)).await;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempt, 2);
    let after = reread(&store, &customer).await;
    assert_eq!(after.kyc_mail_status, KycMailStatus::Queued);
    assert_eq!(after.version, customer.version);
}

pub async fn a_failed_job_is_given_up_with_its_effects(store: Store) {
    let customer = insert(&store, "a@example.com", true).await;
    let receiver = endpoint(&store, customer.account_id, "[]", true);
    let job = claim(&store, &mails(10, LEASE)).await.remove(0);
    let failed = events().about(
        WebhookEventType::CustomerKycMailFailed,
        &customer,
        None,
        Utc::now(),
    );
    let effects = Effects {
        kyc_mail_status: Some((customer.id, KycMailStatus::Failed)),
        events: vec![failed.clone()],
    };
    store
        .outbox
        .finish(
            job.id,
            report(JobEnd::Failed, Some("550 no such user")),
            effects,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(claim(&store, &mails(10, LEASE)).await.is_empty());
    assert_eq!(
        reread(&store, &customer).await.kyc_mail_status,
        KycMailStatus::Failed
    );
    let delivery = claim(&store, &deliveries(10, None)).await;
    assert_eq!(
        delivery.iter().map(|j| j.work.clone()).collect::<Vec<_>>(),
        vec![JobWork::Webhook {
            endpoint_id: domain::EndpointId(receiver),
            event_id: failed.id,
        }]
    );
}

pub async fn the_queue_reports_its_depth_and_oldest_job_per_kind(store: Store) {
    let empty = store.outbox.backlog(JobKind::KycMail).await.unwrap();
    assert_eq!((empty.queued, empty.oldest_age), (0, None));
    let first = insert(&store, "a@example.com", true).await;
    insert(&store, "b@example.com", true).await;
    insert(&store, "c@example.com", false).await;
    let backlog = store.outbox.backlog(JobKind::KycMail).await.unwrap();
    assert_eq!(backlog.queued, 2);
    let age = backlog.oldest_age.unwrap();
    let expected = (Utc::now() - first.created_at).to_std().unwrap();
    assert!(
        age <= expected && expected - age < Duration::from_secs(5),
        "{age:?}"
    );
    assert_eq!(
        store.outbox.backlog(JobKind::Webhook).await.unwrap().queued,
        0
    );
}

/// Records every message; counts per Message-ID.
#[derive(Default)]
struct RecordingMailer {
    sent: Mutex<HashMap<String, usize>>,
}

#[async_trait]
impl Mailer for RecordingMailer {
    fn name(&self) -> &'static str {
        "recording"
    }

    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        // A little latency, so racing workers really overlap.
        tokio::time::sleep(Duration::from_millis(2)).await;
        *self
            .sent
            .lock()
            .unwrap()
            .entry(mail.message_id.clone())
            .or_default() += 1;
        Ok(())
    }
}

pub async fn racing_workers_send_every_job_exactly_once(store: Store) {
    let mut expected = Vec::new();
    for i in 0..30 {
        expected.push(insert(&store, &format!("c{i}@example.com"), true).await.id);
    }
    let mailer = Arc::new(RecordingMailer::default());
    let settings = WorkerSettings {
        batch_size: 10,
        lease: LEASE,
        concurrency: 4,
        per_endpoint: None,
        schedule: RetrySchedule::Exponential(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(60),
        }),
    };
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let handler = KycMailHandler::new(mailer.clone(), store.directory.clone(), events());
            let worker =
                OutboxWorker::new(store.outbox.clone(), Arc::new(handler), settings.clone());
            tokio::spawn(async move { while worker.run_once().await.unwrap() > 0 {} })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let sent = mailer.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 30);
    assert!(sent.values().all(|&n| n == 1), "{sent:?}");
    for id in expected {
        assert_eq!(sent.get(&ports::kyc_message_id(id)), Some(&1));
    }
}

crate::stores::contract_suite!(
    a_mail_job_is_queued_with_the_customer_only_when_mail_is_requested,
    a_claimed_job_is_not_claimed_again_while_leased,
    a_job_whose_lease_ran_out_is_claimed_again_as_a_new_attempt,
    a_released_job_comes_back_with_its_attempt_uncounted,
    a_delivered_mail_is_done_and_the_customer_shows_sent,
    a_retried_job_waits_until_it_is_due,
    a_failed_job_is_given_up_with_its_effects,
    the_queue_reports_its_depth_and_oldest_job_per_kind,
    racing_workers_send_every_job_exactly_once,
);
