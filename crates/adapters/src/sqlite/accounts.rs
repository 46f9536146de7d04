//! Accounts on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::{Account, AccountId, AccountName};
use ports::{AccountRepository, RepositoryError};

use super::schema::accounts;
use super::{timestamp_text, SqliteStore};
use crate::db::run_blocking;

/// An account row in SQLite's types.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts, check_for_backend(diesel::sqlite::Sqlite))]
struct AccountRow {
    id: String,
    name: String,
    secret_hash: String,
    disabled: bool,
    created_at: String,
}

impl AccountRow {
    fn into_domain(self) -> Result<Account, RepositoryError> {
        let invalid = |what: &str, e: String| {
            RepositoryError::Unexpected(anyhow::anyhow!(
                "stored account {} has an invalid {what}: {e}",
                self.id
            ))
        };
        Ok(Account {
            id: AccountId(
                self.id
                    .parse()
                    .map_err(|e: uuid::Error| invalid("id", e.to_string()))?,
            ),
            name: AccountName::parse(&self.name).map_err(|m| invalid("name", m))?,
            secret_hash: self.secret_hash.clone(),
            disabled: self.disabled,
            created_at: DateTime::parse_from_rfc3339(&self.created_at)
                .map_err(|e| invalid("created_at", e.to_string()))?
                .with_timezone(&Utc),
        })
    }
}

#[async_trait]
impl AccountRepository for SqliteStore {
    async fn insert_account(&self, account: &Account) -> Result<(), RepositoryError> {
        let row = AccountRow {
            id: account.id.0.to_string(),
            name: account.name.as_str().to_owned(),
            secret_hash: account.secret_hash.clone(),
            disabled: account.disabled,
            created_at: timestamp_text(account.created_at),
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
                .find(id.0.to_string())
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
            diesel::update(accounts::table.find(id.0.to_string()))
                .set(accounts::disabled.eq(disabled))
                .execute(conn)
                .map(|n| n == 1)
        })
        .await
    }
}
