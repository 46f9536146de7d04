//! The customer repository: a registration (customer and queued mail in one
//! transaction), the duplicate check, listing and lookup — all scoped to one account.

use async_trait::async_trait;
use diesel::prelude::*;
use domain::{AccountId, Customer, CustomerEmail, CustomerId};
use ports::{
    CustomerChange, CustomerCursor, CustomerDirectory, CustomerErasure, CustomerFilter,
    CustomerRepository, NewCustomerRecord, RepositoryError,
};

use super::events::write_events;
use super::idempotency::{complete_key, key_no_longer_held};
use super::rows::{CustomerRow, NewJobRow};
use super::schema::{customer_tombstones, customers, outbox_jobs};
use super::shapes::{page_size, EmailIs, LimitedTo, ListedAfter};
use super::sql_types::{Id, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

#[async_trait]
impl CustomerRepository for Store {
    #[tracing::instrument(name = "store.insert_customer", skip_all, fields(db.backend = self.backend(), customer_id = %record.customer.id))]
    async fn insert(&self, record: &NewCustomerRecord) -> Result<(), RepositoryError> {
        let customer = &record.customer;
        let row = CustomerRow::from_domain(customer);
        let job = record
            .kyc_mail
            .as_ref()
            .map(|mail| NewJobRow::kyc_mail(customer.id, mail, customer.created_at));
        let events = record.events.clone();
        let complete = record.idempotency.as_ref().map(complete_key);
        let id = Id(customer.id.0);
        let written = self.run(move |conn| {
            per_backend!(conn => conn.write_transaction(|conn| {
                // An erased customer's id is never used again: an idempotent retry of the
                // request that created the customer must not bring the person back.
                let erased = diesel::select(diesel::dsl::exists(customer_tombstones::table.find(id)))
                    .get_result::<bool>(conn)?;
                if erased {
                    return Ok(false);
                }
                diesel::insert_into(customers::table)
                    .values(&row)
                    .execute(conn)?;
                if let Some(job) = &job {
                    diesel::insert_into(outbox_jobs::table)
                        .values(job)
                        .execute(conn)?;
                }
                if let Some(complete) = complete {
                    if complete.execute(conn)? != 1 {
                        return Err(key_no_longer_held());
                    }
                }
                write_events!(conn, &events).map(|()| true)
            }))
        })
        .await?;
        if written {
            Ok(())
        } else {
            Err(RepositoryError::Erased)
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
        let email = email.as_str().to_owned();
        self.run(move |conn| {
            let exists = diesel::select(diesel::dsl::exists(
                customers::table
                    .filter(customers::account_id.eq(Id(account_id.0)))
                    .filter(EmailIs::new(email)),
            ));
            per_backend!(conn => exists.get_result(conn))
        })
        .await
    }

    #[tracing::instrument(name = "store.list_customers", skip_all, fields(db.backend = self.backend(), account_id = %account_id))]
    async fn list(
        &self,
        account_id: AccountId,
        filter: &CustomerFilter,
        after: Option<CustomerCursor>,
        limit: u32,
    ) -> Result<Vec<Customer>, RepositoryError> {
        let filter = filter.clone();
        let rows: Vec<CustomerRow> = self
            .run(move |conn| {
                per_backend!(conn => {
                    let mut query = customers::table
                        .filter(customers::account_id.eq(Id(account_id.0)))
                        .into_boxed();
                    if let Some(email) = filter.email {
                        query = query.filter(EmailIs::new(email));
                    }
                    if let Some(status) = filter.kyc_status {
                        query = query.filter(customers::kyc_status.eq(status.as_str()));
                    }
                    // On SQLite, times and UUIDs are fixed-width text (see `sql_types`):
                    // text order is the order PostgreSQL uses for its native types.
                    if let Some(after) = after {
                        query = query.filter(ListedAfter::new(
                            Timestamp(after.created_at),
                            Id(after.id.0),
                        ));
                    }
                    let page = query
                        .order((customers::created_at.desc(), customers::id.desc()))
                        .select(CustomerRow::as_select());
                    LimitedTo::new(page, page_size(limit)).load(conn)
                })
            })
            .await?;
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
        let row: Option<CustomerRow> = self
            .run(move |conn| {
                let query = customers::table.find(Id(id.0));
                per_backend!(conn => query
                    .select(CustomerRow::as_select())
                    .first(conn)
                    .optional())
            })
            .await?;
        row.filter(|row| row.account_id.0 == account_id.0)
            .map(CustomerRow::into_domain)
            .transpose()
    }
}

#[async_trait]
impl CustomerDirectory for Store {
    #[tracing::instrument(name = "store.customer_by_id", skip_all, fields(db.backend = self.backend(), customer_id = %id))]
    async fn customer_by_id(&self, id: CustomerId) -> Result<Option<Customer>, RepositoryError> {
        let row: Option<CustomerRow> = self
            .run(move |conn| {
                let query = customers::table.find(Id(id.0));
                per_backend!(conn => query
                    .select(CustomerRow::as_select())
                    .first(conn)
                    .optional())
            })
            .await?;
        row.map(CustomerRow::into_domain).transpose()
    }
}
