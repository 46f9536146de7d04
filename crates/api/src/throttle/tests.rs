//! The throttle's rules, driven directly: limits, slots in flight, waiting and settling.

use super::*;

const ID: &str = "2da859f2-9764-48e6-92e6-dd9f6747801b";

fn throttle(per_account: u32, per_account_address: u32, per_address: u32) -> LoginThrottle {
    LoginThrottle::new(ThrottleSettings {
        per_account,
        per_account_address,
        per_address,
        window: Duration::from_secs(60),
    })
}

fn keys(throttle: &LoginThrottle, account: &str, ip: &str) -> Keys {
    throttle.keys(account, Some(ip.parse().unwrap()))
}

/// Admits and fails one attempt.
fn fail(throttle: &LoginThrottle, account: &str, ip: &str) {
    let k = keys(throttle, account, ip);
    assert_eq!(throttle.try_admit(&k), Admission::Admitted);
    throttle.settle(&k, Outcome::Failed);
}

#[test]
fn the_throttle_refuses_after_the_limit_and_forgets_on_success() {
    let throttle = throttle(100, 2, 100);
    fail(&throttle, ID, "127.0.0.1");
    fail(&throttle, ID, "127.0.0.1");
    // Another spelling of the same id counts against the same account.
    let braced = keys(
        &throttle,
        &format!("{{{}}}", ID.to_uppercase()),
        "127.0.0.1",
    );
    let Admission::Refused(wait) = throttle.try_admit(&braced) else {
        panic!("the third attempt should be refused");
    };
    assert!(wait > 0 && wait <= 60);
    fail(&throttle, "not-an-id", "127.0.0.1");
    // A success (admitted before the failures) clears the account's count.
    let throttle = self::throttle(100, 2, 100);
    let k = keys(&throttle, ID, "127.0.0.1");
    assert_eq!(throttle.try_admit(&k), Admission::Admitted);
    fail(&throttle, ID, "127.0.0.1");
    throttle.settle(&k, Outcome::Succeeded);
    fail(&throttle, ID, "127.0.0.1");
    fail(&throttle, ID, "127.0.0.1");
}

#[test]
fn attempts_in_flight_count_so_parallel_guesses_cannot_pass_the_limit() {
    let throttle = throttle(100, 3, 100);
    let k = keys(&throttle, ID, "127.0.0.1");
    // Nothing has failed yet, but three attempts are under way: the fourth waits.
    for _ in 0..3 {
        assert_eq!(throttle.try_admit(&k), Admission::Admitted);
    }
    assert_eq!(throttle.try_admit(&k), Admission::Busy);
    // An outage is not a failed guess: its slot is free again.
    throttle.settle(&k, Outcome::Inconclusive);
    assert_eq!(throttle.try_admit(&k), Admission::Admitted);
    // Three failures: now refused outright, not merely busy.
    for _ in 0..3 {
        throttle.settle(&k, Outcome::Failed);
    }
    assert!(matches!(throttle.try_admit(&k), Admission::Refused(_)));
}

#[test]
fn a_success_gives_its_slot_back_on_every_key() {
    let throttle = throttle(3, 3, 3);
    let k = keys(&throttle, ID, "127.0.0.1");
    for _ in 0..10 {
        assert_eq!(throttle.try_admit(&k), Admission::Admitted);
        throttle.settle(&k, Outcome::Succeeded);
    }
    assert!(throttle.counts().is_empty(), "{:?}", throttle.counts());
}

#[test]
fn one_address_cannot_lock_an_account_out_for_the_others() {
    let throttle = throttle(50, 5, 100);
    for _ in 0..5 {
        fail(&throttle, ID, "198.51.100.1");
    }
    assert!(matches!(
        throttle.try_admit(&keys(&throttle, ID, "198.51.100.1")),
        Admission::Refused(_)
    ));
    // The owner, elsewhere, still gets in.
    assert_eq!(
        throttle.try_admit(&keys(&throttle, ID, "203.0.113.9")),
        Admission::Admitted
    );
}

#[test]
fn guesses_from_many_addresses_still_meet_the_account_limit() {
    let throttle = throttle(10, 5, 100);
    for n in 0..10 {
        fail(&throttle, ID, &format!("198.51.100.{n}"));
    }
    assert!(matches!(
        throttle.try_admit(&keys(&throttle, ID, "203.0.113.9")),
        Admission::Refused(_)
    ));
}

#[test]
fn the_throttle_limits_one_address_across_accounts_and_ipv6_by_64() {
    let throttle = throttle(100, 100, 3);
    for n in 0..3u128 {
        let id = uuid::Uuid::from_u128(n).to_string();
        fail(&throttle, &id, "2001:db8::1");
    }
    let other = uuid::Uuid::from_u128(9).to_string();
    assert!(matches!(
        throttle.try_admit(&keys(&throttle, &other, "2001:db8::ffff")),
        Admission::Refused(_)
    ));
    let k = keys(&throttle, &other, "2001:db8:0:1::1");
    assert_eq!(throttle.try_admit(&k), Admission::Admitted);
    let k = keys(&throttle, &other, "10.0.0.2");
    assert_eq!(throttle.try_admit(&k), Admission::Admitted);
}

#[test]
fn an_attempt_dropped_unsettled_gives_its_slots_back() {
    let throttle = throttle(1, 1, 1);
    let k = keys(&throttle, ID, "127.0.0.1");
    assert_eq!(throttle.try_admit(&k), Admission::Admitted);
    drop(Attempt {
        throttle: &throttle,
        keys: keys(&throttle, ID, "127.0.0.1"),
        settled: false,
    });
    assert!(throttle.counts().is_empty());
}

#[tokio::test]
async fn a_busy_attempt_waits_for_a_slot_and_is_admitted_when_one_settles() {
    let throttle = throttle(1, 1, 1);
    let first = throttle
        .admit(keys(&throttle, ID, "127.0.0.1"))
        .await
        .unwrap();
    let second = throttle.admit(keys(&throttle, ID, "127.0.0.1"));
    let mut second = std::pin::pin!(second);
    // Still waiting while the first is in flight.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), second.as_mut())
            .await
            .is_err()
    );
    first.succeeded();
    let second = tokio::time::timeout(Duration::from_secs(1), second)
        .await
        .expect("the waiting attempt should be admitted")
        .expect("and not refused");
    // Had it failed, the next attempt would be refused outright.
    second.failed();
    assert!(throttle
        .admit(keys(&throttle, ID, "127.0.0.1"))
        .await
        .is_err());
}
