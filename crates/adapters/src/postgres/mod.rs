//! The customer repository on PostgreSQL: Diesel over an r2d2 pool, native types
//! (`uuid`, `timestamptz`, `jsonb`), migrations embedded in the binary.

mod accounts;
mod health;
mod outbox;
pub(crate) mod schema;

use anyhow::Context as _;
use async_trait::async_trait;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use domain::{AccountId, Customer, CustomerEmail, CustomerId};
use ports::{CustomerCursor, CustomerFilter, CustomerRepository, RepositoryError};

use crate::db::{build_pool, run_blocking, PoolSettings};
// Postgres has native types for every value, so the neutral record is its row type too.
use crate::db::StoredCustomer as CustomerRow;
use outbox::NewMailJobRow;
pub(crate) use schema::customers;
use schema::kyc_mail_jobs;

/// The PostgreSQL migrations, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// An advisory-lock key, so that several instances starting together migrate one at a time.
const MIGRATION_LOCK_KEY: i64 = 0x6375_7374_6f6d_6572; // "customer"

/// A pool of PostgreSQL connections.
pub type PgPool = Pool<ConnectionManager<PgConnection>>;

diesel::define_sql_function! {
    /// SQL `lower(text)`: the unique index is on `lower(email)`, so lookups use it too.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Opens a pool to `database_url`, failing fast when the server does not answer.
pub fn connect(database_url: &str, settings: &PoolSettings) -> anyhow::Result<PgPool> {
    build_pool(
        ConnectionManager::<PgConnection>::new(database_url),
        settings,
        None,
    )
}

/// Applies pending migrations under an advisory lock; returns how many were applied.
pub fn run_migrations(pool: &PgPool) -> anyhow::Result<usize> {
    let mut conn = pool
        .get()
        .context("no database connection for migrations")?;
    diesel::select(pg_advisory_lock(MIGRATION_LOCK_KEY))
        .execute(&mut conn)
        .context("could not take the migration lock")?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|v| v.len())
        .map_err(|e| anyhow::anyhow!(e).context("could not apply migrations"));
    diesel::select(pg_advisory_unlock(MIGRATION_LOCK_KEY))
        .execute(&mut conn)
        .context("could not release the migration lock")?;
    applied
}

diesel::define_sql_function! {
    /// Session-level advisory lock.
    fn pg_advisory_lock(key: diesel::sql_types::BigInt);
}
diesel::define_sql_function! {
    /// Releases a session-level advisory lock.
    fn pg_advisory_unlock(key: diesel::sql_types::BigInt) -> diesel::sql_types::Bool;
}

/// The PostgreSQL store: customers, their mail outbox and accounts.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Wraps a pool whose database has been migrated.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl CustomerRepository for PgStore {
    #[tracing::instrument(name = "pg.insert_customer", skip_all, fields(customer_id = %customer.id))]
    async fn insert(&self, customer: &Customer) -> Result<(), RepositoryError> {
        let row = CustomerRow::from_domain(customer);
        let job = customer.send_kyc_mail.then(|| NewMailJobRow {
            customer_id: customer.id.0,
            message_id: ports::kyc_message_id(customer.id),
            next_attempt_at: customer.created_at,
            created_at: customer.created_at,
        });
        run_blocking(&self.pool, move |conn| {
            conn.transaction(|conn| {
                diesel::insert_into(customers::table)
                    .values(&row)
                    .execute(conn)?;
                if let Some(job) = &job {
                    diesel::insert_into(kyc_mail_jobs::table)
                        .values(job)
                        .execute(conn)?;
                }
                Ok(())
            })
        })
        .await
    }

    #[tracing::instrument(name = "pg.email_exists", skip_all, fields(account_id = %account_id))]
    async fn email_exists(
        &self,
        account_id: AccountId,
        email: &CustomerEmail,
    ) -> Result<bool, RepositoryError> {
        let email = email.as_str().to_owned();
        run_blocking(&self.pool, move |conn| {
            diesel::select(diesel::dsl::exists(
                customers::table
                    .filter(customers::account_id.eq(account_id.0))
                    .filter(lower(customers::email).eq(lower(email))),
            ))
            .get_result(conn)
        })
        .await
    }

    #[tracing::instrument(name = "pg.list_customers", skip_all, fields(account_id = %account_id))]
    async fn list(
        &self,
        account_id: AccountId,
        filter: &CustomerFilter,
        after: Option<CustomerCursor>,
        limit: u32,
    ) -> Result<Vec<Customer>, RepositoryError> {
        let filter = filter.clone();
        let rows = run_blocking(&self.pool, move |conn| {
            let mut query = customers::table
                .filter(customers::account_id.eq(account_id.0))
                .into_boxed();
            if let Some(email) = filter.email {
                query = query.filter(lower(customers::email).eq(lower(email)));
            }
            if let Some(status) = filter.kyc_status {
                query = query.filter(customers::kyc_status.eq(status));
            }
            if let Some(after) = after {
                query = query.filter(
                    customers::created_at
                        .lt(after.created_at)
                        .or(customers::created_at
                            .eq(after.created_at)
                            .and(customers::id.lt(after.id.0))),
                );
            }
            query
                .order((customers::created_at.desc(), customers::id.desc()))
                .limit(i64::from(limit))
                .select(CustomerRow::as_select())
                .load(conn)
        })
        .await?;
        rows.into_iter()
            .map(|r| r.into_domain().map_err(RepositoryError::Unexpected))
            .collect()
    }

    #[tracing::instrument(name = "pg.find_customer", skip_all, fields(account_id = %account_id, customer_id = %id))]
    async fn find(
        &self,
        account_id: AccountId,
        id: CustomerId,
    ) -> Result<Option<Customer>, RepositoryError> {
        let row = run_blocking(&self.pool, move |conn| {
            customers::table
                .filter(customers::account_id.eq(account_id.0))
                .filter(customers::id.eq(id.0))
                .select(CustomerRow::as_select())
                .first(conn)
                .optional()
        })
        .await?;
        row.map(CustomerRow::into_domain)
            .transpose()
            .map_err(RepositoryError::Unexpected)
    }
}
