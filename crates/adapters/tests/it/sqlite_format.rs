//! The SQLite store keeps the text spellings of UUIDs, times and JSON that earlier versions
//! wrote, so existing database files stay readable and their text order stays time order.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use diesel::sql_types::Text;
use ports::{AccountRepository as _, CustomerRepository as _};
use testkit::{register_account, registration, sample_customer, TempSqlite};

use crate::migrations::migrate_to;
use crate::stores::open_sqlite;

#[derive(QueryableByName)]
struct StoredText {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    account_id: String,
    #[diesel(sql_type = Text)]
    created_at: String,
    #[diesel(sql_type = Text)]
    rejection_reasons: String,
    #[diesel(sql_type = Text)]
    next_attempt_at: String,
}

fn raw(file: &TempSqlite) -> SqliteConnection {
    SqliteConnection::establish(file.path().to_str().unwrap()).unwrap()
}

#[tokio::test]
async fn sqlite_writes_ids_times_and_json_as_text_in_the_documented_spelling() {
    let file = TempSqlite::new();
    let store = open_sqlite(&file);
    let account = register_account(&store).await;
    let customer = sample_customer(account, "ada@example.com");
    store.insert(&registration(&customer)).await.unwrap();

    let stored: StoredText = diesel::sql_query(
        "SELECT c.id, c.account_id, c.created_at, c.rejection_reasons, j.next_attempt_at \
           FROM customers c JOIN outbox_jobs j ON j.customer_id = c.id",
    )
    .get_result(&mut raw(&file))
    .unwrap();

    assert_eq!(stored.id, customer.id.0.hyphenated().to_string());
    assert_eq!(stored.account_id, account.0.hyphenated().to_string());
    let time = customer
        .created_at
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    assert_eq!(stored.created_at, time);
    assert_eq!(stored.next_attempt_at, time);
    assert!(stored.created_at.ends_with('Z') && stored.created_at.len() == 24);
    let reasons: serde_json::Value = serde_json::from_str(&stored.rejection_reasons).unwrap();
    assert_eq!(
        reasons,
        serde_json::json!([{
            "reason": "Your ID has expired",
            "developer_reason": "Document expired",
            "created_at": "2024-12-01T18:46:15.392Z"
        }])
    );
}

#[tokio::test]
async fn sqlite_reads_rows_an_earlier_version_wrote() {
    let file = TempSqlite::new();
    let store = open_sqlite(&file);
    let mut conn = raw(&file);
    migrate_to(&mut conn, || adapters::sqlite::MIGRATIONS, "20261125000003");
    conn.batch_execute(
        "INSERT INTO accounts (id, name, secret_hash, disabled, created_at) VALUES
               ('0a1b2c3d-0000-4000-8000-000000000001', 'old', '!', 0,
                '2026-01-02T03:04:05.678Z');
             INSERT INTO customers (id, account_id, full_name, email, phone, country,
               customer_type, send_kyc_mail, kyc_provider, kyc_link, tos_link, kyc_status,
               tos_status, rejection_reasons, created_at, kyc_mail_status) VALUES
               ('0a1b2c3d-0000-4000-8000-000000000002', '0a1b2c3d-0000-4000-8000-000000000001',
                'Ada Lovelace', 'ada@example.com', '+2349039395114', 'USA', 'individual', 0,
                'sandbox', 'https://kyc.example/1', 'https://tos.example/1', 'not_started',
                'pending', '[{\"reason\":\"blurry\"}]', '2026-01-02T03:04:05.678Z',
                'not_requested');",
    )
    .unwrap();
    store.run_migrations().unwrap();
    let account = store
        .find_account(domain::AccountId(
            "0a1b2c3d-0000-4000-8000-000000000001".parse().unwrap(),
        ))
        .await
        .unwrap()
        .unwrap();
    let at: DateTime<Utc> = "2026-01-02T03:04:05.678Z".parse().unwrap();
    assert_eq!(account.created_at, at);
    let customer = store
        .find(
            account.id,
            domain::CustomerId("0a1b2c3d-0000-4000-8000-000000000002".parse().unwrap()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.created_at, at);
    assert_eq!(customer.kyc_state.rejection_reasons.len(), 1);
    assert_eq!(customer.kyc_state.rejection_reasons[0].reason, "blurry");
    assert_eq!(customer.kyc_state.rejection_reasons[0].created_at, at);
}

#[tokio::test]
async fn a_stored_value_edited_out_of_shape_is_reported_not_passed_on() {
    let file = TempSqlite::new();
    let store = open_sqlite(&file);
    let account = register_account(&store).await;
    let customer = sample_customer(account, "ada@example.com");
    store.insert(&registration(&customer)).await.unwrap();
    // SQLite's CHECK on the column only asks for a leading `+` and digit.
    raw(&file)
        .batch_execute("UPDATE customers SET phone = '+1 not a number'")
        .unwrap();
    let read = store.find(account, customer.id).await;
    let error = read.unwrap_err().to_string();
    assert!(error.contains("phone"), "{error}");
}
