//! The customer repository: a registration (customer and queued mail in one
//! transaction), the duplicate check, listing and lookup — all scoped to one account.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::Text;
use domain::{AccountId, Customer, CustomerEmail, CustomerId};
use ports::{
    CustomerChange, CustomerCursor, CustomerDirectory, CustomerErasure, CustomerFilter,
    CustomerRepository, IdempotencyCompletion, NewCustomerRecord, NewEvent, RepositoryError,
};
use uuid::Uuid;

use super::batches::Unique;
use super::events::write_events;
use super::idempotency::{complete_key, key_no_longer_held};
use super::rows::{CustomerRow, NewJobRow};
use super::schema::{customer_tombstones, customers, outbox_jobs};
use super::shapes::{
    branches, page_size, union_all, EmailIs, LimitedTo, ListedAfter, MOST_BRANCHES,
};
use super::sql_types::{Id, Timestamp};
use super::{map_diesel_error, per_backend, pool, Conn, Store, StoreConnection as _};

#[async_trait]
impl CustomerRepository for Store {
    #[tracing::instrument(name = "store.insert_customer", skip_all, fields(db.backend = self.backend(), customer_id = %record.customer.id))]
    async fn insert(&self, record: &NewCustomerRecord) -> Result<(), RepositoryError> {
        let customer = &record.customer;
        let registration = Registration {
            row: CustomerRow::from_domain(customer),
            job: record
                .kyc_mail
                .as_ref()
                .map(|mail| NewJobRow::kyc_mail(customer.id, mail, customer.created_at)),
            events: record.events.clone(),
            completion: record.idempotency.clone(),
        };
        let outcome = self
            .registrations
            .read(&self.pool, Unique::new(registration))
            .await?;
        match outcome {
            Some(Ok(true)) => Ok(()),
            Some(Ok(false)) => Err(RepositoryError::Erased),
            Some(Err(error)) => Err(map_diesel_error(error)),
            None => Err(RepositoryError::Unexpected(anyhow::anyhow!(
                "the registration's batch gave it no outcome"
            ))),
        }
    }

    #[tracing::instrument(name = "store.update_customer", skip_all, fields(db.backend = self.backend(), customer_id = %change.new.id))]
    async fn update(&self, change: &CustomerChange) -> Result<(), RepositoryError> {
        self.write_change(change).await
    }

    #[tracing::instrument(name = "store.erase_customer", skip_all, fields(db.backend = self.backend(), customer_id = %erasure.customer_id))]
    async fn erase(&self, erasure: &CustomerErasure) -> Result<(), RepositoryError> {
        self.write_erasure(erasure).await
    }

    #[tracing::instrument(name = "store.email_exists", skip_all, fields(db.backend = self.backend(), account_id = %account_id))]
    async fn email_exists(
        &self,
        account_id: AccountId,
        email: &CustomerEmail,
    ) -> Result<bool, RepositoryError> {
        let address = Address {
            account_id: account_id.0,
            email: email.as_str().to_owned(),
        };
        Ok(self.addresses.read(&self.pool, address).await?.is_some())
    }

    #[tracing::instrument(name = "store.list_customers", skip_all, fields(db.backend = self.backend(), account_id = %account_id))]
    async fn list(
        &self,
        account_id: AccountId,
        filter: &CustomerFilter,
        after: Option<CustomerCursor>,
        limit: u32,
    ) -> Result<Vec<Customer>, RepositoryError> {
        let page = Page {
            account_id: account_id.0,
            email: filter.email.clone(),
            kyc_status: filter.kyc_status.map(|status| status.as_str()),
            after: after.map(|after| (after.created_at, after.id.0)),
            limit,
        };
        let rows = self.pages.read(&self.pool, page).await?.unwrap_or_default();
        rows.into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(CustomerRow::into_domain)
            .collect()
    }

    #[tracing::instrument(name = "store.find_customer", skip_all, fields(db.backend = self.backend(), account_id = %account_id, customer_id = %id))]
    async fn find(
        &self,
        account_id: AccountId,
        id: CustomerId,
    ) -> Result<Option<Customer>, RepositoryError> {
        // By primary key alone, the one index that can serve it whatever the table's size
        // (an `account_id` condition would let a listing index compete: see `shapes`); a
        // row of another account is then not found, exactly as if it did not exist.
        let row = self.by_id.read(&self.pool, id.0).await?;
        row.filter(|row| row.account_id.0 == account_id.0)
            .map(CustomerRow::into_domain)
            .transpose()
    }
}

#[async_trait]
impl CustomerDirectory for Store {
    #[tracing::instrument(name = "store.customer_by_id", skip_all, fields(db.backend = self.backend(), customer_id = %id))]
    async fn customer_by_id(&self, id: CustomerId) -> Result<Option<Customer>, RepositoryError> {
        let row = self.by_id.read(&self.pool, id.0).await?;
        row.map(CustomerRow::into_domain).transpose()
    }
}

/// Writes one registration (`$registration`, a `&Registration`) on `$conn`, inside the
/// caller's transaction: `Ok(false)` when its id is an erased customer's, nothing written.
macro_rules! register {
    ($conn:ident, $registration:expr) => {
        (|| -> QueryResult<bool> {
            let registration: &Registration = $registration;
            // An erased customer's id is never used again: an idempotent retry of the
            // request that created the customer must not bring the person back.
            let id = registration.row.id;
            let erased = diesel::select(diesel::dsl::exists(customer_tombstones::table.find(id)))
                .get_result::<bool>($conn)?;
            if erased {
                return Ok(false);
            }
            diesel::insert_into(customers::table)
                .values(&registration.row)
                .execute($conn)?;
            if let Some(job) = &registration.job {
                diesel::insert_into(outbox_jobs::table)
                    .values(job)
                    .execute($conn)?;
            }
            if let Some(completion) = &registration.completion {
                if complete_key(completion).execute($conn)? != 1 {
                    return Err(key_no_longer_held());
                }
            }
            write_events!($conn, &registration.events).map(|()| true)
        })()
    };
}

/// A registration, as one write of a batch: the customer, its queued mail, its events and
/// its idempotency key's outcome.
pub(super) struct Registration {
    row: CustomerRow,
    job: Option<NewJobRow>,
    events: Vec<NewEvent>,
    completion: Option<IdempotencyCompletion>,
}

/// A registration's outcome: written (`true`), not written because its id is an erased
/// customer's (`false`), or the error that undid it.
pub(super) type Registered = Result<bool, Arc<DieselError>>;

/// Writes a batch of registrations in one transaction, so that the database pays one commit
/// for all of them. When one of them fails (a duplicate address that lost a race, a key no
/// longer held), the transaction is undone and each registration is written again in a
/// transaction of its own, so that only the failing one fails. A lost connection fails
/// the whole batch.
pub(super) fn write_registrations(
    conn: Conn<'_>,
    batch: &[Unique<Registration>],
) -> QueryResult<HashMap<Unique<Registration>, Registered>> {
    per_backend!(conn => {
        let together = conn.write_transaction(|conn| {
            let mut outcomes = HashMap::with_capacity(batch.len());
            for registration in batch {
                let written = register!(conn, registration.item())?;
                outcomes.insert(registration.clone(), Ok(written));
            }
            Ok(outcomes)
        });
        match together {
            Ok(outcomes) => Ok(outcomes),
            Err(error) if pool::connection_lost(&error) => Err(error),
            Err(error) if batch.len() == 1 => {
                Ok(HashMap::from([(batch[0].clone(), Err(Arc::new(error)))]))
            }
            Err(_) => {
                let mut outcomes = HashMap::with_capacity(batch.len());
                for registration in batch {
                    match conn.write_transaction(|conn| register!(conn, registration.item())) {
                        Err(error) if pool::connection_lost(&error) => return Err(error),
                        alone => outcomes.insert(registration.clone(), alone.map_err(Arc::new)),
                    };
                }
                Ok(outcomes)
            }
        }
    })
}

/// An account's e-mail address, as a batched duplicate check's key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Address {
    account_id: Uuid,
    email: String,
}

/// Which of these addresses their accounts' customers already have (case-insensitively,
/// like the unique index), in one statement for up to [`MOST_BRANCHES`] of them: the check
/// once per address joined by `UNION ALL`, each answering with the address as asked.
pub(super) fn read_addresses(
    mut conn: Conn<'_>,
    addresses: &[Address],
) -> QueryResult<HashMap<Address, ()>> {
    let check = |address: &Address| {
        customers::table
            .filter(customers::account_id.eq(Id(address.account_id)))
            .filter(EmailIs::new(address.email.clone()))
            .select((
                customers::account_id,
                address.email.clone().into_sql::<Text>(),
            ))
    };
    let rows: Vec<(Id, String)> = if let [address] = addresses {
        per_backend!(conn => check(address).load(conn))?
    } else {
        let mut rows = Vec::new();
        for chunk in addresses.chunks(MOST_BRANCHES) {
            let conn = conn.reborrow();
            // Past the chunk's addresses, its first again.
            let part = |n| check(chunk.get(n).unwrap_or(&chunk[0]));
            rows.extend(per_backend!(conn => union_all!(conn, branches(chunk.len()), part))?);
        }
        rows
    };
    Ok(rows
        .into_iter()
        .map(|(account, email)| {
            let address = Address {
                account_id: account.0,
                email,
            };
            (address, ())
        })
        .collect())
}

/// One page of one account's customers, as a batched read's key: reads of exactly the
/// same page share one answer.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Page {
    account_id: Uuid,
    email: Option<String>,
    kyc_status: Option<&'static str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u32,
}

/// Each page on one connection, one statement per page, newest first (with one customer
/// more than asked for where [`page_size`] says so).
pub(super) fn read_pages(
    mut conn: Conn<'_>,
    pages: &[Page],
) -> QueryResult<HashMap<Page, Vec<CustomerRow>>> {
    let mut found = HashMap::with_capacity(pages.len());
    for page in pages {
        let rows = read_page(conn.reborrow(), page)?;
        found.insert(page.clone(), rows);
    }
    Ok(found)
}

fn read_page(conn: Conn<'_>, page: &Page) -> QueryResult<Vec<CustomerRow>> {
    per_backend!(conn => {
        let mut query = customers::table
            .filter(customers::account_id.eq(Id(page.account_id)))
            .into_boxed();
        if let Some(email) = &page.email {
            query = query.filter(EmailIs::new(email.clone()));
        }
        if let Some(status) = page.kyc_status {
            query = query.filter(customers::kyc_status.eq(status));
        }
        // On SQLite, times and UUIDs are fixed-width text (see `sql_types`): text order
        // is the order PostgreSQL uses for its native types.
        if let Some((created_at, id)) = page.after {
            query = query.filter(ListedAfter::new(Timestamp(created_at), Id(id)));
        }
        let rows = query
            .order((customers::created_at.desc(), customers::id.desc()))
            .select(CustomerRow::as_select());
        LimitedTo::new(rows, page_size(page.limit)).load(conn)
    })
}

/// The customers with these ids, whatever their account (the callers check it), in one
/// statement: `id = $1` for one id; for several, that lookup once per id joined by `UNION
/// ALL`, with the ids repeated up to a fixed number of branches (see
/// [`super::shapes::UnionAll`]), and in several statements beyond [`MOST_BRANCHES`] ids.
pub(super) fn read_by_id(
    mut conn: Conn<'_>,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, CustomerRow>> {
    let mut found = HashMap::with_capacity(ids.len());
    if let [id] = ids {
        let query = customers::table.find(Id(*id));
        let row = per_backend!(conn => query
            .select(CustomerRow::as_select())
            .first(conn)
            .optional())?;
        found.extend(row.map(|row| (row.id.0, row)));
        return Ok(found);
    }
    for chunk in ids.chunks(MOST_BRANCHES) {
        let conn = conn.reborrow();
        let rows: Vec<CustomerRow> = per_backend!(conn => union_all!(conn, branches(chunk.len()), |n| {
            let id = chunk.get(n).unwrap_or(&chunk[0]);
            customers::table
                .filter(customers::id.eq(Id(*id)))
                .select(CustomerRow::as_select())
        }))?;
        found.extend(rows.into_iter().map(|row| (row.id.0, row)));
    }
    Ok(found)
}
