//! A dump of every row of every table, and a search of it for a person's data: what an
//! erasure test needs to show that nothing of the person is left anywhere. The tables are
//! read from the database's own catalog, so a table added later is searched without
//! anyone listing it.

use diesel::prelude::*;

/// One text value.
#[derive(QueryableByName)]
struct TextValue {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

/// The first column of every row of `sql`.
macro_rules! texts {
    ($conn:expr, $sql:expr $(,)?) => {
        diesel::sql_query($sql)
            .load::<TextValue>($conn)
            .expect("a dump query")
            .into_iter()
            .map(|r| r.v)
            .collect::<Vec<String>>()
    };
}

/// Every row of every table of the PostgreSQL database at `url`, as `(table, row as
/// JSON)`; binary values come out as hexadecimal (`\x…`).
pub fn dump_postgres(url: &str) -> Vec<(String, String)> {
    let mut conn = diesel::PgConnection::establish(url).expect("a connection for the dump");
    let tables = texts!(
        &mut conn,
        "SELECT table_name::text AS v FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    );
    assert!(tables.iter().any(|t| t == "customers"), "{tables:?}");
    let mut rows = Vec::new();
    for table in tables {
        let select = format!("SELECT row_to_json(t)::text AS v FROM \"{table}\" t");
        rows.extend(
            texts!(&mut conn, &select)
                .into_iter()
                .map(|row| (table.clone(), row)),
        );
    }
    rows
}

/// Every row of every table of the SQLite file at `path`, as `(table, row)` with each
/// value as SQL `quote()` writes it; binary values come out as hexadecimal (`X'…'`).
pub fn dump_sqlite(path: &std::path::Path) -> Vec<(String, String)> {
    let mut conn = diesel::SqliteConnection::establish(path.to_str().expect("a UTF-8 path"))
        .expect("a connection for the dump");
    let tables = texts!(
        &mut conn,
        "SELECT name AS v FROM sqlite_master WHERE type = 'table'",
    );
    assert!(tables.iter().any(|t| t == "customers"), "{tables:?}");
    let mut rows = Vec::new();
    for table in tables {
        let columns = texts!(
            &mut conn,
            &format!("SELECT name AS v FROM pragma_table_info('{table}')"),
        );
        let row = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let select = format!("SELECT {row} AS v FROM \"{table}\"");
        rows.extend(
            texts!(&mut conn, &select)
                .into_iter()
                .map(|row| (table.clone(), row)),
        );
    }
    rows
}

/// The rows of `dump` that show any of `needles`, as text or in the hexadecimal form
/// binary columns are dumped in, ignoring case.
pub fn traces(dump: Vec<(String, String)>, needles: &[&str]) -> Vec<(String, String)> {
    let forms: Vec<String> = needles
        .iter()
        .flat_map(|n| {
            let hex: String = n.bytes().map(|b| format!("{b:02x}")).collect();
            [n.to_lowercase(), hex]
        })
        .collect();
    dump.into_iter()
        .filter(|(_, row)| {
            let row = row.to_lowercase();
            forms.iter().any(|form| row.contains(form))
        })
        .collect()
}
