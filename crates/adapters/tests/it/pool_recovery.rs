//! A pooled connection is not tested with a query at every checkout; one the server
//! dropped is found by the statement that uses it, which fails as unavailable (the API
//! answers `503`), and the pool replaces it.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer};
use ports::{AccountRepository as _, RepositoryError};
use testkit::{register_account, TestPostgres};

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

#[derive(QueryableByName)]
struct Gone {
    #[diesel(sql_type = Bool)]
    gone: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_connection_the_server_dropped_fails_as_unavailable_then_is_replaced() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let settings = adapters::PoolSettings {
        max_size: 1,
        connection_timeout: Duration::from_secs(5),
    };
    let pool = adapters::postgres::connect(db.url(), &settings).unwrap();
    let store = adapters::Store::new(adapters::DbPool::Postgres(pool.clone()));
    store.run_migrations().unwrap();
    let account = register_account(&store).await;

    let pid = {
        let mut conn = pool.get().unwrap();
        diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<Pid>(&mut **conn)
            .unwrap()
            .pid
    };
    let mut admin = PgConnection::establish(db.url()).unwrap();
    diesel::sql_query(format!("SELECT pg_terminate_backend({pid}, 5000)"))
        .execute(&mut admin)
        .unwrap();
    let gone: Gone = diesel::sql_query(format!(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = {pid}) AS gone"
    ))
    .get_result(&mut admin)
    .unwrap();
    assert!(gone.gone);

    let first = store.find_account(account).await;
    assert!(
        matches!(first, Err(RepositoryError::Unavailable(_))),
        "{first:?}"
    );
    // The broken connection was dropped: the next call gets a fresh one.
    let again = store.find_account(account).await.unwrap();
    assert_eq!(again.map(|a| a.id), Some(account));
    let state = ports::StoreHealth::pool_state(&store);
    assert_eq!(state.in_use + state.idle, 1, "{state:?}");
}
