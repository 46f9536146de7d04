//! Accounts on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::{Account, AccountId, AccountName};
use ports::{AccountRepository, RepositoryError};
use uuid::Uuid;

use super::schema::accounts;
use super::PgStore;
use crate::db::run_blocking;

/// An account row.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
struct AccountRow {
    id: Uuid,
    name: String,
    secret_hash: String,
    disabled: bool,
    created_at: DateTime<Utc>,
}

impl AccountRow {
    fn into_domain(self) -> Result<Account, RepositoryError> {
        Ok(Account {
            id: AccountId(self.id),
            name: AccountName::parse(&self.name).map_err(|m| {
                RepositoryError::Unexpected(anyhow::anyhow!(
                    "stored account {} has an invalid name: {m}",
                    self.id
                ))
            })?,
            secret_hash: self.secret_hash,
            disabled: self.disabled,
            created_at: self.created_at,
        })
    }
}

#[async_trait]
impl AccountRepository for PgStore {
    async fn insert_account(&self, account: &Account) -> Result<(), RepositoryError> {
        let row = AccountRow {
            id: account.id.0,
            name: account.name.as_str().to_owned(),
            secret_hash: account.secret_hash.clone(),
            disabled: account.disabled,
            created_at: account.created_at,
        };
        run_blocking(&self.pool, move |conn| {
            diesel::insert_into(accounts::table)
                .values(&row)
                .execute(conn)
                .map(drop)
        })
        .await
    }

    async fn find_account(&self, id: AccountId) -> Result<Option<Account>, RepositoryError> {
        run_blocking(&self.pool, move |conn| {
            accounts::table
                .find(id.0)
                .select(AccountRow::as_select())
                .first(conn)
                .optional()
        })
        .await?
        .map(AccountRow::into_domain)
        .transpose()
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, RepositoryError> {
        run_blocking(&self.pool, |conn| {
            accounts::table
                .order((accounts::created_at.asc(), accounts::id.asc()))
                .select(AccountRow::as_select())
                .load(conn)
        })
        .await?
        .into_iter()
        .map(AccountRow::into_domain)
        .collect()
    }

    async fn set_account_disabled(
        &self,
        id: AccountId,
        disabled: bool,
    ) -> Result<bool, RepositoryError> {
        run_blocking(&self.pool, move |conn| {
            diesel::update(accounts::table.find(id.0))
                .set(accounts::disabled.eq(disabled))
                .execute(conn)
                .map(|n| n == 1)
        })
        .await
    }
}
