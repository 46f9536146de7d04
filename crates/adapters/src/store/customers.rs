//! The customer repository: a registration (customer and queued mail in one
//! transaction), the duplicate check, listing and lookup — all scoped to one account.

use async_trait::async_trait;
use diesel::prelude::*;
use domain::{AccountId, Customer, CustomerEmail, CustomerId};
use ports::{
    CustomerCursor, CustomerFilter, CustomerRepository, NewCustomerRecord, RepositoryError,
};

use super::rows::{registration_rows, CustomerRow};
use super::schema::{customers, kyc_mail_jobs};
use super::shapes::{page_size, EmailIs, LimitedTo, ListedAfter};
use super::sql_types::{Id, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

#[async_trait]
impl CustomerRepository for Store {
    #[tracing::instrument(name = "store.insert_customer", skip_all, fields(db.backend = self.backend(), customer_id = %record.customer.id))]
    async fn insert(&self, record: &NewCustomerRecord) -> Result<(), RepositoryError> {
        let (row, job) = registration_rows(record);
        self.run(move |conn| {
            per_backend!(conn => match &job {
                // One statement is atomic by itself: no BEGIN and COMMIT round trips.
                None => diesel::insert_into(customers::table)
                    .values(&row)
                    .execute(conn)
                    .map(drop),
                Some(job) => conn.write_transaction(|conn| {
                    diesel::insert_into(customers::table)
                        .values(&row)
                        .execute(conn)?;
                    diesel::insert_into(kyc_mail_jobs::table)
                        .values(job)
                        .execute(conn)
                        .map(drop)
                }),
            })
        })
        .await
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
