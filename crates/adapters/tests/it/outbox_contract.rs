//! The outbox contract — claiming with leases, outcomes and their effects, events fanned
//! out to endpoints in the writer's transaction — written once and run against both stores.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use domain::{Customer, KycMailStatus, WebhookEventType};
use ports::{
    AttemptReport, ClaimRequest, Effects, EventDraft, Events, JobEnd, JobKind, JobWork,
    KycMailHandler, MailError, Mailer, NewEvent, OutboxJob, OutboxWorker, OutgoingMail, Presenter,
    RetryPolicy, RetrySchedule, WorkerSettings,
};
use testkit::{registration, sample_customer};
use uuid::Uuid;

use crate::stores::Store;

const LEASE: Duration = Duration::from_secs(60);

fn mails(limit: u32, lease: Duration) -> ClaimRequest {
    ClaimRequest {
        kind: JobKind::KycMail,
        limit,
        lease,
        per_endpoint: None,
    }
}

fn deliveries(limit: u32, per_endpoint: Option<u32>) -> ClaimRequest {
    ClaimRequest {
        kind: JobKind::Webhook,
        limit,
        lease: LEASE,
        per_endpoint,
    }
}

fn report(end: JobEnd, error: Option<&str>) -> AttemptReport {
    AttemptReport {
        end,
        error: error.map(str::to_owned),
        http_status: None,
        at: Utc::now(),
    }
}

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

async fn reread(store: &Store, customer: &Customer) -> Customer {
    store
        .directory
        .customer_by_id(customer.id)
        .await
        .unwrap()
        .unwrap()
}

/// Registers a webhook endpoint for `account` with `filter` (JSON array of type names).
pub(crate) fn endpoint(
    store: &Store,
    account: domain::AccountId,
    filter: &str,
    enabled: bool,
) -> Uuid {
    let id = Uuid::new_v4();
    store.raw.execute(&format!(
        "INSERT INTO webhook_endpoints (id, account_id, url, events, enabled, \
         secret_ciphertext, created_at) VALUES ('{id}', '{account}', \
         'https://receiver.example/hook', '{filter}', {enabled}, 'sealed', \
         '2026-01-01T00:00:00.000Z')"
    ));
    id
}

/// Renders an event as its type, so tests can see what was written.
struct TypePresenter;

impl Presenter for TypePresenter {
    fn event_body(&self, draft: &EventDraft) -> String {
        format!("{{\"type\":\"{}\"}}", draft.event_type)
    }
}

fn events() -> Events {
    Events::new(Arc::new(TypePresenter))
}

pub async fn a_mail_job_is_queued_with_the_customer_only_when_mail_is_requested(store: Store) {
    let wanted = insert(&store, "wanted@example.com", true).await;
    let unwanted = insert(&store, "unwanted@example.com", false).await;

    let jobs = store.outbox.claim(&mails(10, LEASE)).await.unwrap();

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
    assert!(store
        .outbox
        .claim(&deliveries(10, None))
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_claimed_job_is_not_claimed_again_while_leased(store: Store) {
    insert(&store, "a@example.com", true).await;
    assert_eq!(
        store.outbox.claim(&mails(10, LEASE)).await.unwrap().len(),
        1
    );
    assert!(store
        .outbox
        .claim(&mails(10, LEASE))
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_job_whose_lease_ran_out_is_claimed_again_as_a_new_attempt(store: Store) {
    insert(&store, "a@example.com", true).await;
    let short = mails(10, Duration::from_millis(1));
    assert_eq!(store.outbox.claim(&short).await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = store.outbox.claim(&mails(10, LEASE)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
}

pub async fn a_released_job_comes_back_with_its_attempt_uncounted(store: Store) {
    insert(&store, "a@example.com", true).await;
    let jobs = store.outbox.claim(&mails(10, LEASE)).await.unwrap();
    store
        .outbox
        .release(jobs.iter().map(|j| j.id).collect())
        .await
        .unwrap();
    let again = store.outbox.claim(&mails(10, LEASE)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 1);
}

pub async fn a_delivered_mail_is_done_and_the_customer_shows_sent(store: Store) {
    let customer = insert(&store, "a@example.com", true).await;
    let job = store
        .outbox
        .claim(&mails(10, LEASE))
        .await
        .unwrap()
        .remove(0);
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
    assert!(store
        .outbox
        .claim(&mails(10, LEASE))
        .await
        .unwrap()
        .is_empty());
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
    let job = store
        .outbox
        .claim(&mails(10, LEASE))
        .await
        .unwrap()
        .remove(0);
    let later = report(
        JobEnd::RetryAt(Utc::now() + TimeDelta::hours(1)),
        Some("connection refused"),
    );
    store
        .outbox
        .finish(job.id, later, Effects::default())
        .await
        .unwrap();
    assert!(store
        .outbox
        .claim(&mails(10, LEASE))
        .await
        .unwrap()
        .is_empty());
    let now = report(
        JobEnd::RetryAt(Utc::now() - TimeDelta::seconds(1)),
        Some("connection refused"),
    );
    store
        .outbox
        .finish(job.id, now, Effects::default())
        .await
        .unwrap();
    let due = store.outbox.claim(&mails(10, LEASE)).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempt, 2);
    let after = reread(&store, &customer).await;
    assert_eq!(after.kyc_mail_status, KycMailStatus::Queued);
    assert_eq!(after.version, customer.version);
}

pub async fn a_failed_job_is_given_up_with_its_effects(store: Store) {
    let customer = insert(&store, "a@example.com", true).await;
    let receiver = endpoint(&store, customer.account_id, "[]", true);
    let job = store
        .outbox
        .claim(&mails(10, LEASE))
        .await
        .unwrap()
        .remove(0);
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
    assert!(store
        .outbox
        .claim(&mails(10, LEASE))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        reread(&store, &customer).await.kyc_mail_status,
        KycMailStatus::Failed
    );
    let delivery = store.outbox.claim(&deliveries(10, None)).await.unwrap();
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

fn created_event(customer: &Customer) -> NewEvent {
    events().about(
        WebhookEventType::CustomerCreated,
        customer,
        None,
        customer.created_at,
    )
}

pub async fn an_event_is_delivered_once_to_each_enabled_endpoint_that_subscribes(store: Store) {
    let account = store.account().await;
    let other_account = store.account().await;
    let all = endpoint(&store, account, "[]", true);
    let created_only = endpoint(&store, account, "[\"customer.created\"]", true);
    endpoint(&store, account, "[\"customer.kyc.approved\"]", true);
    endpoint(&store, account, "[]", false);
    endpoint(&store, other_account, "[]", true);

    let customer = sample_customer(account, "a@example.com");
    let event = created_event(&customer);
    store
        .customers
        .insert(&registration(&customer).with_event(event.clone()))
        .await
        .unwrap();

    let jobs = store.outbox.claim(&deliveries(10, None)).await.unwrap();
    let mut receivers: Vec<Uuid> = jobs
        .iter()
        .map(|job| match &job.work {
            JobWork::Webhook {
                endpoint_id,
                event_id,
            } => {
                assert_eq!(event_id, &event.id);
                endpoint_id.0
            }
            other => panic!("a delivery expected: {other:?}"),
        })
        .collect();
    receivers.sort();
    let mut expected = vec![all, created_only];
    expected.sort();
    assert_eq!(receivers, expected);
    assert_eq!(
        store.raw.count(&format!(
            "SELECT count(*) FROM webhook_events WHERE id = '{}' AND body = '{}'",
            event.id, event.body
        )),
        1
    );
}

pub async fn an_event_nobody_receives_is_not_kept(store: Store) {
    let account = store.account().await;
    endpoint(&store, account, "[\"customer.kyc.rejected\"]", true);
    let customer = sample_customer(account, "a@example.com");
    store
        .customers
        .insert(&registration(&customer).with_event(created_event(&customer)))
        .await
        .unwrap();
    assert_eq!(store.raw.count("SELECT count(*) FROM webhook_events"), 0);
    assert_eq!(
        store
            .raw
            .count("SELECT count(*) FROM outbox_jobs WHERE kind = 'webhook'"),
        0
    );
}

pub async fn no_endpoint_holds_more_leases_than_its_share(store: Store) {
    let account = store.account().await;
    let slow = endpoint(&store, account, "[]", true);
    let fast = endpoint(&store, account, "[]", true);
    for i in 0..4 {
        let customer = sample_customer(account, &format!("c{i}@example.com"));
        store
            .customers
            .insert(&registration(&customer).with_event(created_event(&customer)))
            .await
            .unwrap();
    }
    let count = |jobs: &[OutboxJob], endpoint: Uuid| {
        jobs.iter()
            .filter(|j| matches!(&j.work, JobWork::Webhook { endpoint_id, .. } if endpoint_id.0 == endpoint))
            .count()
    };
    let first = store.outbox.claim(&deliveries(10, Some(2))).await.unwrap();
    assert_eq!((count(&first, slow), count(&first, fast)), (2, 2));
    // Both endpoints have two in flight: a second claimer gets nothing more until one ends.
    assert!(store
        .outbox
        .claim(&deliveries(10, Some(2)))
        .await
        .unwrap()
        .is_empty());
    let done = first
        .iter()
        .find(|j| count(std::slice::from_ref(j), fast) == 1)
        .unwrap();
    store
        .outbox
        .finish(done.id, report(JobEnd::Delivered, None), Effects::default())
        .await
        .unwrap();
    let next = store.outbox.claim(&deliveries(10, Some(2))).await.unwrap();
    assert_eq!((count(&next, slow), count(&next, fast)), (0, 1));
}

/// Writes one `customer.created` per new customer of `account`, oldest first.
async fn created_customers(store: &Store, account: domain::AccountId, prefix: &str, n: usize) {
    for i in 0..n {
        let customer = sample_customer(account, &format!("{prefix}{i}@example.com"));
        store
            .customers
            .insert(&registration(&customer).with_event(created_event(&customer)))
            .await
            .unwrap();
    }
}

fn endpoint_of(job: &OutboxJob) -> Uuid {
    match &job.work {
        JobWork::Webhook { endpoint_id, .. } => endpoint_id.0,
        other => panic!("a delivery expected: {other:?}"),
    }
}

pub async fn a_long_backlog_of_one_endpoint_does_not_hide_the_others(store: Store) {
    let account = store.account().await;
    let busy = endpoint(&store, account, "[]", true);
    created_customers(&store, account, "busy", 30).await;
    let other_account = store.account().await;
    let quiet = endpoint(&store, other_account, "[]", true);
    created_customers(&store, other_account, "quiet", 1).await;

    // The 30 deliveries to `busy` are all older than the one to `quiet`.
    let first = store.outbox.claim(&deliveries(5, Some(2))).await.unwrap();
    let mut got: Vec<Uuid> = first.iter().map(endpoint_of).collect();
    got.sort();
    let mut expected = vec![busy, busy, quiet];
    expected.sort();
    assert_eq!(got, expected);
    // `busy` is at its share: nothing more for anyone until one of its attempts ends.
    assert!(store
        .outbox
        .claim(&deliveries(5, Some(2)))
        .await
        .unwrap()
        .is_empty());
}

pub async fn racing_claimers_never_exceed_an_endpoints_share(store: Store) {
    let account = store.account().await;
    let target = endpoint(&store, account, "[]", true);
    created_customers(&store, account, "race", 20).await;
    let claims: Vec<_> = (0..8)
        .map(|_| {
            let outbox = Arc::clone(&store.outbox);
            tokio::spawn(async move { outbox.claim(&deliveries(10, Some(3))).await })
        })
        .collect();
    let mut leased = 0;
    for claim in claims {
        let jobs = claim.await.unwrap().unwrap();
        assert!(jobs.iter().all(|j| endpoint_of(j) == target));
        leased += jobs.len();
    }
    assert_eq!(
        leased, 3,
        "eight claimers at once share one endpoint's three leases"
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
    an_event_is_delivered_once_to_each_enabled_endpoint_that_subscribes,
    an_event_nobody_receives_is_not_kept,
    no_endpoint_holds_more_leases_than_its_share,
    a_long_backlog_of_one_endpoint_does_not_hide_the_others,
    racing_claimers_never_exceed_an_endpoints_share,
    racing_workers_send_every_job_exactly_once,
);
