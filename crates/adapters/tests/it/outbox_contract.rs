//! The KYC-mail outbox contract, written once and run against both Diesel adapters.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use domain::{Customer, KycMailStatus};
use ports::{KycMailWorker, MailError, Mailer, OutgoingMail, RetryPolicy};
use testkit::{registration, sample_customer};

use crate::stores::Store;

const LEASE: Duration = Duration::from_secs(60);

async fn insert(store: &Store, email: &str, send_kyc_mail: bool) -> Customer {
    let mut customer = sample_customer(store.account().await, email);
    customer.send_kyc_mail = send_kyc_mail;
    customer.kyc_mail_status = KycMailStatus::initial(send_kyc_mail);
    store
        .customers
        .insert(&registration(&customer))
        .await
        .unwrap();
    customer
}

async fn status_of(store: &Store, customer: &Customer) -> KycMailStatus {
    store
        .customers
        .find(customer.account_id, customer.id)
        .await
        .unwrap()
        .unwrap()
        .kyc_mail_status
}

pub async fn a_job_is_queued_with_the_customer_only_when_mail_is_requested(store: Store) {
    let wanted = insert(&store, "wanted@example.com", true).await;
    let unwanted = insert(&store, "unwanted@example.com", false).await;

    let jobs = store.outbox.claim_due(10, LEASE).await.unwrap();

    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.customer_id, wanted.id);
    assert_eq!(job.attempt, 1);
    assert_eq!(job.to, "wanted@example.com");
    assert_eq!(job.kyc_link, wanted.kyc.kyc_link);
    assert_eq!(job.tos_link, wanted.kyc.tos_link);
    assert_eq!(job.message_id, ports::kyc_message_id(wanted.id));
    assert_eq!(status_of(&store, &wanted).await, KycMailStatus::Queued);
    assert_eq!(
        status_of(&store, &unwanted).await,
        KycMailStatus::NotRequested
    );
}

pub async fn a_claimed_job_is_not_claimed_again_while_leased(store: Store) {
    insert(&store, "a@example.com", true).await;
    assert_eq!(store.outbox.claim_due(10, LEASE).await.unwrap().len(), 1);
    assert!(store.outbox.claim_due(10, LEASE).await.unwrap().is_empty());
}

pub async fn a_job_whose_lease_ran_out_is_claimed_again_as_a_new_attempt(store: Store) {
    insert(&store, "a@example.com", true).await;
    assert_eq!(
        store
            .outbox
            .claim_due(10, Duration::from_millis(1))
            .await
            .unwrap()
            .len(),
        1
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = store.outbox.claim_due(10, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
}

pub async fn a_sent_job_is_done_and_the_customer_shows_sent(store: Store) {
    let customer = insert(&store, "a@example.com", true).await;
    store
        .outbox
        .claim_due(10, Duration::from_millis(1))
        .await
        .unwrap();
    store.outbox.mark_sent(customer.id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(store.outbox.claim_due(10, LEASE).await.unwrap().is_empty());
    assert_eq!(status_of(&store, &customer).await, KycMailStatus::Sent);
    assert_eq!(store.outbox.queued().await.unwrap().0, 0);
}

pub async fn a_retried_job_waits_until_it_is_due(store: Store) {
    let customer = insert(&store, "a@example.com", true).await;
    store.outbox.claim_due(10, LEASE).await.unwrap();
    store
        .outbox
        .mark_retry(
            customer.id,
            "connection refused".into(),
            Utc::now() + TimeDelta::hours(1),
        )
        .await
        .unwrap();
    assert!(store.outbox.claim_due(10, LEASE).await.unwrap().is_empty());
    store
        .outbox
        .mark_retry(
            customer.id,
            "connection refused".into(),
            Utc::now() - TimeDelta::seconds(1),
        )
        .await
        .unwrap();
    let due = store.outbox.claim_due(10, LEASE).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempt, 2);
    assert_eq!(status_of(&store, &customer).await, KycMailStatus::Queued);
}

pub async fn a_failed_job_is_given_up_and_the_customer_shows_failed(store: Store) {
    let customer = insert(&store, "a@example.com", true).await;
    store
        .outbox
        .claim_due(10, Duration::from_millis(1))
        .await
        .unwrap();
    store
        .outbox
        .mark_failed(customer.id, "550 no such user".into())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(store.outbox.claim_due(10, LEASE).await.unwrap().is_empty());
    assert_eq!(status_of(&store, &customer).await, KycMailStatus::Failed);
}

pub async fn the_queue_reports_its_depth_and_oldest_job(store: Store) {
    assert_eq!(store.outbox.queued().await.unwrap(), (0, None));
    let first = insert(&store, "a@example.com", true).await;
    insert(&store, "b@example.com", true).await;
    insert(&store, "c@example.com", false).await;
    let (depth, oldest) = store.outbox.queued().await.unwrap();
    assert_eq!(depth, 2);
    assert_eq!(oldest, Some(first.created_at));
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
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_secs(60),
        max_delay: Duration::from_secs(60),
    };
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let worker = KycMailWorker::new(store.outbox.clone(), mailer.clone(), policy, LEASE);
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
    a_job_is_queued_with_the_customer_only_when_mail_is_requested,
    a_claimed_job_is_not_claimed_again_while_leased,
    a_job_whose_lease_ran_out_is_claimed_again_as_a_new_attempt,
    a_sent_job_is_done_and_the_customer_shows_sent,
    a_retried_job_waits_until_it_is_due,
    a_failed_job_is_given_up_and_the_customer_shows_failed,
    the_queue_reports_its_depth_and_oldest_job,
    racing_workers_send_every_job_exactly_once,
);
