//! The three values each backend stores its own way, as Diesel SQL types, so that one
//! schema, one row type and one query serve both:
//!
//! | SQL type        | Rust value    | PostgreSQL    | SQLite                                 |
//! |-----------------|---------------|---------------|----------------------------------------|
//! | [`DbUuid`]      | [`Id`]        | `uuid`        | hyphenated lower-case `TEXT`           |
//! | [`DbTimestamp`] | [`Timestamp`] | `timestamptz` | RFC 3339 `TEXT`, milliseconds, `Z`     |
//! | [`DbJson`]      | [`Json`]      | `jsonb`       | JSON `TEXT`                            |
//!
//! On PostgreSQL each delegates to Diesel's own conversion for the native type; the OIDs
//! are the built-in types' fixed ones, so no connection looks them up. On SQLite the
//! spellings are exactly the ones the SQLite migrations describe (and existing files
//! hold): fixed-width, so text order is UUID order and time order, which the listing's
//! cursor and the outbox's due-time comparisons rely on.
//!
//! The Rust values are small wrappers around `Uuid`, `DateTime<Utc>` and
//! `serde_json::Value` rather than those types themselves: a value is bound into a query
//! through `AsExpression`, and Rust's coherence rules forbid implementing Diesel's
//! `AsExpression` for a type of another crate (Diesel's blanket impl over every
//! `Expression` could cover it). The wrappers appear only in rows and query parameters;
//! [`super::rows`] unwraps them.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{self, SqlOrd};
use diesel::sqlite::{Sqlite, SqliteValue};
use uuid::Uuid;

/// A UUID: PostgreSQL `uuid`, SQLite hyphenated lower-case text.
#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
#[diesel(postgres_type(oid = 2950, array_oid = 2951))]
#[diesel(sqlite_type(name = "Text"))]
pub struct DbUuid;

/// A point in time: PostgreSQL `timestamptz`, SQLite RFC 3339 text in UTC with
/// milliseconds (`2026-11-25T09:30:00.123Z`).
#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Text"))]
pub struct DbTimestamp;

/// A JSON document: PostgreSQL `jsonb`, SQLite JSON text.
#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
#[diesel(postgres_type(oid = 3802, array_oid = 3807))]
#[diesel(sqlite_type(name = "Text"))]
pub struct DbJson;

// `min(created_at)` of the outbox; on SQLite the fixed-width text orders as time does.
impl SqlOrd for DbTimestamp {}

/// A stored or bound UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = DbUuid)]
pub struct Id(pub Uuid);

/// A stored or bound point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = DbTimestamp)]
pub struct Timestamp(pub DateTime<Utc>);

/// A stored or bound JSON document.
#[derive(Debug, Clone, PartialEq, AsExpression, FromSqlRow)]
#[diesel(sql_type = DbJson)]
pub struct Json(pub serde_json::Value);

/// Conversions of a wrapper: on PostgreSQL through Diesel's native type, on SQLite
/// through text.
macro_rules! stored_as {
    ($value:ident($inner:ty), $sql:ty, pg: $native:ty,
     to_text: $to_text:expr, from_text: $from_text:expr $(,)?) => {
        impl ToSql<$sql, Pg> for $value {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <$inner as ToSql<$native, Pg>>::to_sql(&self.0, out)
            }
        }

        impl FromSql<$sql, Pg> for $value {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                <$inner as FromSql<$native, Pg>>::from_sql(value).map(Self)
            }
        }

        impl ToSql<$sql, Sqlite> for $value {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                let to_text: fn(&$inner) -> String = $to_text;
                out.set_value(to_text(&self.0));
                Ok(IsNull::No)
            }
        }

        impl FromSql<$sql, Sqlite> for $value {
            fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
                let from_text: fn(&str) -> deserialize::Result<$inner> = $from_text;
                from_text(value.read_text()).map(Self)
            }
        }
    };
}

stored_as!(
    Id(Uuid),
    DbUuid,
    pg: sql_types::Uuid,
    to_text: |id| id.hyphenated().to_string(),
    from_text: |text| Ok(Uuid::parse_str(text)?),
);

stored_as!(
    Timestamp(DateTime<Utc>),
    DbTimestamp,
    pg: sql_types::Timestamptz,
    to_text: |t| t.to_rfc3339_opts(SecondsFormat::Millis, true),
    from_text: |text| Ok(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc)),
);

stored_as!(
    Json(serde_json::Value),
    DbJson,
    pg: sql_types::Jsonb,
    to_text: |value| value.to_string(),
    from_text: |text| Ok(serde_json::from_str(text)?),
);
