//! The stores every contract suite runs against: PostgreSQL and SQLite.

use std::sync::Arc;

use adapters::PoolSettings;
use ports::{
    AccountRepository, CustomerRepository, KycSubmissionRepository, MailOutbox, StoreHealth,
};
use testkit::{TempSqlite, TestPostgres};

/// The ports one adapter serves.
#[derive(Clone)]
pub struct Store {
    pub customers: Arc<dyn CustomerRepository>,
    pub outbox: Arc<dyn MailOutbox>,
    pub accounts: Arc<dyn AccountRepository>,
    pub health: Arc<dyn StoreHealth>,
    pub submissions: Arc<dyn KycSubmissionRepository>,
}

impl Store {
    fn of<
        T: CustomerRepository + MailOutbox + AccountRepository + StoreHealth + KycSubmissionRepository,
    >(
        repo: T,
    ) -> Self {
        let repo = Arc::new(repo);
        Self {
            customers: repo.clone(),
            outbox: repo.clone(),
            accounts: repo.clone(),
            health: repo.clone(),
            submissions: repo,
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
    let store = Store::of(open_postgres(&db));
    Some((db, store))
}

pub fn sqlite() -> Option<(TempSqlite, Store)> {
    let file = TempSqlite::new();
    let store = Store::of(open_sqlite(&file));
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
