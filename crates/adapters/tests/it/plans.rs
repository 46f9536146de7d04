//! Every hot-path statement keeps its intended index however much a table grew after the
//! connection first ran it, with or without ANALYZE.
//!
//! For each statement in [`statements`]: the store runs it more than five times on empty
//! tables through its own pool of one connection (PostgreSQL switches a prepared statement
//! to a cached generic plan after five executions), tens of thousands of rows arrive, and
//! then the plan that connection uses for the statement is read back — on PostgreSQL with
//! `EXPLAIN (FORMAT JSON) EXECUTE` of Diesel's cached prepared statement, on SQLite with
//! `EXPLAIN QUERY PLAN` — before and after ANALYZE. A statement added to a hot path is one
//! more entry in [`statements`].

mod check;
mod fill;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{AccountId, CustomerEmail, CustomerId, KycStatus};
use ports::AccountRepository as _;
use ports::{CustomerCursor, CustomerFilter, CustomerRepository as _, Outbox as _};
use testkit::{register_account, registration, sample_customer, TempSqlite, TestPostgres};

use check::{Index, Probe};

/// What the statements run with: the account that grows, and values to look up.
pub struct Fixture {
    account: AccountId,
    customer: CustomerId,
    cursor: DateTime<Utc>,
    inserted: AtomicU32,
}

impl Fixture {
    /// PostgreSQL literals.
    fn account(&self) -> String {
        format!("'{}'", self.account.0)
    }

    fn customer(&self) -> String {
        format!("'{}'", self.customer.0)
    }

    fn cursor(&self) -> String {
        format!("'{}'", self.cursor.to_rfc3339())
    }
}

type Run = for<'a> fn(&'a adapters::Store, &'a Fixture) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// A statement on a hot path and the plan it must keep.
pub struct Statement {
    /// What it is, in failure messages.
    pub name: &'static str,
    /// Runs it once through the store, as the service does.
    pub run: Run,
    /// Picks its SQL among the statements `run` sent (quotes removed, lower case).
    pub sql: fn(&str) -> bool,
    /// Its parameters as PostgreSQL literals, in order; `None`: NULL for each (enough for
    /// an INSERT's VALUES, whose plan does not depend on them).
    pub params: Option<fn(&Fixture) -> Vec<String>>,
    /// The plan it must have.
    pub probe: Probe,
}

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

/// The statements of the hot paths, each with the plan it must keep.
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
            sql: |sql| sql.starts_with("select exists"),
            params: Some(|f| vec![f.account(), "'probe@example.com'".into()]),
            probe: Probe::uses(Index::Named("customers_account_email_key"))
                .pg_cond(&["account_id =", "lower(email) ="])
                .sqlite_cond(&["account_id=?", "<expr>=?"]),
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

/// Runs every statement more than five times on empty tables, recording the SQL each sent.
async fn warm_up(
    store: &adapters::Store,
    fixture: &Fixture,
    recorder: &check::Recorder,
) -> Vec<String> {
    let mut sql = Vec::new();
    for statement in statements() {
        recorder.clear();
        for _ in 0..7 {
            (statement.run)(store, fixture).await;
        }
        let sent = recorder.take();
        let picked: Vec<_> = sent
            .iter()
            .filter(|s| (statement.sql)(&check::normalise(s)))
            .collect();
        assert!(
            !picked.is_empty(),
            "{}: no statement picked among {sent:#?}",
            statement.name
        );
        sql.push(picked[0].clone());
    }
    sql
}

async fn fixture_on(store: &adapters::Store) -> Fixture {
    let account = register_account(store).await;
    let first = sample_customer(account, "first@example.com");
    store.insert(&registration(&first)).await.unwrap();
    Fixture {
        account,
        customer: first.id,
        cursor: first.created_at,
        inserted: AtomicU32::new(0),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_statements_keep_their_index_as_tables_grow() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    // A pool of one, as the service opens them: its one connection runs every statement.
    let pool = adapters::postgres::connect(db.url(), &check::pool_of_one()).unwrap();
    let store = adapters::Store::new(adapters::DbPool::Postgres(pool.clone()));
    store.run_migrations().unwrap();
    let recorder = check::Recorder::install::<diesel::PgConnection>(&mut pool.get().unwrap());
    let fixture = fixture_on(&store).await;
    let sql = warm_up(&store, &fixture, &recorder).await;

    fill::postgres(db.url(), fixture.account);
    for analyzed in [false, true] {
        if analyzed {
            fill::analyze_postgres(db.url());
        }
        let mut conn = pool.get().unwrap();
        for (statement, sql) in statements().iter().zip(&sql) {
            check::postgres_plan(&mut conn, statement, sql, &fixture, analyzed);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_statements_keep_their_index_as_tables_grow() {
    let file = TempSqlite::new();
    let pool = adapters::sqlite::connect(&file.path(), &check::pool_of_one()).unwrap();
    let store = adapters::Store::new(adapters::DbPool::Sqlite(pool.clone()));
    store.run_migrations().unwrap();
    let recorder = check::Recorder::install::<diesel::SqliteConnection>(&mut pool.get().unwrap());
    let fixture = fixture_on(&store).await;
    let sql = warm_up(&store, &fixture, &recorder).await;

    fill::sqlite(&file.path(), fixture.account);
    for analyzed in [false, true] {
        if analyzed {
            fill::analyze_sqlite(&file.path());
        }
        let mut conn = pool.get().unwrap();
        for (statement, sql) in statements().iter().zip(&sql) {
            check::sqlite_plan(&mut conn, statement, sql, analyzed);
        }
    }
}
