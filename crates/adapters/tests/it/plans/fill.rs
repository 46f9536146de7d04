//! Growing the tables behind the pool's back: tens of thousands of customers in the one
//! account (a rare KYC status among them), their outbox jobs (most sent, a few queued
//! but not yet due), and many other accounts.

use std::path::Path;

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, PgConnection, SqliteConnection};
use domain::AccountId;

/// Customers added to the account.
pub const CUSTOMERS: u32 = 40_000;
/// Other accounts added.
pub const ACCOUNTS: u32 = 20_000;

pub fn postgres(url: &str, account: AccountId) {
    let mut conn = PgConnection::establish(url).unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO customers (id, account_id, full_name, email, phone, country, customer_type,
             send_kyc_mail, kyc_provider, kyc_link, tos_link, kyc_status, tos_status,
             created_at, kyc_mail_status)
         SELECT gen_random_uuid(), '{account}', 'Grown Customer', 'grown' || g || '@example.com',
             '+14155552671', 'USA', 'individual', true, 'sandbox', 'https://k.example/' || g,
             'https://t.example/' || g,
             CASE WHEN g % 1000 = 0 THEN 'approved' ELSE 'not_started' END, 'pending',
             now() - make_interval(secs => g), 'sent'
           FROM generate_series(1, {CUSTOMERS}) AS g;
         INSERT INTO outbox_jobs (id, kind, customer_id, message_id, status, next_attempt_at,
             created_at)
         SELECT id, 'kyc_mail', id, 'grown-' || id,
             CASE WHEN random() < 0.01 THEN 'queued' ELSE 'delivered' END,
             now() + interval '1 hour', created_at
           FROM customers WHERE full_name = 'Grown Customer';
         INSERT INTO accounts (id, name, secret_hash, created_at)
         SELECT gen_random_uuid(), 'grown', '!', now() FROM generate_series(1, {ACCOUNTS});",
        account = account.0,
    ))
    .unwrap();
}

pub fn analyze_postgres(url: &str) {
    PgConnection::establish(url)
        .unwrap()
        .batch_execute("ANALYZE")
        .unwrap();
}

fn sqlite_conn(path: &Path) -> SqliteConnection {
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 10000").unwrap();
    conn
}

/// A random hyphenated lower-case UUID, SQLite's spelling of one.
const SQLITE_UUID: &str = "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || \
    substr(hex(randomblob(2)), 2) || '-8' || substr(hex(randomblob(2)), 2) || '-' || \
    hex(randomblob(6)))";

pub fn sqlite(path: &Path, account: AccountId) {
    sqlite_conn(path)
        .batch_execute(&format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {CUSTOMERS})
             INSERT INTO customers (id, account_id, full_name, email, phone, country,
                 customer_type, send_kyc_mail, kyc_provider, kyc_link, tos_link, kyc_status,
                 tos_status, created_at, kyc_mail_status)
             SELECT {SQLITE_UUID}, '{account}', 'Grown Customer', 'grown' || n || '@example.com',
                 '+14155552671', 'USA', 'individual', 1, 'sandbox', 'https://k.example/' || n,
                 'https://t.example/' || n,
                 CASE WHEN n % 1000 = 0 THEN 'approved' ELSE 'not_started' END, 'pending',
                 strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || n || ' seconds'), 'sent'
               FROM g;
             INSERT INTO outbox_jobs (id, kind, customer_id, message_id, status,
                 next_attempt_at, created_at)
             SELECT id, 'kyc_mail', id, 'grown-' || id,
                 CASE WHEN abs(random()) % 100 = 0 THEN 'queued' ELSE 'delivered' END,
                 strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+1 hour'), created_at
               FROM customers WHERE full_name = 'Grown Customer';
             WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {ACCOUNTS})
             INSERT INTO accounts (id, name, secret_hash, created_at)
             SELECT {SQLITE_UUID}, 'grown', '!', strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM g;",
            account = account.0.hyphenated(),
        ))
        .unwrap();
}

pub fn analyze_sqlite(path: &Path) {
    sqlite_conn(path).batch_execute("ANALYZE").unwrap();
}
