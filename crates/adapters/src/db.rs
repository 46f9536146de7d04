//! What the Diesel adapters share: pool settings, running blocking Diesel work off the
//! async workers, translating Diesel errors, and rebuilding domain customers from rows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use diesel::r2d2::{ConnectionManager, Pool, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::{
    AccountId, CountryCode, Customer, CustomerEmail, CustomerId, CustomerName, KycLink, PhoneNumber,
};
use ports::RepositoryError;
use uuid::Uuid;

/// The name of the unique index that enforces one e-mail address per account. Both
/// backends use it, so both can recognise a duplicate by it.
pub(crate) const EMAIL_UNIQUE_INDEX: &str = "customers_account_email_key";

/// Connection-pool sizing, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub max_size: u32,
    /// How long a request waits for a free connection before it fails as unavailable.
    pub connection_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 10,
            connection_timeout: Duration::from_secs(2),
        }
    }
}

/// Callers waiting for a pooled connection, across the process's pools.
static WAITING: AtomicU64 = AtomicU64::new(0);

/// A pool's occupancy, with the process-wide count of waiting callers.
pub(crate) fn pool_state<M: diesel::r2d2::ManageConnection>(pool: &Pool<M>) -> ports::PoolState {
    let state = pool.state();
    ports::PoolState {
        in_use: state.connections.saturating_sub(state.idle_connections),
        idle: state.idle_connections,
        waiting: WAITING.load(Ordering::Relaxed),
    }
}

/// The readiness answer for a pool: the database answers and no embedded migration is
/// pending. The reason is fit for unauthenticated callers.
pub(crate) async fn readiness<C>(
    pool: &Pool<ConnectionManager<C>>,
    migrations: diesel_migrations::EmbeddedMigrations,
) -> Result<(), String>
where
    C: R2D2Connection + diesel_migrations::MigrationHarness<C::Backend> + 'static,
{
    let pending = run_blocking(pool, move |conn| {
        conn.has_pending_migration(migrations)
            .map_err(DieselError::QueryBuilderError)
    })
    .await;
    match pending {
        Ok(false) => Ok(()),
        Ok(true) => Err("database migrations are pending".into()),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err("database unreachable".into())
        }
    }
}

/// Runs `work` with a pooled connection on the blocking thread pool: Diesel is
/// synchronous, and neither the checkout nor the query may stall an async worker.
pub(crate) async fn run_blocking<C, T, F>(
    pool: &Pool<ConnectionManager<C>>,
    work: F,
) -> Result<T, RepositoryError>
where
    C: R2D2Connection + 'static,
    T: Send + 'static,
    F: FnOnce(&mut C) -> Result<T, DieselError> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        WAITING.fetch_add(1, Ordering::Relaxed);
        let checkout = pool.get();
        WAITING.fetch_sub(1, Ordering::Relaxed);
        let mut conn = checkout.map_err(|e| {
            RepositoryError::Unavailable(
                anyhow::Error::new(e).context("no database connection available"),
            )
        })?;
        work(&mut conn).map_err(map_diesel_error)
    })
    .await
    .map_err(|e| {
        RepositoryError::Unexpected(anyhow::Error::new(e).context("database task failed"))
    })?
}

/// Translates a Diesel error into the port's terms: the e-mail unique index becomes
/// [`RepositoryError::Duplicate`], a lost connection becomes `Unavailable`.
pub(crate) fn map_diesel_error(error: DieselError) -> RepositoryError {
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(EMAIL_UNIQUE_INDEX)
                || info.message().contains(EMAIL_UNIQUE_INDEX) =>
        {
            RepositoryError::Duplicate
        }
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
            RepositoryError::Unavailable(error.into())
        }
        _ => RepositoryError::Unexpected(error.into()),
    }
}

/// A stored customer in neutral types. It is the PostgreSQL row as is (Postgres has a
/// native type for every value); other backends convert their own row type to and from it.
#[derive(diesel::Queryable, diesel::Selectable, diesel::Insertable)]
#[diesel(table_name = crate::postgres::customers, check_for_backend(diesel::pg::Pg))]
pub(crate) struct StoredCustomer {
    pub id: Uuid,
    pub account_id: Uuid,
    pub full_name: String,
    pub email: String,
    pub phone: String,
    pub country: String,
    pub customer_type: String,
    pub send_kyc_mail: bool,
    pub kyc_provider: String,
    pub kyc_link_id: Option<String>,
    pub kyc_link: String,
    pub tos_link: String,
    pub kyc_status: String,
    pub tos_status: String,
    pub rejection_reasons: serde_json::Value,
    pub provider_customer_id: Option<String>,
    pub persona_inquiry_type: Option<String>,
    pub created_at: DateTime<Utc>,
    pub kyc_mail_status: String,
}

impl StoredCustomer {
    /// Rebuilds the domain customer, re-validating every field: a row that no longer
    /// passes the rules is reported, not passed on.
    pub fn into_domain(self) -> anyhow::Result<Customer> {
        let id = self.id;
        fn field<T>(id: Uuid, name: &str, r: Result<T, String>) -> anyhow::Result<T> {
            r.map_err(|m| anyhow::anyhow!("stored customer {id} has an invalid {name}: {m}"))
        }
        let country = field(id, "country", CountryCode::parse(&self.country))?;
        let rejection_reasons = match self.rejection_reasons {
            serde_json::Value::Array(items) => items,
            other => anyhow::bail!(
                "stored customer {} has non-array rejection_reasons: {other}",
                self.id
            ),
        };
        Ok(Customer {
            id: CustomerId(self.id),
            account_id: AccountId(self.account_id),
            name: field(id, "full_name", CustomerName::parse(&self.full_name))?,
            email: field(id, "email", CustomerEmail::parse(&self.email))?,
            phone: field(id, "phone", PhoneNumber::parse(&self.phone, None))?,
            country,
            customer_type: field(id, "customer_type", self.customer_type.parse())?,
            send_kyc_mail: self.send_kyc_mail,
            kyc_mail_status: field(id, "kyc_mail_status", self.kyc_mail_status.parse())?,
            kyc_provider: self.kyc_provider,
            kyc: KycLink {
                provider_link_id: self.kyc_link_id,
                kyc_link: self.kyc_link,
                tos_link: self.tos_link,
                kyc_status: self.kyc_status,
                tos_status: self.tos_status,
                rejection_reasons,
                provider_customer_id: self.provider_customer_id,
                persona_inquiry_type: self.persona_inquiry_type,
            },
            created_at: self.created_at,
        })
    }

    /// Splits a domain customer into neutral stored values.
    pub fn from_domain(c: &Customer) -> Self {
        Self {
            id: c.id.0,
            account_id: c.account_id.0,
            full_name: c.name.as_str().to_owned(),
            email: c.email.as_str().to_owned(),
            phone: c.phone.as_str().to_owned(),
            country: c.country.alpha3().to_owned(),
            customer_type: c.customer_type.as_str().to_owned(),
            send_kyc_mail: c.send_kyc_mail,
            kyc_provider: c.kyc_provider.clone(),
            kyc_link_id: c.kyc.provider_link_id.clone(),
            kyc_link: c.kyc.kyc_link.clone(),
            tos_link: c.kyc.tos_link.clone(),
            kyc_status: c.kyc.kyc_status.clone(),
            tos_status: c.kyc.tos_status.clone(),
            rejection_reasons: serde_json::Value::Array(c.kyc.rejection_reasons.clone()),
            provider_customer_id: c.kyc.provider_customer_id.clone(),
            persona_inquiry_type: c.kyc.persona_inquiry_type.clone(),
            created_at: c.created_at,
            kyc_mail_status: c.kyc_mail_status.as_str().to_owned(),
        }
    }
}

/// What the outbox keeps of a job's failure: enough to diagnose, bounded in size.
pub(crate) fn truncate_error(error: String) -> String {
    const MAX: usize = 2000;
    if error.len() <= MAX {
        return error;
    }
    let mut end = MAX;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    error[..end].to_owned()
}

/// Opens a pool whose `build` proves the database answers, naming the failure otherwise.
pub(crate) fn build_pool<C: R2D2Connection + 'static>(
    manager: ConnectionManager<C>,
    settings: &PoolSettings,
    customizer: Option<Box<dyn diesel::r2d2::CustomizeConnection<C, diesel::r2d2::Error>>>,
) -> anyhow::Result<Pool<ConnectionManager<C>>> {
    let mut builder = Pool::builder()
        .max_size(settings.max_size)
        .min_idle(Some(1))
        .connection_timeout(settings.connection_timeout)
        .test_on_check_out(true);
    if let Some(customizer) = customizer {
        builder = builder.connection_customizer(customizer);
    }
    builder
        .build(manager)
        .context("could not open a database connection")
}
