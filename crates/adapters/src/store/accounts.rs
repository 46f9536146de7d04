//! Accounts: the API clients that own customers.

use async_trait::async_trait;
use diesel::prelude::*;
use domain::{Account, AccountId};
use ports::{AccountRepository, RepositoryError};

use super::rows::AccountRow;
use super::schema::accounts;
use super::sql_types::Id;
use super::{per_backend, Store};

#[async_trait]
impl AccountRepository for Store {
    async fn insert_account(&self, account: &Account) -> Result<(), RepositoryError> {
        let insert = diesel::insert_into(accounts::table).values(AccountRow::from_domain(account));
        self.run(move |conn| per_backend!(conn => insert.execute(conn).map(drop)))
            .await
    }

    async fn find_account(&self, id: AccountId) -> Result<Option<Account>, RepositoryError> {
        let row: Option<AccountRow> = self
            .run(move |conn| {
                per_backend!(conn => accounts::table
                    .find(Id(id.0))
                    .select(AccountRow::as_select())
                    .first(conn)
                    .optional())
            })
            .await?;
        row.map(AccountRow::into_domain).transpose()
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, RepositoryError> {
        let rows: Vec<AccountRow> = self
            .run(|conn| {
                per_backend!(conn => accounts::table
                    .order((accounts::created_at.asc(), accounts::id.asc()))
                    .select(AccountRow::as_select())
                    .load(conn))
            })
            .await?;
        rows.into_iter().map(AccountRow::into_domain).collect()
    }

    async fn set_account_disabled(
        &self,
        id: AccountId,
        disabled: bool,
    ) -> Result<bool, RepositoryError> {
        let update =
            diesel::update(accounts::table.find(Id(id.0))).set(accounts::disabled.eq(disabled));
        self.run(move |conn| per_backend!(conn => update.execute(conn).map(|n| n == 1)))
            .await
    }
}
