//! The listing's keyset condition, `(created_at, id) < (cursor's created_at, cursor's id)`,
//! as one SQL row-value comparison.
//!
//! Diesel has no row-value comparison, and its spelled-out equivalent
//! `created_at < t OR (created_at = t AND id < i)` cannot bound an index range: the
//! planner either scans the account's index entries from the newest on, filtering each,
//! or collects every older row in a bitmap and sorts them — either way a page deep into a
//! large account reads most of it. A row comparison is one range condition on the
//! `(…, created_at DESC, id DESC)` listing indexes on both PostgreSQL and SQLite, so a page
//! reads its own rows and no others.

use diesel::backend::Backend;
use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType};
use diesel::QueryResult;

use super::schema::customers;
use super::sql_types::{DbTimestamp, DbUuid, Id, Timestamp};

/// Customers listed after the cursor `(at, id)` in newest-first order: created earlier,
/// or at the same time with a smaller id.
#[derive(Debug, Clone, Copy, QueryId)]
pub(super) struct ListedAfter {
    at: Timestamp,
    id: Id,
}

impl ListedAfter {
    /// The condition for the cursor `(at, id)`.
    pub fn new(at: Timestamp, id: Id) -> Self {
        Self { at, id }
    }
}

impl Expression for ListedAfter {
    type SqlType = Bool;
}

impl<DB> QueryFragment<DB> for ListedAfter
where
    DB: Backend + HasSqlType<DbTimestamp> + HasSqlType<DbUuid>,
    Timestamp: ToSql<DbTimestamp, DB>,
    Id: ToSql<DbUuid, DB>,
    customers::created_at: QueryFragment<DB>,
    customers::id: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("(");
        customers::created_at.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        customers::id.walk_ast(out.reborrow())?;
        out.push_sql(") < (");
        out.push_bind_param::<DbTimestamp, _>(&self.at)?;
        out.push_sql(", ");
        out.push_bind_param::<DbUuid, _>(&self.id)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<QS> AppearsOnTable<QS> for ListedAfter
where
    customers::created_at: AppearsOnTable<QS>,
    customers::id: AppearsOnTable<QS>,
{
}

impl<QS> SelectableExpression<QS> for ListedAfter
where
    customers::created_at: SelectableExpression<QS>,
    customers::id: SelectableExpression<QS>,
{
}

impl ValidGrouping<()> for ListedAfter {
    type IsAggregate = is_aggregate::Never;
}

#[cfg(test)]
mod tests {
    use diesel::debug_query;
    use diesel::prelude::*;

    use super::*;

    #[test]
    fn the_cursor_is_one_row_comparison_on_both_backends() {
        let at = Timestamp(chrono::DateTime::UNIX_EPOCH);
        let id = Id(uuid::Uuid::nil());
        let query = customers::table
            .filter(ListedAfter::new(at, id))
            .select(customers::id);
        let pg = debug_query::<diesel::pg::Pg, _>(&query).to_string();
        assert!(
            pg.contains(r#"("customers"."created_at", "customers"."id") < ($1, $2)"#),
            "{pg}"
        );
        let lite = debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
        assert!(
            lite.contains(r#"(`customers`.`created_at`, `customers`.`id`) < (?, ?)"#),
            "{lite}"
        );
    }
}
