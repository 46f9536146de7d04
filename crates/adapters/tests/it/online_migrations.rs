//! Upgrading a PostgreSQL deployment does not block writes to tables that already hold data:
//! indexes on them are built `CONCURRENTLY` outside a transaction, CHECK constraints on them
//! are added `NOT VALID` and validated by a later migration, and an interrupted index build
//! stops the next upgrade until the invalid index it left is dropped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel::PgConnection;
use diesel_migrations::MigrationHarness;
use testkit::TestPostgres;

use crate::migrations::{migrate_to, migrate_to_from_here, OLD_CUSTOMER};
use crate::stores::test_pool_settings;

/// The last migration released before the rule: the ones after it upgrade deployments that
/// may already hold data, so they follow it.
const LAST_RELEASED: &str = "2026-11-25-000003";

/// One PostgreSQL migration as written in the repository.
struct Migration {
    dir: String,
    statements: Vec<String>,
    in_transaction: bool,
}

fn postgres_migrations() -> Vec<Migration> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let sql = std::fs::read_to_string(dir.join("up.sql")).unwrap();
            let metadata = std::fs::read_to_string(dir.join("metadata.toml")).unwrap_or_default();
            Migration {
                dir: dir.file_name().unwrap().to_string_lossy().into_owned(),
                statements: statements(&sql),
                in_transaction: !metadata
                    .lines()
                    .any(|line| line.replace(' ', "") == "run_in_transaction=false"),
            }
        })
        .collect()
}

/// The statements of `sql` without comments, each as its lower-case words (a word is a
/// run of letters, digits and underscores).
fn statements(sql: &str) -> Vec<String> {
    let code: Vec<&str> = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect();
    code.join(" ")
        .split(';')
        .map(|statement| {
            statement
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|word| !word.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        })
        .filter(|statement| !statement.is_empty())
        .collect()
}

/// The table a `CREATE [UNIQUE] INDEX …`, `ALTER TABLE …` or `INSERT INTO …` statement
/// works on.
fn target_table(statement: &str) -> Option<&str> {
    let mut words = statement.split(' ');
    match (words.next(), words.next()) {
        (Some("create"), Some("index" | "unique")) => {
            let mut words = words.skip_while(|word| *word != "on").skip(1);
            words.find(|word| *word != "only")
        }
        (Some("alter"), Some("table")) => {
            words.find(|word| !matches!(*word, "if" | "exists" | "only"))
        }
        (Some("insert"), Some("into")) => words.next(),
        _ => None,
    }
}

/// The tables a statement names after `REFERENCES`.
fn referenced_tables(statement: &str) -> impl Iterator<Item = &str> {
    let words: Vec<&str> = statement.split(' ').collect();
    let tables: Vec<&str> = words
        .windows(2)
        .filter(|pair| pair[0] == "references")
        .map(|pair| pair[1])
        .collect();
    tables.into_iter()
}

/// Whether a statement reads or writes rows (its time grows with the data).
fn is_data_statement(statement: &str) -> bool {
    ["insert ", "update ", "delete "]
        .iter()
        .any(|verb| statement.starts_with(verb))
}

#[test]
fn postgres_upgrades_do_not_block_writes_to_tables_that_hold_data() {
    let mut existing: HashSet<String> = HashSet::new();
    let (mut indexes, mut constraints) = (0, 0);
    for migration in postgres_migrations() {
        let version = migration.dir.split('_').next().unwrap();
        let statements = &migration.statements;
        let last_data = statements.iter().rposition(|s| is_data_statement(s));
        let filled: HashSet<&str> = statements
            .iter()
            .filter(|s| s.starts_with("insert "))
            .filter_map(|s| target_table(s))
            .collect();
        for (at, statement) in statements.iter().enumerate() {
            if version <= LAST_RELEASED {
                break;
            }
            let target = target_table(statement);
            let on_existing = target.is_some_and(|t| existing.contains(t));
            let references_existing = referenced_tables(statement).any(|t| existing.contains(t));
            // A lock that blocks writes to a table holding data lasts until the migration
            // commits: it must not be taken before work that grows with the data.
            if (on_existing && !statement.starts_with("create"))
                || references_existing
                || statement.starts_with("drop table")
            {
                assert!(
                    last_data.is_none_or(|last| at > last),
                    "{}: a statement locking a table that holds data comes before the \
                     migration's data work: {statement}",
                    migration.dir
                );
            }
            if on_existing && statement.starts_with("create") {
                indexes += 1;
                assert!(
                    statement.contains(" concurrently ")
                        && !migration.in_transaction
                        && statements.len() == 1,
                    "{}: an index on an existing table must be built CONCURRENTLY, alone, in \
                     a migration with run_in_transaction = false: {statement}",
                    migration.dir
                );
            }
            // A constraint whose check reads a table that holds rows (an existing one, or
            // one filled by this migration) is added NOT VALID and validated later.
            let holds_rows = on_existing || target.is_some_and(|t| filled.contains(t));
            if holds_rows && statement.starts_with("alter") {
                let added = statement
                    .split(' ')
                    .filter(|w| matches!(*w, "check" | "references"))
                    .count();
                constraints += added;
                assert_eq!(
                    statement.matches("not valid").count(),
                    added,
                    "{}: a constraint added to a table holding rows must be NOT VALID (and \
                     validated by a later migration): {statement}",
                    migration.dir
                );
            }
        }
        for statement in statements {
            if let Some(table) = statement.strip_prefix("create table ") {
                existing.insert(table.split(' ').next().unwrap().to_owned());
            }
        }
    }
    // The rules were applied where they matter: the indexes on customers, the CHECKs of
    // migrations 4 and 8, and the foreign key of the KYC mail jobs moved in migration 5.
    assert!(indexes >= 4, "{indexes} indexes checked");
    assert!(constraints >= 5, "{constraints} constraints checked");
}

#[derive(QueryableByName)]
struct Constraint {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    validated: bool,
}

/// The CHECK constraints on customers, with whether each is known to hold for every row.
fn check_constraints(conn: &mut PgConnection) -> Vec<(String, bool)> {
    diesel::sql_query(
        "SELECT conname::text AS name, convalidated AS validated FROM pg_constraint \
          WHERE conrelid = 'customers'::regclass AND contype = 'c' ORDER BY 1",
    )
    .load::<Constraint>(conn)
    .unwrap()
    .into_iter()
    .map(|c| (c.name, c.validated))
    .collect()
}

#[test]
fn postgres_constraints_are_added_unvalidated_then_validated_over_older_rows() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let store = adapters::Store::connect_postgres(db.url(), &test_pool_settings()).unwrap();
    let mut conn = PgConnection::establish(db.url()).unwrap();
    migrate_to(
        &mut conn,
        || adapters::postgres::MIGRATIONS,
        "20261125000003",
    );
    conn.batch_execute(OLD_CUSTOMER).unwrap();
    migrate_to_from_here(
        &mut conn,
        || adapters::postgres::MIGRATIONS,
        "20261126000004",
    );
    // Added without reading the table: not validated yet, yet enforced on writes.
    let unvalidated: Vec<String> = check_constraints(&mut conn)
        .into_iter()
        .filter(|(_, validated)| !validated)
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        unvalidated,
        [
            "customers_kyc_status_check",
            "customers_tos_status_check",
            "customers_version_check"
        ]
    );
    assert!(conn
        .batch_execute("UPDATE customers SET kyc_status = 'manual_review'")
        .is_err());

    assert!(store.run_migrations().unwrap() > 0);

    let checks = check_constraints(&mut conn);
    assert!(checks
        .iter()
        .any(|(name, _)| name == "customers_signed_agreement_id_check"));
    // Every constraint of every table now holds for every row.
    let unvalidated: Vec<Constraint> = diesel::sql_query(
        "SELECT conname::text AS name, convalidated AS validated FROM pg_constraint \
          WHERE connamespace = current_schema()::regnamespace AND NOT convalidated",
    )
    .load(&mut conn)
    .unwrap();
    let names: Vec<&str> = unvalidated.iter().map(|c| c.name.as_str()).collect();
    assert!(names.is_empty(), "{names:?}");
}

#[derive(QueryableByName)]
struct Index {
    #[diesel(sql_type = Text)]
    definition: String,
    #[diesel(sql_type = Bool)]
    valid: bool,
}

fn kyc_link_index(conn: &mut PgConnection) -> Vec<(String, bool)> {
    diesel::sql_query(
        "SELECT pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid \
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
          WHERE c.relname = 'customers_kyc_link_idx'",
    )
    .load::<Index>(conn)
    .unwrap()
    .into_iter()
    .map(|i| (i.definition, i.valid))
    .collect()
}

#[test]
fn postgres_an_interrupted_index_build_stops_the_upgrade_until_the_index_is_dropped() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let store = adapters::Store::connect_postgres(db.url(), &test_pool_settings()).unwrap();
    let mut conn = PgConnection::establish(db.url()).unwrap();
    migrate_to(
        &mut conn,
        || adapters::postgres::MIGRATIONS,
        "20261125000003",
    );
    conn.batch_execute(OLD_CUSTOMER).unwrap();
    migrate_to_from_here(
        &mut conn,
        || adapters::postgres::MIGRATIONS,
        "20261126000010",
    );
    // A concurrent build that fails part-way (here: on the old customer's row) leaves an
    // INVALID index of its name behind, as a killed process does.
    assert!(conn
        .batch_execute(
            "CREATE INDEX CONCURRENTLY customers_kyc_link_idx ON customers ((1 / (version - 1)))"
        )
        .is_err());
    assert!(!kyc_link_index(&mut conn)[0].1);
    let pending = conn
        .pending_migrations(adapters::postgres::MIGRATIONS)
        .unwrap()
        .len();

    let refused = format!("{:#}", store.run_migrations().unwrap_err());

    assert!(refused.contains("customers_kyc_link_idx"), "{refused}");
    assert!(refused.contains("DROP INDEX CONCURRENTLY"), "{refused}");
    assert_eq!(
        conn.pending_migrations(adapters::postgres::MIGRATIONS)
            .unwrap()
            .len(),
        pending
    );

    conn.batch_execute("DROP INDEX CONCURRENTLY customers_kyc_link_idx")
        .unwrap();
    assert_eq!(store.run_migrations().unwrap(), pending);
    let rebuilt = kyc_link_index(&mut conn);
    assert!(rebuilt[0].1, "{rebuilt:?}");
    assert!(rebuilt[0].0.contains("(kyc_link_id)"), "{rebuilt:?}");
}
