//! Customers (duplicate check, insert, get by id, list pages with each filter), the
//! KYC-mail outbox claim and the account lookup.

use std::sync::atomic::Ordering;
use std::time::Duration;

use domain::{CustomerEmail, CustomerId, KycStatus};
use ports::AccountRepository as _;
use ports::{CustomerCursor, CustomerFilter, CustomerRepository as _, Outbox as _};
use testkit::{registration, sample_customer};

use super::check::{Index, Probe};
use super::{Fixture, Statement};

fn email(raw: &str) -> CustomerEmail {
    CustomerEmail::parse(raw).unwrap()
}

fn cursor(f: &Fixture) -> Option<CustomerCursor> {
    Some(CustomerCursor {
        created_at: f.cursor,
        id: f.customer,
    })
}

fn filter(email_: Option<&str>, kyc_status: Option<KycStatus>) -> CustomerFilter {
    CustomerFilter {
        email: email_.map(str::to_owned),
        kyc_status,
    }
}

/// Whether `sql` reads customers under these conditions: the e-mail filter, the KYC
/// status filter, the cursor, and a page's ordering.
fn customers_where(sql: &str, email_: bool, kyc: bool, cursor: bool, page: bool) -> bool {
    let Some((head, cond)) = sql.split_once(" where ") else {
        return false;
    };
    head.starts_with("select customers.id")
        && cond.contains("lower(customers.email) =") == email_
        && cond.contains("customers.kyc_status =") == kyc
        && cond.contains("(customers.created_at, customers.id) <") == cursor
        && cond.contains(" order by ") == page
}

/// Whether `sql` is the duplicate check (`$1` on PostgreSQL, `?` on SQLite: the address
/// as asked, which the answer names).
fn duplicate_check(sql: &str) -> bool {
    sql.starts_with("select customers.account_id, ") && sql.contains(" from customers where ")
}

/// The statements of the first round: registering, reading and listing customers, the
/// KYC-mail outbox claim and the account lookup behind every authenticated request.
pub fn statements() -> Vec<Statement> {
    vec![
        Statement {
            name: "duplicate check",
            run: |s, f| {
                Box::pin(async move {
                    s.email_exists(f.account, &email("probe@example.com"))
                        .await
                        .unwrap();
                })
            },
            sql: |sql| duplicate_check(sql) && !sql.contains(" union all "),
            params: Some(|f| {
                let probe = "'probe@example.com'".to_owned();
                vec![probe.clone(), f.account(), probe]
            }),
            probe: Probe::uses(Index::Named("customers_account_email_key"))
                .pg_cond(&["account_id =", "lower(email) ="])
                .sqlite_cond(&["account_id=?", "<expr>=?"]),
        },
        Statement {
            name: "duplicate check, batched",
            run: |s, f| {
                Box::pin(async move {
                    // Checks that arrive while one waits for the pool's connection go
                    // together, in one statement: two addresses, each asked for twice.
                    let (a, b) = (email("probe@example.com"), email("other@example.com"));
                    let (w, x, y, z) = tokio::join!(
                        s.email_exists(f.account, &a),
                        s.email_exists(f.account, &b),
                        s.email_exists(f.account, &a),
                        s.email_exists(f.account, &b),
                    );
                    for taken in [w, x, y, z] {
                        assert!(!taken.unwrap());
                    }
                })
            },
            sql: |sql| duplicate_check(sql) && sql.matches(" union all ").count() == 1,
            params: Some(|f| {
                let (a, b) = ("'probe@example.com'", "'other@example.com'");
                let part = |address: &str| [address.to_owned(), f.account(), address.to_owned()];
                part(a).into_iter().chain(part(b)).collect()
            }),
            probe: Probe::uses(Index::Named("customers_account_email_key"))
                .pg_cond(&["account_id =", "lower(email) ="])
                .sqlite_cond(&["account_id=?", "<expr>=?"])
                .generic_plan(),
        },
        Statement {
            name: "insert",
            run: |s, f| {
                Box::pin(async move {
                    let n = f.inserted.fetch_add(1, Ordering::Relaxed);
                    let customer = sample_customer(f.account, &format!("new{n}@example.com"));
                    s.insert(&registration(&customer)).await.unwrap();
                })
            },
            sql: |sql| sql.starts_with("insert into customers"),
            params: None,
            probe: Probe::no_full_scan(),
        },
        Statement {
            name: "get by id",
            run: |s, f| {
                Box::pin(async move {
                    s.find(f.account, f.customer).await.unwrap();
                })
            },
            sql: |sql| customers_where(sql, false, false, false, false),
            params: Some(|f| vec![f.customer(), "1".into()]),
            probe: Probe::uses(Index::PrimaryKey("customers"))
                .pg_cond(&["(id ="])
                .sqlite_cond(&["id=?"]),
        },
        Statement {
            name: "get by id, batched",
            run: |s, f| {
                Box::pin(async move {
                    // Lookups that arrive while one waits for the pool's connection go
                    // together, in one statement. Two ids, each asked for twice: a batch
                    // holding both is a statement of two branches.
                    let unknown = CustomerId(uuid::Uuid::nil());
                    let (a, b, c, d) = tokio::join!(
                        s.find(f.account, f.customer),
                        s.find(f.account, unknown),
                        s.find(f.account, f.customer),
                        s.find(f.account, unknown),
                    );
                    assert!(a.unwrap().is_some() && c.unwrap().is_some());
                    assert!(b.unwrap().is_none() && d.unwrap().is_none());
                })
            },
            sql: |sql| sql.matches(" union all ").count() == 1,
            params: Some(|f| vec![f.customer(), format!("'{}'", uuid::Uuid::nil())]),
            // Batches form by timing: the warm-up may send this statement fewer than the
            // five times after which PostgreSQL would switch to its generic plan, so the
            // generic plan is the one judged.
            probe: Probe::uses(Index::PrimaryKey("customers"))
                .pg_cond(&["(id ="])
                .sqlite_cond(&["id=?"])
                .generic_plan(),
        },
        Statement {
            name: "list page",
            run: |s, f| {
                Box::pin(async move {
                    s.list(f.account, &filter(None, None), None, 21)
                        .await
                        .unwrap();
                })
            },
            sql: |sql| customers_where(sql, false, false, false, true),
            params: Some(|f| vec![f.account()]),
            probe: Probe::uses(Index::Named("customers_account_created_idx"))
                .pg_cond(&["account_id ="])
                .sqlite_cond(&["account_id=?"])
                .in_index_order(),
        },
        Statement {
            name: "list page after a cursor",
            run: |s, f| {
                Box::pin(async move {
                    s.list(f.account, &filter(None, None), cursor(f), 21)
                        .await
                        .unwrap();
                })
            },
            sql: |sql| customers_where(sql, false, false, true, true),
            params: Some(|f| vec![f.account(), f.cursor(), f.customer()]),
            probe: Probe::uses(Index::Named("customers_account_created_idx"))
                .pg_cond(&["account_id =", "ROW(created_at, id) <"])
                .sqlite_cond(&["account_id=?", "(created_at,id)<(?,?)"])
                .in_index_order(),
        },
        Statement {
            name: "list page by e-mail",
            run: |s, f| {
                Box::pin(async move {
                    s.list(
                        f.account,
                        &filter(Some("probe@example.com"), None),
                        None,
                        21,
                    )
                    .await
                    .unwrap();
                })
            },
            sql: |sql| customers_where(sql, true, false, false, true),
            params: Some(|f| vec![f.account(), "'probe@example.com'".into()]),
            probe: Probe::uses(Index::Named("customers_account_email_key"))
                .pg_cond(&["account_id =", "lower(email) ="])
                .sqlite_cond(&["account_id=?", "<expr>=?"]),
        },
        Statement {
            name: "list page by e-mail after a cursor",
            run: |s, f| {
                Box::pin(async move {
                    s.list(
                        f.account,
                        &filter(Some("probe@example.com"), None),
                        cursor(f),
                        21,
                    )
                    .await
                    .unwrap();
                })
            },
            sql: |sql| customers_where(sql, true, false, true, true),
            params: Some(|f| {
                vec![
                    f.account(),
                    "'probe@example.com'".into(),
                    f.cursor(),
                    f.customer(),
                ]
            }),
            probe: Probe::uses(Index::Named("customers_account_email_key"))
                .pg_cond(&["account_id =", "lower(email) ="])
                .sqlite_cond(&["account_id=?", "<expr>=?"]),
        },
        Statement {
            name: "list page by KYC status",
            run: |s, f| {
                Box::pin(async move {
                    s.list(
                        f.account,
                        &filter(None, Some(KycStatus::Approved)),
                        None,
                        21,
                    )
                    .await
                    .unwrap();
                })
            },
            sql: |sql| customers_where(sql, false, true, false, true),
            params: Some(|f| vec![f.account(), "'approved'".into()]),
            probe: Probe::uses(Index::Named("customers_account_kyc_status_idx"))
                .pg_cond(&["account_id =", "kyc_status ="])
                .sqlite_cond(&["account_id=?", "kyc_status=?"])
                .in_index_order(),
        },
        Statement {
            name: "list page by KYC status after a cursor",
            run: |s, f| {
                Box::pin(async move {
                    s.list(
                        f.account,
                        &filter(None, Some(KycStatus::Approved)),
                        cursor(f),
                        21,
                    )
                    .await
                    .unwrap();
                })
            },
            sql: |sql| customers_where(sql, false, true, true, true),
            params: Some(|f| vec![f.account(), "'approved'".into(), f.cursor(), f.customer()]),
            probe: Probe::uses(Index::Named("customers_account_kyc_status_idx"))
                .pg_cond(&["account_id =", "kyc_status =", "ROW(created_at, id) <"])
                .sqlite_cond(&["account_id=?", "kyc_status=?", "(created_at,id)<(?,?)"])
                .in_index_order(),
        },
        Statement {
            name: "outbox claim",
            run: |s, _| {
                Box::pin(async move {
                    s.claim(&ports::ClaimRequest {
                        kind: ports::JobKind::KycMail,
                        limit: 20,
                        lease: Duration::from_secs(60),
                        per_endpoint: None,
                    })
                    .await
                    .unwrap();
                })
            },
            sql: |sql| {
                sql.starts_with("select outbox_jobs.id, outbox_jobs.endpoint_id from outbox_jobs")
            },
            params: Some(|_| {
                vec![
                    "'kyc_mail'".into(),
                    "now()".into(),
                    "now()".into(),
                    "20".into(),
                ]
            }),
            probe: Probe::uses(Index::Named("outbox_jobs_due_idx"))
                .pg_cond(&["next_attempt_at <="])
                .sqlite_cond(&["next_attempt_at<?"]),
        },
        Statement {
            name: "account lookup",
            run: |s, f| {
                Box::pin(async move {
                    s.find_account(f.account).await.unwrap();
                })
            },
            sql: |sql| sql.starts_with("select accounts.id"),
            params: Some(|f| vec![f.account(), "1".into()]),
            probe: Probe::uses(Index::PrimaryKey("accounts"))
                .pg_cond(&["(id ="])
                .sqlite_cond(&["id=?"]),
        },
    ]
}
