//! The stores every contract suite runs against: PostgreSQL and SQLite.

use std::sync::Arc;

use adapters::PoolSettings;
use diesel::connection::SimpleConnection as _;
use diesel::Connection as _;
use ports::{
    AccountRepository, CustomerDirectory, CustomerRepository, IdempotencyStore, KycReports,
    KycSubmissionRepository, KycSyncQueue, Outbox, StoreHealth, StoreStatistics, WebhookDeliveries,
    WebhookEndpointRepository,
};
use testkit::{TempSqlite, TestPostgres};

/// The ports one adapter serves.
#[derive(Clone)]
pub struct Store {
    pub customers: Arc<dyn CustomerRepository>,
    pub outbox: Arc<dyn Outbox>,
    pub directory: Arc<dyn CustomerDirectory>,
    pub accounts: Arc<dyn AccountRepository>,
    pub health: Arc<dyn StoreHealth>,
    pub statistics: Arc<dyn StoreStatistics>,
    pub submissions: Arc<dyn KycSubmissionRepository>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub kyc: Arc<dyn KycReports>,
    pub sync: Arc<dyn KycSyncQueue>,
    pub endpoints: Arc<dyn WebhookEndpointRepository>,
    pub deliveries: Arc<dyn WebhookDeliveries>,
    /// The database itself, for the few tests that must set up or inspect rows no port
    /// writes or reads yet.
    pub raw: RawDb,
}

/// A test database reached around the store, with plain SQL.
#[derive(Clone)]
pub enum RawDb {
    Postgres(String),
    Sqlite(std::path::PathBuf),
}

impl RawDb {
    /// Runs `sql` (one or more statements) on a fresh connection.
    pub fn execute(&self, sql: &str) {
        match self {
            Self::Postgres(url) => diesel::PgConnection::establish(url)
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
            Self::Sqlite(path) => diesel::SqliteConnection::establish(path.to_str().unwrap())
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
        }
    }

    /// The first column of the first row of `sql`, as a number.
    pub fn count(&self, sql: &str) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let query = diesel::sql_query(format!("SELECT ({sql}) AS n"));
        match self {
            Self::Postgres(url) => {
                query
                    .get_result::<Count>(&mut diesel::PgConnection::establish(url).unwrap())
                    .unwrap()
                    .n
            }
            Self::Sqlite(path) => {
                query
                    .get_result::<Count>(
                        &mut diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap(),
                    )
                    .unwrap()
                    .n
            }
        }
    }
}

impl RawDb {
    /// Every row of every table, as `(table, row as text)`, the tables read from the
    /// database's own catalog (see `testkit::dump_postgres`).
    pub fn dump(&self) -> Vec<(String, String)> {
        match self {
            Self::Postgres(url) => testkit::dump_postgres(url),
            Self::Sqlite(path) => testkit::dump_sqlite(path),
        }
    }
}

impl Store {
    fn of(repo: adapters::Store, raw: RawDb) -> Self {
        let repo = Arc::new(repo);
        Self {
            customers: repo.clone(),
            outbox: repo.clone(),
            directory: repo.clone(),
            accounts: repo.clone(),
            health: repo.clone(),
            statistics: repo.clone(),
            idempotency: repo.clone(),
            kyc: repo.clone(),
            sync: repo.clone(),
            endpoints: repo.clone(),
            deliveries: repo.clone(),
            submissions: repo,
            raw,
        }
    }

    /// A fresh account to own customers.
    pub async fn account(&self) -> domain::AccountId {
        testkit::register_account(self.accounts.as_ref()).await
    }
}

/// Pool settings for tests: small, and quick to report an unreachable database.
pub fn test_pool_settings() -> PoolSettings {
    PoolSettings {
        max_size: 4,
        connection_timeout: std::time::Duration::from_secs(5),
    }
}

/// The store on the test database, migrations applied.
pub fn open_postgres(db: &TestPostgres) -> adapters::Store {
    let store = adapters::Store::connect_postgres(db.url(), &test_pool_settings()).unwrap();
    store.run_migrations().unwrap();
    store
}

/// The store on the test file, migrations applied.
pub fn open_sqlite(file: &TempSqlite) -> adapters::Store {
    let store = adapters::Store::connect_sqlite(&file.path(), &test_pool_settings()).unwrap();
    store.run_migrations().unwrap();
    store
}

pub fn postgres() -> Option<(TestPostgres, Store)> {
    let db = TestPostgres::create()?;
    let store = Store::of(open_postgres(&db), RawDb::Postgres(db.url().to_owned()));
    Some((db, store))
}

/// Another store on the test database `db`, with its own pool, as another instance of the
/// service would have.
pub fn store_on(repo: adapters::Store, db: &TestPostgres) -> Store {
    Store::of(repo, RawDb::Postgres(db.url().to_owned()))
}

pub fn sqlite() -> Option<(TempSqlite, Store)> {
    let file = TempSqlite::new();
    let store = Store::of(open_sqlite(&file), RawDb::Sqlite(file.path()));
    Some((file, store))
}

/// Generates one `#[tokio::test]` per contract case for each store.
macro_rules! contract_suite {
    ($($case:ident),* $(,)?) => {
        mod on_postgres {
            $crate::stores::contract_suite!(@cases $crate::stores::postgres(); $($case),*);
        }
        mod on_sqlite {
            $crate::stores::contract_suite!(@cases $crate::stores::sqlite(); $($case),*);
        }
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((_guard, store)) = $make else { return };
                super::$case(store).await;
            }
        )*
    };
}
pub(crate) use contract_suite;
