//! Idempotency keys, on every keyed POST: the claim (an insert that does nothing when the
//! key is known, then the key's record read locked) and the write of the key's outcome.

use chrono::{TimeDelta, Utc};
use ports::IdempotencyStore as _;
use ports::{
    Fingerprint, HeldKey, IdempotencyCompletion, IdempotencyKey, IdempotencyScope, KeyClaim,
    StoredResponse,
};
use uuid::Uuid;

use super::check::{Index, Probe};
use super::{Fixture, Statement};

/// The one key the statements claim, again and again: after the first claim, every claim
/// finds it in progress and reads its record.
fn scope(f: &Fixture) -> IdempotencyScope {
    IdempotencyScope {
        account: f.account,
        method: "POST".into(),
        path: "/customer".into(),
        key: IdempotencyKey::parse("probe-key").unwrap(),
    }
}

/// The key's PostgreSQL literals, in the order of the primary key.
fn key_literals(f: &Fixture) -> Vec<String> {
    vec![
        f.account(),
        "'POST'".into(),
        "'/customer'".into(),
        "'probe-key'".into(),
    ]
}

fn claim(f: &Fixture) -> KeyClaim {
    let now = Utc::now();
    KeyClaim {
        scope: scope(f),
        fingerprint: Fingerprint::from_sha256([7; 32]),
        candidate_id: Uuid::new_v4(),
        now,
        lease_until: now + TimeDelta::seconds(60),
        expires_at: now + TimeDelta::seconds(3600),
    }
}

/// Whether `sql` is the claim's locked read of the record.
fn key_read(sql: &str) -> bool {
    sql.starts_with("select idempotency_keys.account_id")
}

pub fn statements() -> Vec<Statement> {
    vec![
        Statement {
            name: "idempotency key claim (insert)",
            run: |s, f| {
                Box::pin(async move {
                    s.begin(&claim(f)).await.unwrap();
                })
            },
            sql: |sql| sql.starts_with("insert into idempotency_keys"),
            params: None,
            probe: Probe::no_full_scan(),
        },
        Statement {
            name: "idempotency key claim (record read)",
            run: |s, f| {
                Box::pin(async move {
                    s.begin(&claim(f)).await.unwrap();
                })
            },
            sql: key_read,
            params: Some(|f| {
                let mut params = key_literals(f);
                params.push("1".into());
                params
            }),
            probe: Probe::uses(Index::PrimaryKey("idempotency_keys"))
                .pg_cond(&["account_id =", "idempotency_key ="])
                .sqlite_cond(&["account_id=?", "idempotency_key=?"]),
        },
        Statement {
            name: "idempotency key outcome",
            run: |s, f| {
                Box::pin(async move {
                    s.complete(&IdempotencyCompletion {
                        key: HeldKey {
                            scope: scope(f),
                            reserved_id: f.customer.0,
                            lease_until: f.cursor,
                        },
                        response: StoredResponse {
                            status: 201,
                            content_type: None,
                            location: None,
                            body: b"{}".to_vec(),
                        },
                        customer_id: None,
                        expires_at: Utc::now(),
                    })
                    .await
                    .unwrap();
                })
            },
            sql: |sql| sql.starts_with("update idempotency_keys set state"),
            params: Some(|f| {
                let mut params: Vec<String> = [
                    "'completed'",
                    "NULL",
                    "201",
                    "NULL",
                    "NULL",
                    "'\\x7b7d'",
                    "NULL",
                    "now()",
                ]
                .map(String::from)
                .into();
                params.extend(key_literals(f));
                params.extend(["'in_progress'".to_owned(), f.cursor()]);
                params
            }),
            probe: Probe::uses(Index::PrimaryKey("idempotency_keys"))
                .pg_cond(&["account_id =", "idempotency_key ="])
                .sqlite_cond(&["account_id=?", "idempotency_key=?"]),
        },
    ]
}
