//! The customer repository on an embedded SQLite file (bundled SQLite, no system library):
//! WAL journal and a busy timeout so concurrent requests wait instead of failing with
//! "database is locked".

mod accounts;
mod health;
mod outbox;
mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use domain::{AccountId, Customer, CustomerEmail, CustomerId};
use ports::{CustomerCursor, CustomerFilter, CustomerRepository, RepositoryError};

use crate::db::{build_pool, run_blocking, PoolSettings, StoredCustomer};
use outbox::NewMailJobRow;
use schema::{customers, kyc_mail_jobs};

/// The SQLite migrations, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// A pool of SQLite connections to one database file.
pub type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

diesel::define_sql_function! {
    /// SQL `lower(text)`, matching the expression of the e-mail unique index.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Reads the file path out of `sqlite://PATH`, `sqlite:PATH` or a bare path.
pub fn path_from_url(url: &str) -> anyhow::Result<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path.contains(":memory:") {
        anyhow::bail!("DATABASE_URL must name a SQLite file (an in-memory database is not shared between pooled connections)");
    }
    Ok(PathBuf::from(path))
}

/// Settings applied to every new connection.
#[derive(Debug)]
struct Pragmas {
    busy_timeout: Duration,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            self.busy_timeout.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens (creating it and its directory when missing) the SQLite file at `path`.
/// Writers wait up to the pool's connection timeout for the write lock.
pub fn connect(path: &Path, settings: &PoolSettings) -> anyhow::Result<SqlitePool> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the data directory {}", dir.display()))?;
    }
    let url = path
        .to_str()
        .with_context(|| format!("the SQLite path {} is not UTF-8", path.display()))?;
    let pragmas = Pragmas {
        busy_timeout: settings.connection_timeout.max(Duration::from_secs(5)),
    };
    build_pool(
        ConnectionManager::<SqliteConnection>::new(url),
        settings,
        Some(Box::new(pragmas)),
    )
    .with_context(|| format!("could not open the SQLite database {}", path.display()))
}

/// Applies pending migrations; returns how many were applied.
pub fn run_migrations(pool: &SqlitePool) -> anyhow::Result<usize> {
    let mut conn = pool
        .get()
        .context("no database connection for migrations")?;
    conn.run_pending_migrations(MIGRATIONS)
        .map(|v| v.len())
        .map_err(|e| anyhow::anyhow!(e).context("could not apply migrations"))
}

/// A customer row in SQLite's types: text for UUIDs, timestamps and JSON.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = customers, check_for_backend(diesel::sqlite::Sqlite))]
struct CustomerRow {
    id: String,
    account_id: String,
    full_name: String,
    email: String,
    phone: String,
    country: String,
    customer_type: String,
    send_kyc_mail: bool,
    kyc_provider: String,
    kyc_link_id: Option<String>,
    kyc_link: String,
    tos_link: String,
    kyc_status: String,
    tos_status: String,
    rejection_reasons: String,
    provider_customer_id: Option<String>,
    persona_inquiry_type: Option<String>,
    created_at: String,
    kyc_mail_status: String,
}

/// The stored spelling of a timestamp: fixed-width, so text order is time order.
pub(crate) fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl CustomerRow {
    fn from_domain(customer: &Customer) -> Self {
        let s = StoredCustomer::from_domain(customer);
        Self {
            id: s.id.to_string(),
            account_id: s.account_id.to_string(),
            full_name: s.full_name,
            email: s.email,
            phone: s.phone,
            country: s.country,
            customer_type: s.customer_type,
            send_kyc_mail: s.send_kyc_mail,
            kyc_provider: s.kyc_provider,
            kyc_link_id: s.kyc_link_id,
            kyc_link: s.kyc_link,
            tos_link: s.tos_link,
            kyc_status: s.kyc_status,
            tos_status: s.tos_status,
            rejection_reasons: s.rejection_reasons.to_string(),
            provider_customer_id: s.provider_customer_id,
            persona_inquiry_type: s.persona_inquiry_type,
            created_at: timestamp_text(s.created_at),
            kyc_mail_status: s.kyc_mail_status,
        }
    }

    fn into_domain(self) -> anyhow::Result<Customer> {
        let context = |what: &str| format!("stored customer {} has an invalid {what}", self.id);
        StoredCustomer {
            id: self.id.parse().with_context(|| context("id"))?,
            account_id: self
                .account_id
                .parse()
                .with_context(|| context("account_id"))?,
            rejection_reasons: serde_json::from_str(&self.rejection_reasons)
                .with_context(|| context("rejection_reasons"))?,
            created_at: DateTime::parse_from_rfc3339(&self.created_at)
                .with_context(|| context("created_at"))?
                .with_timezone(&Utc),
            full_name: self.full_name,
            email: self.email,
            phone: self.phone,
            country: self.country,
            customer_type: self.customer_type,
            send_kyc_mail: self.send_kyc_mail,
            kyc_provider: self.kyc_provider,
            kyc_link_id: self.kyc_link_id,
            kyc_link: self.kyc_link,
            tos_link: self.tos_link,
            kyc_status: self.kyc_status,
            tos_status: self.tos_status,
            provider_customer_id: self.provider_customer_id,
            persona_inquiry_type: self.persona_inquiry_type,
            kyc_mail_status: self.kyc_mail_status,
        }
        .into_domain()
    }
}

/// The SQLite store: customers, their mail outbox and accounts.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Wraps a pool whose database has been migrated.
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl CustomerRepository for SqliteStore {
    #[tracing::instrument(name = "sqlite.insert_customer", skip_all, fields(customer_id = %customer.id))]
    async fn insert(&self, customer: &Customer) -> Result<(), RepositoryError> {
        let row = CustomerRow::from_domain(customer);
        let job = customer.send_kyc_mail.then(|| NewMailJobRow {
            customer_id: row.id.clone(),
            message_id: ports::kyc_message_id(customer.id),
            next_attempt_at: row.created_at.clone(),
            created_at: row.created_at.clone(),
        });
        run_blocking(&self.pool, move |conn| {
            conn.immediate_transaction(|conn| {
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

    #[tracing::instrument(name = "sqlite.email_exists", skip_all, fields(account_id = %account_id))]
    async fn email_exists(
        &self,
        account_id: AccountId,
        email: &CustomerEmail,
    ) -> Result<bool, RepositoryError> {
        let email = email.as_str().to_owned();
        run_blocking(&self.pool, move |conn| {
            diesel::select(diesel::dsl::exists(
                customers::table
                    .filter(customers::account_id.eq(account_id.0.to_string()))
                    .filter(lower(customers::email).eq(lower(email))),
            ))
            .get_result(conn)
        })
        .await
    }

    #[tracing::instrument(name = "sqlite.list_customers", skip_all, fields(account_id = %account_id))]
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
                .filter(customers::account_id.eq(account_id.0.to_string()))
                .into_boxed();
            if let Some(email) = filter.email {
                query = query.filter(lower(customers::email).eq(lower(email)));
            }
            if let Some(status) = filter.kyc_status {
                query = query.filter(customers::kyc_status.eq(status));
            }
            if let Some(after) = after {
                // Fixed-width timestamps and hyphenated lower-case UUIDs: text order is
                // the same order Postgres uses for its native types.
                let at = timestamp_text(after.created_at);
                query = query.filter(
                    customers::created_at
                        .lt(at.clone())
                        .or(customers::created_at
                            .eq(at)
                            .and(customers::id.lt(after.id.0.to_string()))),
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

    #[tracing::instrument(name = "sqlite.find_customer", skip_all, fields(account_id = %account_id, customer_id = %id))]
    async fn find(
        &self,
        account_id: AccountId,
        id: CustomerId,
    ) -> Result<Option<Customer>, RepositoryError> {
        let row = run_blocking(&self.pool, move |conn| {
            customers::table
                .filter(customers::account_id.eq(account_id.0.to_string()))
                .filter(customers::id.eq(id.0.to_string()))
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
