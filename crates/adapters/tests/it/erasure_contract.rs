//! Erasing a customer, written once and run against both stores: nothing of the person is
//! left in any table, queued mails and pending deliveries are cancelled and only
//! `customer.deleted` goes out, the id is never used again, and an idempotent retry of the
//! request that created the customer is answered "gone".

use chrono::TimeDelta;
use domain::{Customer, CustomerEmail, CustomerName, KycMailStatus, PhoneNumber, WebhookEventType};
use ports::{
    AttemptReport, Begun, ClaimRequest, CustomerChange, CustomerErasure, Effects, Fingerprint,
    HeldKey, IdempotencyCompletion, IdempotencyKey, IdempotencyScope, JobEnd, JobKind, JobWork,
    KeyClaim, RepositoryError, StoredResponse,
};
use testkit::{registration, sample_customer};
use uuid::Uuid;

use crate::changes_contract::{events, insert, mails, now};
use crate::outbox_contract::endpoint;
use crate::stores::Store;

const NAME: &str = "Zebulon Quixote Erasable";
const EMAIL: &str = "zebulon.erasable@example.net";
const PHONE: &str = "+442071838750";

/// The person to erase: name, address and phone found nowhere else in the database.
fn person(account: domain::AccountId) -> Customer {
    let mut customer = sample_customer(account, EMAIL);
    customer.name = CustomerName::parse(NAME).unwrap();
    customer.phone = PhoneNumber::parse(PHONE, None).unwrap();
    customer
}

fn deliveries() -> ClaimRequest {
    ClaimRequest {
        kind: JobKind::Webhook,
        limit: 50,
        lease: std::time::Duration::from_secs(60),
        per_endpoint: None,
    }
}

fn erasure_of(customer: &Customer) -> CustomerErasure {
    let at = now();
    CustomerErasure::of(customer, at).with_event(events().erased(
        customer.account_id,
        customer.id,
        at,
    ))
}

/// The rows of every table that show any of `needles` (see `testkit::traces`).
fn traces(store: &Store, needles: &[&str]) -> Vec<(String, String)> {
    testkit::traces(store.raw.dump(), needles)
}

/// A claim of `key` for content `content`.
fn claim(account: domain::AccountId, key: &str, content: u8) -> KeyClaim {
    let at = now();
    KeyClaim {
        scope: IdempotencyScope {
            account,
            method: "POST".into(),
            path: "/customer".into(),
            key: IdempotencyKey::parse(key).unwrap(),
        },
        fingerprint: Fingerprint::from_sha256([content; 32]),
        candidate_id: Uuid::new_v4(),
        now: at,
        lease_until: at + TimeDelta::seconds(60),
        expires_at: at + TimeDelta::seconds(3600),
    }
}

/// Registers `person` as a create under an idempotency key does: under the key's reserved
/// id, the key finished with an answer that shows the person.
async fn create_under_key(store: &Store, claim: &KeyClaim, mut person: Customer) -> Customer {
    let Begun::Fresh { reserved_id } = store.idempotency.begin(claim).await.unwrap() else {
        panic!("a fresh key expected")
    };
    person.id = domain::CustomerId(reserved_id);
    let answer = serde_json::json!({"data": {"id": reserved_id, "full_name": NAME, "email": EMAIL, "phone": PHONE}});
    let record = registration(&person).with_idempotency(IdempotencyCompletion {
        key: HeldKey {
            scope: claim.scope.clone(),
            reserved_id,
            lease_until: claim.lease_until,
        },
        response: StoredResponse {
            status: 201,
            content_type: Some("application/json".into()),
            location: None,
            body: answer.to_string().into_bytes(),
        },
        customer_id: Some(person.id),
        expires_at: claim.expires_at,
    });
    let created = events().about(WebhookEventType::CustomerCreated, &person, None, now());
    store
        .customers
        .insert(&record.with_event(created))
        .await
        .unwrap();
    person
}

pub async fn after_erasure_no_table_holds_the_persons_name_address_or_phone(store: Store) {
    let account = store.account().await;
    endpoint(&store, account, "[]", true);
    let key = claim(account, "create-zebulon", 1);
    let person = create_under_key(&store, &key, person(account)).await;
    // A change, with its event; a mail error that quotes the address, as SMTP errors do.
    let mut changed = person.clone();
    changed.name = CustomerName::parse(&format!("{NAME} Jr")).unwrap();
    changed.version = 2;
    changed.updated_at = Some(now());
    let updated = events().about(WebhookEventType::CustomerUpdated, &changed, None, now());
    store
        .customers
        .update(&CustomerChange::new(changed.clone(), 1).with_event(updated))
        .await
        .unwrap();
    store.raw.execute(&format!(
        "UPDATE outbox_jobs SET last_error = '550 <{EMAIL}>: mailbox unavailable' \
         WHERE customer_id = '{}'",
        person.id
    ));
    // Someone else, who stays.
    let bystander = sample_customer(account, "bystander@example.com");
    insert(&store, &bystander).await;
    let needles = [NAME, EMAIL, PHONE];
    let before: std::collections::BTreeSet<String> = traces(&store, &needles)
        .into_iter()
        .map(|(table, _)| table)
        .collect();
    // The search finds the person wherever the service keeps it, binary columns included.
    for table in [
        "customers",
        "webhook_events",
        "outbox_jobs",
        "idempotency_keys",
    ] {
        assert!(
            before.contains(table),
            "no trace found in {table}: {before:?}"
        );
    }

    store.customers.erase(&erasure_of(&changed)).await.unwrap();

    let left = traces(&store, &needles);
    assert!(left.is_empty(), "traces of the erased person: {left:#?}");
    assert_eq!(
        store.customers.find(account, person.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.raw.count(&format!(
            "SELECT count(*) FROM customer_tombstones WHERE id = '{}' AND account_id = '{account}'",
            person.id
        )),
        1
    );
    assert_eq!(
        store.customers.find(account, bystander.id).await.unwrap(),
        Some(bystander)
    );
}

pub async fn erasure_cancels_queued_mail_and_pending_deliveries_and_sends_only_customer_deleted(
    store: Store,
) {
    let account = store.account().await;
    endpoint(&store, account, "[]", true);
    let person = person(account);
    let created = events().about(WebhookEventType::CustomerCreated, &person, None, now());
    store
        .customers
        .insert(&registration(&person).with_event(created))
        .await
        .unwrap();
    let bystander = sample_customer(account, "bystander@example.com");
    let theirs = events().about(WebhookEventType::CustomerCreated, &bystander, None, now());
    store
        .customers
        .insert(&registration(&bystander).with_event(theirs.clone()))
        .await
        .unwrap();

    let erasure = erasure_of(&person);
    store.customers.erase(&erasure).await.unwrap();

    let mails: Vec<JobWork> = store
        .outbox
        .claim(&mails())
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.work)
        .collect();
    assert_eq!(
        mails,
        [JobWork::KycMail {
            customer_id: bystander.id,
            message_id: ports::kyc_message_id(bystander.id),
        }],
        "the erased person's queued mail is never sent"
    );
    let mut sent: Vec<String> = store
        .outbox
        .claim(&deliveries())
        .await
        .unwrap()
        .into_iter()
        .map(|j| match j.work {
            JobWork::Webhook { event_id, .. } => event_id.as_str().to_owned(),
            other => panic!("not a delivery: {other:?}"),
        })
        .collect();
    sent.sort();
    let mut expected = vec![
        erasure.events[0].id.as_str().to_owned(),
        theirs.id.as_str().to_owned(),
    ];
    expected.sort();
    assert_eq!(
        sent, expected,
        "only customer.deleted goes out about the person"
    );
    assert_eq!(
        store.raw.count(&format!(
            "SELECT count(*) FROM webhook_events WHERE customer_id = '{}' \
             AND event_type = 'customer.deleted' AND body NOT LIKE '%@%'",
            person.id
        )),
        1
    );
}

pub async fn an_attempt_that_ends_after_the_erasure_records_nothing_about_the_person(store: Store) {
    let account = store.account().await;
    endpoint(&store, account, "[]", true);
    let person = person(account);
    insert(&store, &person).await;
    let job = store.outbox.claim(&mails()).await.unwrap().remove(0);

    store.customers.erase(&erasure_of(&person)).await.unwrap();

    // The mail worker, unaware, reports its attempt with the effects it decided before.
    let mut snapshot = person.clone();
    snapshot.kyc_mail_status = KycMailStatus::Failed;
    let effects = Effects {
        kyc_mail_status: Some((person.id, KycMailStatus::Failed)),
        events: vec![events().about(
            WebhookEventType::CustomerKycMailFailed,
            &snapshot,
            None,
            now(),
        )],
    };
    let report = AttemptReport {
        end: JobEnd::Failed,
        error: Some(format!("550 <{EMAIL}>")),
        http_status: None,
        at: now(),
    };
    store.outbox.finish(job.id, report, effects).await.unwrap();

    let left = traces(&store, &[NAME, EMAIL, PHONE]);
    assert!(left.is_empty(), "{left:#?}");
    assert_eq!(store.raw.count("SELECT count(*) FROM customers"), 0);
}

pub async fn an_erased_id_is_never_used_again(store: Store) {
    let account = store.account().await;
    let person = person(account);
    insert(&store, &person).await;
    store.customers.erase(&erasure_of(&person)).await.unwrap();

    let err = store
        .customers
        .insert(&registration(&person))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Erased), "{err:?}");
    assert_eq!(store.raw.count("SELECT count(*) FROM customers"), 0);
    assert_eq!(store.raw.count("SELECT count(*) FROM outbox_jobs"), 0);
}

pub async fn a_retry_of_the_request_that_created_an_erased_customer_is_gone(store: Store) {
    let account = store.account().await;
    let key = claim(account, "create-zebulon", 1);
    let person = create_under_key(&store, &key, person(account)).await;
    store.customers.erase(&erasure_of(&person)).await.unwrap();

    let retry = claim(account, "create-zebulon", 1);
    assert_eq!(store.idempotency.begin(&retry).await.unwrap(), Begun::Gone);
    // Other content under the key is still a mismatch; the key itself is kept.
    let other = claim(account, "create-zebulon", 2);
    assert_eq!(
        store.idempotency.begin(&other).await.unwrap(),
        Begun::Mismatch
    );
    assert_eq!(
        store
            .raw
            .count("SELECT count(*) FROM idempotency_keys WHERE state = 'erased' AND response_body IS NULL"),
        1
    );
}

pub async fn an_erasure_against_a_version_that_moved_erases_nothing(store: Store) {
    let account = store.account().await;
    endpoint(&store, account, "[]", true);
    let person = person(account);
    let created = events().about(WebhookEventType::CustomerCreated, &person, None, now());
    store
        .customers
        .insert(&registration(&person).with_event(created))
        .await
        .unwrap();
    let mut stale = person.clone();
    stale.version = 0;

    let err = store
        .customers
        .erase(&erasure_of(&stale))
        .await
        .unwrap_err();

    assert!(matches!(err, RepositoryError::Conflict), "{err:?}");
    assert_eq!(
        store.customers.find(account, person.id).await.unwrap(),
        Some(person)
    );
    // Its jobs and events were deleted and put back by the rollback, all of them.
    assert_eq!(store.raw.count("SELECT count(*) FROM outbox_jobs"), 2);
    assert_eq!(store.raw.count("SELECT count(*) FROM webhook_events"), 1);
    assert_eq!(
        store.raw.count("SELECT count(*) FROM customer_tombstones"),
        0
    );
}

pub async fn another_account_cannot_erase_a_customer(store: Store) {
    let owner = store.account().await;
    let person = person(owner);
    insert(&store, &person).await;
    let mut foreign = person.clone();
    foreign.account_id = store.account().await;
    let err = store
        .customers
        .erase(&erasure_of(&foreign))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Conflict), "{err:?}");
    assert_eq!(
        store.customers.find(owner, person.id).await.unwrap(),
        Some(person)
    );
    assert_eq!(
        store.raw.count("SELECT count(*) FROM customer_tombstones"),
        0
    );
}

pub async fn an_address_is_free_again_once_its_customer_is_erased(store: Store) {
    let account = store.account().await;
    let person = person(account);
    insert(&store, &person).await;
    store.customers.erase(&erasure_of(&person)).await.unwrap();
    let email = CustomerEmail::parse(EMAIL).unwrap();
    assert!(!store.customers.email_exists(account, &email).await.unwrap());
    insert(&store, &sample_customer(account, EMAIL)).await;
}

pub async fn erasure_keeps_only_the_non_personal_part_of_kyc_submissions_and_history(store: Store) {
    let account = store.account().await;
    let customer = person(account);
    insert(&store, &customer).await;
    // A masked submission, as the KYC-by-API route keeps it, and a history entry.
    store.raw.execute(&format!(
        "INSERT INTO kyc_submissions (id, customer_id, account_id, customer_type, submitted_at, \
         fields, identity_documents, documents, outcome, kyc_status, provider_reference, \
         refused_fields, finished_at) VALUES ('{submission}', '{customer}', '{account}', \
         'individual', '2026-01-02T03:04:05.678Z', '[\"first_name\",\"birth_date\"]', \
         '[{{\"path\":\"identifying_information[0]\",\"type\":\"ssn\",\"number_last_four\":\"6789\"}}]', \
         '[]', 'accepted', 'under_review', 'bridge_cust_4711', '[]', '2026-01-02T03:04:06.000Z');
         INSERT INTO kyc_history (id, customer_id, from_status, to_status, tos_status, source, \
         event_id, at, recorded_at, applied) VALUES ('{history}', '{customer}', 'not_started', \
         'under_review', 'pending', 'webhook', 'wh_1', '2026-01-02T03:04:05.678Z', \
         '2026-01-02T03:04:05.678Z', true);",
        submission = Uuid::new_v4(),
        history = Uuid::new_v4(),
        customer = customer.id,
    ));

    store.customers.erase(&erasure_of(&customer)).await.unwrap();

    for (what, sql) in [
        ("the submission", "SELECT count(*) FROM kyc_submissions WHERE outcome = 'accepted' AND kyc_status = 'under_review'"),
        ("the history", "SELECT count(*) FROM kyc_history WHERE to_status = 'under_review'"),
    ] {
        assert_eq!(store.raw.count(sql), 1, "{what} is kept");
    }
    for (what, sql) in [
        (
            "the last digits",
            "SELECT count(*) FROM kyc_submissions WHERE identity_documents LIKE '%6789%'",
        ),
        (
            "the provider's reference",
            "SELECT count(*) FROM kyc_submissions WHERE provider_reference IS NOT NULL",
        ),
    ] {
        let sql = if matches!(store.raw, crate::stores::RawDb::Postgres(_)) {
            sql.replace("identity_documents LIKE", "identity_documents::text LIKE")
        } else {
            sql.to_owned()
        };
        assert_eq!(store.raw.count(&sql), 0, "{what} went");
    }
}

crate::stores::contract_suite!(
    after_erasure_no_table_holds_the_persons_name_address_or_phone,
    erasure_cancels_queued_mail_and_pending_deliveries_and_sends_only_customer_deleted,
    an_attempt_that_ends_after_the_erasure_records_nothing_about_the_person,
    an_erased_id_is_never_used_again,
    a_retry_of_the_request_that_created_an_erased_customer_is_gone,
    an_erasure_against_a_version_that_moved_erases_nothing,
    another_account_cannot_erase_a_customer,
    an_address_is_free_again_once_its_customer_is_erased,
    erasure_keeps_only_the_non_personal_part_of_kyc_submissions_and_history,
);
