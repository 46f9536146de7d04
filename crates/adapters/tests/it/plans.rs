//! Every hot-path statement keeps its intended index however much a table grew after the
//! connection first ran it, with or without ANALYZE.
//!
//! For each statement in [`statements`]: the store runs it more than five times on empty
//! tables through its own pool of one connection (PostgreSQL switches a prepared statement
//! to a cached generic plan after five executions), tens of thousands of rows arrive, and
//! then the plan that connection uses for the statement is read back — on PostgreSQL with
//! `EXPLAIN (FORMAT JSON) EXECUTE` of Diesel's cached prepared statement, on SQLite with
//! `EXPLAIN QUERY PLAN` — before and after ANALYZE. A statement added to a hot path is one
//! more entry in its area's list: `customers` (registration, reads, listings, the KYC-mail
//! claim, the account lookup), `idempotency` (every keyed POST), `kyc` (every provider
//! webhook, the sync poller), `webhooks` (every event written, the deliveries listing).

mod check;
mod customers;
mod fill;
mod idempotency;
mod kyc;
mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU32;

use chrono::{DateTime, Utc};
use domain::{AccountId, Customer, CustomerId, EndpointId};
use ports::{CustomerRepository as _, WebhookEndpointRepository as _};
use testkit::{register_account, registration, sample_customer, TempSqlite, TestPostgres};

/// What the statements run with: the account that grows, and values to look up.
pub struct Fixture {
    account: AccountId,
    /// The account's first customer.
    first: Customer,
    customer: CustomerId,
    cursor: DateTime<Utc>,
    /// The account's webhook endpoint, which receives every event written.
    endpoint: EndpointId,
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

    fn endpoint(&self) -> String {
        format!("'{}'", self.endpoint.0)
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
    pub probe: check::Probe,
}

/// The statements of the hot paths, each with the plan it must keep.
pub fn statements() -> Vec<Statement> {
    [
        customers::statements(),
        idempotency::statements(),
        kyc::statements(),
        webhooks::statements(),
    ]
    .into_iter()
    .flatten()
    .collect()
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
    let endpoint = webhooks::endpoint_of(account);
    store
        .insert_endpoint(&endpoint, &webhooks::sealed(), 10, None)
        .await
        .unwrap();
    Fixture {
        account,
        customer: first.id,
        cursor: first.created_at,
        first,
        endpoint: endpoint.id,
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

    fill::postgres(db.url(), &fixture);
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

    fill::sqlite(&file.path(), &fixture);
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
