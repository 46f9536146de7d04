//! Reading back the plan a pooled connection uses for a statement, and judging it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::InstrumentationEvent;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use serde_json::Value;

use super::{Fixture, Statement};

/// Pool settings for a pool of exactly one connection.
pub fn pool_of_one() -> adapters::PoolSettings {
    adapters::PoolSettings {
        max_size: 1,
        connection_timeout: Duration::from_secs(10),
    }
}

/// The SQL text of `sent` (Diesel's debug form ends with its binds), without identifier
/// quotes, in lower case: what the tables' pickers look at.
pub fn normalise(sent: &str) -> String {
    sent.replace(['"', '`'], "").to_lowercase()
}

/// The statements a connection sends, as Diesel's instrumentation reports them.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    /// Records everything `conn` sends from now on.
    pub fn install<C: Connection>(conn: &mut C) -> Self {
        let recorder = Self::default();
        let sink = recorder.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                let text = query.to_string();
                let sql = text.split(" -- binds: ").next().unwrap_or(&text).to_owned();
                sink.0.lock().unwrap().push(sql);
            }
        });
        recorder
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// An index as each backend names it.
#[derive(Debug, Clone, Copy)]
pub enum Index {
    /// Named the same on both (created by our migrations).
    Named(&'static str),
    /// The primary key of this table.
    PrimaryKey(&'static str),
}

impl Index {
    fn postgres(self) -> String {
        match self {
            Self::Named(name) => name.to_owned(),
            Self::PrimaryKey(table) => format!("{table}_pkey"),
        }
    }

    fn sqlite(self) -> String {
        match self {
            Self::Named(name) => name.to_owned(),
            Self::PrimaryKey(table) => format!("sqlite_autoindex_{table}_1"),
        }
    }
}

/// The plan a statement must have.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// The index that must serve it; `None`: any, as long as no table is scanned whole.
    index: Option<Index>,
    /// What the index condition must contain, per backend: the selective conditions are
    /// bounds of the index range, not filters applied row by row.
    pg_cond: &'static [&'static str],
    sqlite_cond: &'static [&'static str],
    /// Rows come in index order: no sort (which would read every match first).
    in_order: bool,
    /// Judge PostgreSQL's generic plan even if the connection has not switched to it yet
    /// (for a statement the warm-up may not have sent five times).
    generic: bool,
}

impl Probe {
    pub fn uses(index: Index) -> Self {
        Self {
            index: Some(index),
            pg_cond: &[],
            sqlite_cond: &[],
            in_order: false,
            generic: false,
        }
    }

    pub fn no_full_scan() -> Self {
        Self {
            index: None,
            pg_cond: &[],
            sqlite_cond: &[],
            in_order: false,
            generic: false,
        }
    }

    pub fn pg_cond(self, cond: &'static [&'static str]) -> Self {
        Self {
            pg_cond: cond,
            ..self
        }
    }

    pub fn sqlite_cond(self, cond: &'static [&'static str]) -> Self {
        Self {
            sqlite_cond: cond,
            ..self
        }
    }

    pub fn in_index_order(self) -> Self {
        Self {
            in_order: true,
            ..self
        }
    }

    pub fn generic_plan(self) -> Self {
        Self {
            generic: true,
            ..self
        }
    }
}

#[derive(QueryableByName)]
struct PreparedRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    parameters: i64,
}

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    plan: String,
}

/// Every node of a PostgreSQL JSON plan.
fn nodes(plan: &Value) -> Vec<&Value> {
    let mut out = vec![plan];
    if let Some(children) = plan.get("Plans").and_then(Value::as_array) {
        for child in children {
            out.extend(nodes(child));
        }
    }
    out
}

fn field<'a>(node: &'a Value, name: &str) -> &'a str {
    node.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Reads the plan `conn` uses for `sql` — Diesel's prepared statement when it cached one,
/// else the same text prepared here — and checks it against the statement's probe.
pub fn postgres_plan(
    conn: &mut PgConnection,
    statement: &Statement,
    sql: &str,
    fixture: &Fixture,
    analyzed: bool,
) {
    let context = format!(
        "{} ({} ANALYZE)",
        statement.name,
        if analyzed { "after" } else { "without" }
    );
    let cached: Vec<PreparedRow> = diesel::sql_query(
        "SELECT name, cardinality(parameter_types)::int8 AS parameters \
           FROM pg_prepared_statements WHERE statement = $1",
    )
    .bind::<Text, _>(sql)
    .load(conn)
    .unwrap();
    let (name, parameters) = match cached.first() {
        // Diesel's cached statement: EXPLAIN EXECUTE shows the plan it runs with, the
        // generic one when PostgreSQL switched to it.
        Some(row) => (row.name.clone(), row.parameters),
        None => {
            // Sent unnamed (an INSERT with DEFAULT values, a condition on the e-mail), and
            // so planned for its values at each execution: prepare the same text and look
            // at its first, custom, plan.
            let _ = diesel::sql_query("DEALLOCATE plan_probe").execute(conn);
            diesel::sql_query(format!("PREPARE plan_probe AS {sql}"))
                .execute(conn)
                .unwrap();
            let count: Vec<PreparedRow> = diesel::sql_query(
                "SELECT name, cardinality(parameter_types)::int8 AS parameters \
                   FROM pg_prepared_statements WHERE name = 'plan_probe'",
            )
            .load(conn)
            .unwrap();
            ("plan_probe".to_owned(), count[0].parameters)
        }
    };
    let params = match statement.params {
        Some(params) => params(fixture),
        None => vec!["NULL".to_owned(); usize::try_from(parameters).unwrap()],
    };
    assert_eq!(
        params.len() as i64,
        parameters,
        "{context}: the table gives {} parameters for {sql}",
        params.len()
    );
    let explain = format!(
        "EXPLAIN (FORMAT JSON) EXECUTE {name}({})",
        params.join(", ")
    );
    if statement.probe.generic {
        diesel::sql_query("SET plan_cache_mode = force_generic_plan")
            .execute(conn)
            .unwrap();
    }
    let row: PlanRow = diesel::sql_query(&explain).get_result(conn).unwrap();
    if statement.probe.generic {
        diesel::sql_query("RESET plan_cache_mode")
            .execute(conn)
            .unwrap();
    }
    let plan: Value = serde_json::from_str(&row.plan).unwrap();
    let root = &plan[0]["Plan"];
    let all = nodes(root);
    let shown = serde_json::to_string_pretty(root).unwrap();

    for node in &all {
        let kind = field(node, "Node Type");
        assert_ne!(kind, "Seq Scan", "{context}: scans a whole table:\n{shown}");
        if statement.probe.in_order {
            assert!(
                kind != "Sort" && kind != "Bitmap Heap Scan",
                "{context}: reads every match before the first page:\n{shown}"
            );
        }
    }
    if let Some(index) = statement.probe.index {
        let index = index.postgres();
        let scan = all
            .iter()
            .find(|n| field(n, "Index Name") == index)
            .unwrap_or_else(|| panic!("{context}: does not use {index}:\n{shown}"));
        let cond = field(scan, "Index Cond");
        for part in statement.probe.pg_cond {
            assert!(
                cond.contains(part),
                "{context}: `{part}` is not a bound of the {index} range:\n{shown}"
            );
        }
    }
}

#[derive(QueryableByName)]
struct QueryPlanRow {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Text)]
    detail: String,
}

/// Checks SQLite's plan for `sql` on `conn` against the statement's probe.
pub fn sqlite_plan(conn: &mut SqliteConnection, statement: &Statement, sql: &str, analyzed: bool) {
    let context = format!(
        "{} ({} ANALYZE)",
        statement.name,
        if analyzed { "after" } else { "without" }
    );
    let rows: Vec<QueryPlanRow> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load(conn)
        .unwrap();
    let shown = rows
        .iter()
        .map(|r| format!("{} {}", r.id, r.detail))
        .collect::<Vec<_>>()
        .join("\n");
    for row in &rows {
        assert!(
            !row.detail.starts_with("SCAN ") || row.detail == "SCAN CONSTANT ROW",
            "{context}: scans a whole table:\n{shown}"
        );
        if statement.probe.in_order {
            assert!(
                !row.detail.contains("TEMP B-TREE"),
                "{context}: sorts every match before the first page:\n{shown}"
            );
        }
    }
    if let Some(index) = statement.probe.index {
        let index = index.sqlite();
        let search = rows
            .iter()
            .find(|r| {
                r.detail.contains(&format!("USING INDEX {index} "))
                    || r.detail.contains(&format!("USING COVERING INDEX {index} "))
            })
            .unwrap_or_else(|| panic!("{context}: does not use {index}:\n{shown}"));
        for part in statement.probe.sqlite_cond {
            assert!(
                search.detail.contains(part),
                "{context}: `{part}` is not a bound of the {index} range:\n{shown}"
            );
        }
    }
}
