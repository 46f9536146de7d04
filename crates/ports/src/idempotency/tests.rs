//! Unit tests of the key's rules and of the idempotency use case, with a mocked store.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};
use domain::AccountId;
use uuid::Uuid;

use super::*;

fn key(raw: &str) -> Result<String, String> {
    IdempotencyKey::parse(raw).map(|k| k.as_str().to_owned())
}

#[test]
fn a_bare_key_of_printable_ascii_is_accepted_as_it_is() {
    assert_eq!(
        key("8e03978e-40d5-43e8-bc93-6894a57f9324").unwrap(),
        "8e03978e-40d5-43e8-bc93-6894a57f9324"
    );
    assert_eq!(key("a b~!").unwrap(), "a b~!");
    assert_eq!(key("x").unwrap(), "x");
}

#[test]
fn the_quoted_form_is_the_same_key() {
    assert_eq!(key("\"abc\"").unwrap(), key("abc").unwrap());
    assert_eq!(key(" \"abc\" ").unwrap(), "abc");
    assert_eq!(key(r#""a\"b\\c""#).unwrap(), r#"a"b\c"#);
}

#[test]
fn surrounding_whitespace_is_not_part_of_the_key() {
    assert_eq!(key("\t abc \t").unwrap(), "abc");
}

#[test]
fn keys_that_are_empty_too_long_or_not_printable_ascii_are_refused() {
    assert_eq!(key("").unwrap_err(), "must not be empty");
    assert_eq!(key("   ").unwrap_err(), "must not be empty");
    assert_eq!(key("\"\"").unwrap_err(), "must not be empty");
    assert_eq!(key(&"k".repeat(255)).unwrap().len(), 255);
    assert_eq!(
        key(&"k".repeat(256)).unwrap_err(),
        "must be at most 255 characters"
    );
    assert_eq!(
        key(&format!("\"{}\"", "k".repeat(256))).unwrap_err(),
        "must be at most 255 characters"
    );
    for bad in ["a\u{7f}b", "a\tb", "a\nb", "é", "a\u{0}"] {
        assert_eq!(key(bad).unwrap_err(), "must be printable ASCII", "{bad:?}");
    }
}

#[test]
fn a_broken_quoted_form_is_refused() {
    for bad in ["\"abc", "\"a\"b\"", r#""a\b""#, "\"abc\";p=1", "\""] {
        assert!(key(bad).unwrap_err().contains("quoted"), "{bad:?}");
    }
}

#[test]
fn fingerprints_are_64_lower_case_hex_digits() {
    let fp = Fingerprint::from_sha256([0xab; 32]);
    assert_eq!(fp.as_str(), "ab".repeat(32));
    assert_eq!(Fingerprint::from_stored(fp.as_str()), Some(fp));
    assert_eq!(Fingerprint::from_stored(&"AB".repeat(32)), None);
    assert_eq!(Fingerprint::from_stored("abc"), None);
}

#[test]
fn key_states_keep_their_spelling() {
    for state in [
        KeyState::InProgress,
        KeyState::Released,
        KeyState::Completed,
        KeyState::Erased,
    ] {
        assert_eq!(state.as_str().parse::<KeyState>().unwrap(), state);
    }
    assert!("done".parse::<KeyState>().is_err());
}

fn at(seconds: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn scope(account: u128, key: &str) -> IdempotencyScope {
    IdempotencyScope {
        account: AccountId(Uuid::from_u128(account)),
        method: "POST".into(),
        path: "/customer".into(),
        key: IdempotencyKey::parse(key).unwrap(),
    }
}

fn claim(fingerprint: u8, now: i64) -> KeyClaim {
    KeyClaim {
        scope: scope(1, "k"),
        fingerprint: Fingerprint::from_sha256([fingerprint; 32]),
        candidate_id: Uuid::from_u128(99),
        now: at(now),
        lease_until: at(now + 60),
        expires_at: at(now + 3600),
    }
}

fn recorded(
    fingerprint: u8,
    state: KeyState,
    locked_until: Option<i64>,
    expires_at: i64,
) -> RecordedKey {
    RecordedKey {
        fingerprint: Fingerprint::from_sha256([fingerprint; 32]),
        state,
        locked_until: locked_until.map(at),
        expires_at: at(expires_at),
    }
}

#[test]
fn a_finished_key_with_the_same_content_is_replayed_and_other_content_is_a_mismatch() {
    let done = recorded(1, KeyState::Completed, None, 3600);
    assert_eq!(claim(1, 10).verdict(&done), Verdict::Replay);
    assert_eq!(claim(2, 10).verdict(&done), Verdict::Mismatch);
}

#[test]
fn a_key_whose_customer_was_erased_is_gone_for_the_same_content_until_it_expires() {
    let erased = recorded(1, KeyState::Erased, None, 3600);
    assert_eq!(claim(1, 10).verdict(&erased), Verdict::Gone);
    assert_eq!(claim(2, 10).verdict(&erased), Verdict::Mismatch);
    assert_eq!(claim(1, 3600).verdict(&erased), Verdict::Replace);
}

#[test]
fn a_held_key_is_in_progress_until_its_lease_ends_then_taken_over() {
    let held = recorded(1, KeyState::InProgress, Some(60), 3600);
    assert_eq!(claim(1, 59).verdict(&held), Verdict::InProgress);
    assert_eq!(claim(1, 60).verdict(&held), Verdict::TakeOver);
    // Other content is refused whether or not the key is held.
    assert_eq!(claim(2, 59).verdict(&held), Verdict::Mismatch);
    assert_eq!(claim(2, 61).verdict(&held), Verdict::Mismatch);
}

#[test]
fn a_released_key_is_taken_over_by_the_same_content_only() {
    let released = recorded(1, KeyState::Released, None, 3600);
    assert_eq!(claim(1, 10).verdict(&released), Verdict::TakeOver);
    assert_eq!(claim(2, 10).verdict(&released), Verdict::Mismatch);
}

#[test]
fn an_expired_key_counts_as_new_unless_its_lease_still_lasts() {
    let done = recorded(1, KeyState::Completed, None, 3600);
    assert_eq!(claim(2, 3600).verdict(&done), Verdict::Replace);
    assert_eq!(claim(1, 3599).verdict(&done), Verdict::Replay);
    let held_past_expiry = recorded(1, KeyState::InProgress, Some(4000), 3600);
    assert!(!held_past_expiry.is_expired(at(3700)));
    assert_eq!(
        claim(1, 3700).verdict(&held_past_expiry),
        Verdict::InProgress
    );
    assert!(held_past_expiry.is_expired(at(4000)));
}

fn policy() -> IdempotencyPolicy {
    IdempotencyPolicy {
        ttl: Duration::from_secs(3600),
        lease: Duration::from_secs(60),
        key_required: false,
    }
}

fn service(store: MockIdempotencyStore) -> Idempotency {
    Idempotency::new(Arc::new(store), policy())
}

fn fingerprint() -> Fingerprint {
    Fingerprint::from_sha256([7; 32])
}

#[tokio::test]
async fn begin_claims_the_key_under_the_lease_and_lifetime_of_the_policy() {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut store = MockIdempotencyStore::new();
    store.expect_begin().times(1).returning(move |claim| {
        tx.send(claim.clone()).unwrap();
        Ok(Begun::Fresh {
            reserved_id: claim.candidate_id,
        })
    });
    let started = service(store)
        .begin(scope(1, "k"), fingerprint())
        .await
        .unwrap();
    let claim = rx.recv().unwrap();
    assert_eq!(claim.scope, scope(1, "k"));
    assert_eq!(claim.fingerprint, fingerprint());
    assert_eq!(claim.lease_until - claim.now, TimeDelta::seconds(60));
    assert_eq!(claim.expires_at - claim.now, TimeDelta::seconds(3600));
    // Millisecond times: what both stores keep exactly, so the lease compares equal.
    assert_eq!(claim.now.timestamp_subsec_micros() % 1000, 0);
    assert_eq!(
        started,
        Started::Fresh(HeldKey {
            scope: scope(1, "k"),
            reserved_id: claim.candidate_id,
            lease_until: claim.lease_until,
        })
    );
}

#[tokio::test]
async fn begin_passes_on_what_the_store_found() {
    let reserved = Uuid::from_u128(5);
    let stored = StoredResponse {
        status: 201,
        content_type: Some("application/json".into()),
        location: None,
        body: b"{}".to_vec(),
    };
    for (begun, expected) in [
        (Begun::Mismatch, "mismatch"),
        (Begun::InProgress, "in progress"),
        (Begun::Replay(stored.clone()), "replay"),
        (Begun::Gone, "gone"),
        (
            Begun::Resume {
                reserved_id: reserved,
            },
            "resume",
        ),
    ] {
        let mut store = MockIdempotencyStore::new();
        store
            .expect_begin()
            .times(1)
            .returning(move |_| Ok(begun.clone()));
        let started = service(store)
            .begin(scope(1, "k"), fingerprint())
            .await
            .unwrap();
        let found = match &started {
            Started::Mismatch => "mismatch",
            Started::InProgress => "in progress",
            Started::Replay(r) if *r == stored => "replay",
            Started::Gone => "gone",
            Started::Resume(held) if held.reserved_id == reserved => "resume",
            _ => "something else",
        };
        assert_eq!(found, expected, "{started:?}");
    }
}

#[test]
fn a_reservation_completes_the_key_with_the_rendered_result_for_the_ttl() {
    let held = HeldKey {
        scope: scope(1, "k"),
        reserved_id: Uuid::from_u128(3),
        lease_until: at(60),
    };
    let render: Renderer<String> = Arc::new(|value: &String| StoredResponse {
        status: 201,
        content_type: Some("text/plain".into()),
        location: None,
        body: value.as_bytes().to_vec(),
    });
    let reservation = service(MockIdempotencyStore::new()).reservation(held.clone(), render);
    assert_eq!(reservation.reserved_id(), Uuid::from_u128(3));
    let customer = domain::CustomerId(Uuid::from_u128(3));
    let completion = reservation.completion(&"made".to_owned(), Some(customer), at(10));
    assert_eq!(completion.key, held);
    assert_eq!(completion.response.body, b"made");
    assert_eq!(completion.customer_id, Some(customer));
    assert_eq!(completion.expires_at, at(3610));
}

#[tokio::test]
async fn complete_release_and_purge_go_to_the_store() {
    let held = HeldKey {
        scope: scope(1, "k"),
        reserved_id: Uuid::from_u128(3),
        lease_until: at(60),
    };
    let mut store = MockIdempotencyStore::new();
    let expected = held.clone();
    store
        .expect_complete()
        .times(1)
        .withf(move |c| {
            c.key == expected
                && c.response.status == 409
                && c.customer_id.is_none()
                && c.expires_at - Utc::now() > TimeDelta::seconds(3590)
        })
        .returning(|_| Ok(true));
    let expected = held.clone();
    store
        .expect_release()
        .times(1)
        .withf(move |k| *k == expected)
        .returning(|_| Ok(false));
    store
        .expect_purge_expired()
        .times(1)
        .withf(|now| (Utc::now() - *now).num_seconds().abs() < 5)
        .returning(|_| Ok(3));
    let service = service(store);
    let conflict = StoredResponse {
        status: 409,
        content_type: Some("application/json".into()),
        location: None,
        body: b"{}".to_vec(),
    };
    assert!(service.complete(&held, conflict, None).await.unwrap());
    assert!(!service.release(&held).await.unwrap());
    assert_eq!(service.purge_expired().await.unwrap(), 3);
}

#[tokio::test]
async fn the_periodic_purge_runs_until_shutdown_and_survives_store_errors() {
    let mut store = MockIdempotencyStore::new();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    store.expect_purge_expired().returning(move |_| {
        let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == 0 {
            Err(RepositoryError::Unavailable(anyhow::anyhow!("down")))
        } else {
            Ok(1)
        }
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(
        Arc::new(service(store)).purge_periodically(Duration::from_millis(10), stopped),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the purge stops on shutdown")
        .unwrap();
    assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 3);
}
