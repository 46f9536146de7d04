//! Query conditions shaped so that their plan cannot drift as tables grow.
//!
//! Diesel prepares each statement once per pooled connection, and after five executions
//! PostgreSQL may switch a prepared statement to a generic plan: built from the table's
//! size at that moment (without knowing the parameters) and kept as long as the connection
//! lives. Built while a table is nearly empty, every index whose leading column matches
//! costs about the same, and the one picked can be one that fits only `account_id` —
//! the duplicate check then walked every customer of the account, and throughput fell with
//! each new customer until a restart. ANALYZE would invalidate such a plan, but autovacuum
//! may be off or late after a bulk import, and the service must not depend on it.
//!
//! Planning every statement for its values (`plan_cache_mode = force_custom_plan` on each
//! connection) fixes that too, but was measured to cost about 40 µs of planning per
//! execution — as much again as a lookup by primary key takes — so instead:
//! - a statement that has one index only it can use keeps its cached plan: the lookup by
//!   primary key alone (see `CustomerRepository::find`) and in batches ([`UnionAll`]), the listing on its
//!   `(…, created_at DESC, id DESC)` indexes, which alone give its order, with the cursor
//!   as one row comparison ([`ListedAfter`]) — and so an endpoint's deliveries on
//!   `outbox_jobs_endpoint_idx` ([`ListedAfter::deliveries`], with a literal page size);
//! - a statement that several indexes fit when the table is small is sent unprepared,
//!   so PostgreSQL plans it for its values, and the table's current size, every time:
//!   every condition on the e-mail address ([`EmailIs`]), whose index competes with the
//!   listing indexes on `account_id`;
//!
//! A batch of lookups by id is one statement of lookups by primary key joined by `UNION
//! ALL` ([`UnionAll`], with a fixed number of branches), not `id = ANY($1)`: for an array
//! parameter PostgreSQL guesses ten ids, and on a table it has never measured its generic
//! plan reads the whole table (kept as the table grows); each `id = $n` branch has the
//! single lookup's plan. Planning `ANY` anew for each batch instead cost a quarter of the
//! lookups a second.
//!
//! A listing's page size is a literal in its SQL ([`LimitedTo`]), not a parameter: with
//! `LIMIT $n` PostgreSQL costs a generic plan as if a tenth of the rows were fetched, so it
//! never prefers it to a custom plan and re-plans the listing at every execution (measured:
//! twice the database time of the same statement with a literal limit).
//!
//! `tests/it/plans.rs` checks the plan of every hot statement after the tables grew under
//! a connection that ran it on empty tables, with and without ANALYZE.

use diesel::backend::Backend;
use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType, Text};
use diesel::{Column, QueryResult, RunQueryDsl};

use super::schema::{customers, outbox_jobs};
use super::sql_types::{DbTimestamp, DbUuid, Id, Timestamp};

/// Rows listed after the cursor `(at, id)` in newest-first order: created earlier, or at
/// the same time with a smaller id — `(created_at, id) < (at, id)` over the columns `C`
/// (customers' by default; an endpoint's deliveries: [`ListedAfter::deliveries`]).
///
/// Diesel has no row-value comparison, and the spelled-out equivalent
/// `created_at < t OR (created_at = t AND id < i)` cannot bound an index range: the
/// planner either walks the account's index entries from the newest, filtering each, or
/// collects every older row and sorts them; a page deep into a large account read most of
/// it. A row comparison is one range condition on the listing indexes, on PostgreSQL and
/// SQLite alike, so a page reads its own rows.
#[derive(Debug, Clone, Copy, QueryId)]
pub(super) struct ListedAfter<C = (customers::created_at, customers::id)> {
    columns: C,
    at: Timestamp,
    id: Id,
}

impl ListedAfter {
    /// The condition for the cursor `(at, id)` over customers.
    pub fn new(at: Timestamp, id: Id) -> Self {
        Self {
            columns: (customers::created_at, customers::id),
            at,
            id,
        }
    }
}

impl ListedAfter<(outbox_jobs::created_at, outbox_jobs::id)> {
    /// The condition for the cursor `(at, id)` over an endpoint's deliveries (their
    /// outbox jobs), whose listing index is `(endpoint_id, created_at DESC, id DESC)`.
    pub fn deliveries(at: Timestamp, id: Id) -> Self {
        Self {
            columns: (outbox_jobs::created_at, outbox_jobs::id),
            at,
            id,
        }
    }
}

impl<C> Expression for ListedAfter<C> {
    type SqlType = Bool;
}

impl<DB, At, Key> QueryFragment<DB> for ListedAfter<(At, Key)>
where
    DB: Backend + HasSqlType<DbTimestamp> + HasSqlType<DbUuid>,
    Timestamp: ToSql<DbTimestamp, DB>,
    Id: ToSql<DbUuid, DB>,
    At: Column<SqlType = DbTimestamp> + QueryFragment<DB>,
    Key: Column<SqlType = DbUuid> + QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("(");
        self.columns.0.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.columns.1.walk_ast(out.reborrow())?;
        out.push_sql(") < (");
        out.push_bind_param::<DbTimestamp, _>(&self.at)?;
        out.push_sql(", ");
        out.push_bind_param::<DbUuid, _>(&self.id)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<QS, At, Key> AppearsOnTable<QS> for ListedAfter<(At, Key)>
where
    At: AppearsOnTable<QS>,
    Key: AppearsOnTable<QS>,
{
}

impl<QS, At, Key> SelectableExpression<QS> for ListedAfter<(At, Key)>
where
    At: SelectableExpression<QS>,
    Key: SelectableExpression<QS>,
{
}

impl<C> ValidGrouping<()> for ListedAfter<C> {
    type IsAggregate = is_aggregate::Never;
}

/// `lower(customers.email) = lower(address)`, sent as a statement planned for its values
/// at every execution (never prepared and cached: see the module documentation).
#[derive(Debug, Clone, QueryId)]
pub(super) struct EmailIs(String);

impl EmailIs {
    /// The condition for `address`, compared case-insensitively like the unique index.
    pub fn new(address: String) -> Self {
        Self(address)
    }
}

impl Expression for EmailIs {
    type SqlType = Bool;
}

impl<DB> QueryFragment<DB> for EmailIs
where
    DB: Backend + HasSqlType<Text>,
    String: ToSql<Text, DB>,
    customers::email: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql("lower(");
        customers::email.walk_ast(out.reborrow())?;
        out.push_sql(") = lower(");
        out.push_bind_param::<Text, _>(&self.0)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<QS> AppearsOnTable<QS> for EmailIs where customers::email: AppearsOnTable<QS> {}

impl<QS> SelectableExpression<QS> for EmailIs where customers::email: SelectableExpression<QS> {}

impl ValidGrouping<()> for EmailIs {
    type IsAggregate = is_aggregate::Never;
}

/// The branch counts a batch of lookups by id is sent with (its ids repeated up to the
/// next of them): few distinct statements per connection, each prepared once.
const BRANCHES: [usize; 5] = [2, 4, 8, 16, 32];

// The statement of each branch count is a type of its own (see `union_all!`).
const _: () = assert!(matches!(BRANCHES, [2, 4, 8, 16, 32]));

/// The most lookups by id one statement carries; a larger batch goes in several.
pub(super) const MOST_BRANCHES: usize = BRANCHES[BRANCHES.len() - 1];

/// How many branches a statement for `ids` lookups (2 to [`MOST_BRANCHES`]) has.
pub(super) fn branches(ids: usize) -> usize {
    BRANCHES
        .into_iter()
        .find(|&n| n >= ids)
        .unwrap_or(MOST_BRANCHES)
}

/// `part UNION ALL part UNION ALL …`, `N` parts of one shape: lookups by primary key,
/// several in one statement (see the module documentation). The number of parts is part
/// of the type, so that a statement with parts whose shape has a static query id has one
/// too: Diesel then finds its prepared statement by type, without building its SQL (a
/// 32-part statement's SQL, built for every batch, cost a tenth of the lookup's time).
/// Build it with [`union_all!`].
#[derive(Debug, Clone)]
pub(super) struct UnionAll<Q, const N: usize>(Vec<Q>);

impl<Q, const N: usize> UnionAll<Q, N> {
    /// The statement of part `part(n)` for each `n` below `N`.
    pub fn new(part: impl FnMut(usize) -> Q) -> Self {
        Self((0..N).map(part).collect())
    }
}

impl<Q: Query, const N: usize> Query for UnionAll<Q, N> {
    type SqlType = Q::SqlType;
}

impl<Q: QueryId, const N: usize> QueryId for UnionAll<Q, N> {
    type QueryId = UnionAll<Q::QueryId, N>;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<Q, DB, const N: usize> QueryFragment<DB> for UnionAll<Q, N>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for (n, part) in self.0.iter().enumerate() {
            if n > 0 {
                out.push_sql(" UNION ALL ");
            }
            part.walk_ast(out.reborrow())?;
        }
        Ok(())
    }
}

impl<Q, Conn, const N: usize> RunQueryDsl<Conn> for UnionAll<Q, N> {}

/// Loads, on `$conn`, the [`UnionAll`] of `$part(n)` for `n` below the branch count
/// `$branches` (one of [`BRANCHES`]: the first part's shape repeated must be what the
/// caller wants of the parts past its keys).
macro_rules! union_all {
    ($conn:ident, $branches:expr, $part:expr) => {
        match $branches {
            2 => $crate::store::shapes::UnionAll::<_, 2>::new($part).load($conn),
            4 => $crate::store::shapes::UnionAll::<_, 4>::new($part).load($conn),
            8 => $crate::store::shapes::UnionAll::<_, 8>::new($part).load($conn),
            16 => $crate::store::shapes::UnionAll::<_, 16>::new($part).load($conn),
            _ => $crate::store::shapes::UnionAll::<_, 32>::new($part).load($conn),
        }
    };
}
pub(super) use union_all;

/// The page sizes a listing is fetched in: a request's page (plus the one row that tells
/// whether more follow) is rounded up to the next of these, so that few distinct
/// statements are prepared per connection whatever limits clients ask for.
const PAGE_SIZES: [u32; 4] = [11, 21, 51, 101];

/// The page size a listing of `rows` rows is fetched with: the next of [`PAGE_SIZES`], or
/// `rows` itself beyond them.
pub(super) fn page_size(rows: u32) -> u32 {
    PAGE_SIZES
        .into_iter()
        .find(|&size| size >= rows)
        .unwrap_or(rows)
}

/// `query LIMIT rows`, with `rows` written into the SQL (see the module documentation).
#[derive(Debug, Clone)]
pub(super) struct LimitedTo<Q> {
    query: Q,
    rows: u32,
}

impl<Q> LimitedTo<Q> {
    /// `query`, returning at most `rows` rows.
    pub fn new(query: Q, rows: u32) -> Self {
        Self { query, rows }
    }
}

impl<Q: Query> Query for LimitedTo<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> QueryId for LimitedTo<Q> {
    type QueryId = ();
    // Told apart by their SQL, which holds the limit.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, DB> QueryFragment<DB> for LimitedTo<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        // A number formatted from a `u32`: nothing a client controls reaches the SQL.
        out.push_sql(&format!(" LIMIT {}", self.rows));
        Ok(())
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for LimitedTo<Q> {}

#[cfg(test)]
mod tests {
    use diesel::debug_query;
    use diesel::prelude::*;

    use super::*;

    #[test]
    fn an_email_condition_is_never_cached_as_a_prepared_statement() {
        use diesel::pg::Pg;
        use diesel::sqlite::Sqlite;
        let query = customers::table
            .filter(EmailIs::new("A@example.com".into()))
            .select(customers::id);
        let pg = debug_query::<diesel::pg::Pg, _>(&query).to_string();
        assert!(
            pg.contains(r#"lower("customers"."email") = lower($1)"#),
            "{pg}"
        );
        assert!(!QueryFragment::<Pg>::is_safe_to_cache_prepared(&query, &Pg).unwrap());
        assert!(!QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&query, &Sqlite).unwrap());
        let by_account = customers::table
            .filter(customers::account_id.eq(Id(uuid::Uuid::nil())))
            .select(customers::id);
        assert!(QueryFragment::<Pg>::is_safe_to_cache_prepared(&by_account, &Pg).unwrap());
    }

    #[test]
    fn a_page_size_is_a_literal_from_a_short_list() {
        let query = LimitedTo::new(customers::table.select(customers::id), page_size(21));
        let pg = debug_query::<diesel::pg::Pg, _>(&query).to_string();
        assert!(
            pg.ends_with(r#"FROM "customers" LIMIT 21 -- binds: []"#),
            "{pg}"
        );
        assert_eq!(
            (1..=101)
                .map(page_size)
                .collect::<std::collections::BTreeSet<_>>(),
            PAGE_SIZES.into_iter().collect()
        );
        assert_eq!(page_size(2), 11);
        assert_eq!(page_size(22), 51);
        assert_eq!(page_size(500), 500);
    }

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
        let deliveries = super::outbox_jobs::table
            .filter(ListedAfter::deliveries(at, id))
            .select(super::outbox_jobs::id);
        let pg = debug_query::<diesel::pg::Pg, _>(&deliveries).to_string();
        assert!(
            pg.contains(r#"("outbox_jobs"."created_at", "outbox_jobs"."id") < ($1, $2)"#),
            "{pg}"
        );
    }
}
