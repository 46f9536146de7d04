//! Growing the tables behind the pool's back: tens of thousands of customers in the one
//! account (a rare KYC status among them, each with its own KYC link and provider customer
//! id), their outbox jobs (most sent, a few queued but not yet due), many other accounts
//! with an endpoint each, and for the statements of idempotency keys, provider events and
//! webhooks: the account's keys, receipts, KYC history, and events delivered to the
//! account's endpoint. The values the statements look up stay rare.

use std::path::Path;

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, PgConnection, SqliteConnection};

use super::Fixture;

/// Customers added to the account.
pub const CUSTOMERS: u32 = 40_000;
/// Other accounts added.
pub const ACCOUNTS: u32 = 20_000;
/// Rows added to each of the account's idempotency keys, provider events, KYC history and
/// the deliveries of its endpoint.
pub const ROWS: u32 = 40_000;

/// A stored request fingerprint.
const FINGERPRINT: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub fn postgres(url: &str, f: &Fixture) {
    let mut conn = PgConnection::establish(url).unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO customers (id, account_id, full_name, email, phone, country, customer_type,
             send_kyc_mail, kyc_provider, kyc_link_id, kyc_link, tos_link, kyc_status,
             tos_status, provider_customer_id, created_at, kyc_mail_status)
         SELECT gen_random_uuid(), '{account}', 'Grown Customer', 'grown' || g || '@example.com',
             '+14155552671', 'USA', 'individual', true, 'sandbox', 'link-' || g,
             'https://k.example/' || g, 'https://t.example/' || g,
             CASE WHEN g % 1000 = 0 THEN 'approved' ELSE 'not_started' END, 'pending',
             'pc-' || g, now() - make_interval(secs => g), 'sent'
           FROM generate_series(1, {CUSTOMERS}) AS g;
         INSERT INTO outbox_jobs (id, kind, customer_id, message_id, status, next_attempt_at,
             created_at)
         SELECT id, 'kyc_mail', id, 'grown-' || id,
             CASE WHEN random() < 0.01 THEN 'queued' ELSE 'delivered' END,
             now() + interval '1 hour', created_at
           FROM customers WHERE full_name = 'Grown Customer';
         INSERT INTO kyc_history (id, customer_id, from_status, to_status, tos_status, source,
             event_id, at, recorded_at, applied)
         SELECT gen_random_uuid(), id, 'not_started', 'under_review', 'pending', 'webhook',
             'grown-' || id, created_at, created_at, true
           FROM customers WHERE full_name = 'Grown Customer';
         INSERT INTO accounts (id, name, secret_hash, created_at)
         SELECT gen_random_uuid(), 'grown', '!', now() FROM generate_series(1, {ACCOUNTS});
         INSERT INTO webhook_endpoints (id, account_id, url, secret_ciphertext, created_at)
         SELECT gen_random_uuid(), id, 'https://r.example/hook', 'v1:x', now()
           FROM accounts WHERE name = 'grown';
         INSERT INTO idempotency_keys (account_id, method, path, idempotency_key, fingerprint,
             state, reserved_id, created_at, expires_at)
         SELECT '{account}', 'POST', '/customer', 'grown-' || g, '{FINGERPRINT}', 'released',
             gen_random_uuid(), now(), now() + interval '1 day'
           FROM generate_series(1, {ROWS}) AS g;
         INSERT INTO provider_events (provider, event_id, received_at, outcome)
         SELECT 'bridge', 'grown-' || g, now(), 'applied' FROM generate_series(1, {ROWS}) AS g;
         INSERT INTO webhook_events (id, account_id, event_type, body, created_at)
         SELECT 'evt_grown_' || g, '{account}', 'customer.created', '{{}}',
             now() - make_interval(secs => g)
           FROM generate_series(1, {ROWS}) AS g;
         INSERT INTO outbox_jobs (id, kind, endpoint_id, event_id, status, next_attempt_at,
             created_at, finished_at)
         SELECT gen_random_uuid(), 'webhook', '{endpoint}', id, 'delivered', created_at,
             created_at, created_at
           FROM webhook_events WHERE id LIKE 'evt\\_grown\\_%';",
        account = f.account.0,
        endpoint = f.endpoint.0,
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

/// The time `$secs` seconds from now, SQLite's spelling of one.
macro_rules! sqlite_time {
    ($secs:literal) => {
        concat!(
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ",
            $secs,
            " || ' seconds')"
        )
    };
}

pub fn sqlite(path: &Path, f: &Fixture) {
    sqlite_conn(path)
        .batch_execute(&format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {CUSTOMERS})
             INSERT INTO customers (id, account_id, full_name, email, phone, country,
                 customer_type, send_kyc_mail, kyc_provider, kyc_link_id, kyc_link, tos_link,
                 kyc_status, tos_status, provider_customer_id, created_at, kyc_mail_status)
             SELECT {SQLITE_UUID}, '{account}', 'Grown Customer', 'grown' || n || '@example.com',
                 '+14155552671', 'USA', 'individual', 1, 'sandbox', 'link-' || n,
                 'https://k.example/' || n, 'https://t.example/' || n,
                 CASE WHEN n % 1000 = 0 THEN 'approved' ELSE 'not_started' END, 'pending',
                 'pc-' || n, {minus_n}, 'sent'
               FROM g;
             INSERT INTO outbox_jobs (id, kind, customer_id, message_id, status,
                 next_attempt_at, created_at)
             SELECT id, 'kyc_mail', id, 'grown-' || id,
                 CASE WHEN abs(random()) % 100 = 0 THEN 'queued' ELSE 'delivered' END,
                 {in_an_hour}, created_at
               FROM customers WHERE full_name = 'Grown Customer';
             INSERT INTO kyc_history (id, customer_id, from_status, to_status, tos_status,
                 source, event_id, at, recorded_at, applied)
             SELECT {SQLITE_UUID}, id, 'not_started', 'under_review', 'pending', 'webhook',
                 'grown-' || id, created_at, created_at, 1
               FROM customers WHERE full_name = 'Grown Customer';
             WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {ACCOUNTS})
             INSERT INTO accounts (id, name, secret_hash, created_at)
             SELECT {SQLITE_UUID}, 'grown', '!', {now} FROM g;
             INSERT INTO webhook_endpoints (id, account_id, url, secret_ciphertext, created_at)
             SELECT {SQLITE_UUID}, id, 'https://r.example/hook', 'v1:x', {now}
               FROM accounts WHERE name = 'grown';
             WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {ROWS})
             INSERT INTO idempotency_keys (account_id, method, path, idempotency_key,
                 fingerprint, state, reserved_id, created_at, expires_at)
             SELECT '{account}', 'POST', '/customer', 'grown-' || n, '{FINGERPRINT}',
                 'released', {SQLITE_UUID}, {now}, {in_an_hour}
               FROM g;
             WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {ROWS})
             INSERT INTO provider_events (provider, event_id, received_at, outcome)
             SELECT 'bridge', 'grown-' || n, {now}, 'applied' FROM g;
             WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {ROWS})
             INSERT INTO webhook_events (id, account_id, event_type, body, created_at)
             SELECT 'evt_grown_' || n, '{account}', 'customer.created', '{{}}', {minus_n}
               FROM g;
             INSERT INTO outbox_jobs (id, kind, endpoint_id, event_id, status,
                 next_attempt_at, created_at, finished_at)
             SELECT {SQLITE_UUID}, 'webhook', '{endpoint}', id, 'delivered', created_at,
                 created_at, created_at
               FROM webhook_events WHERE id LIKE 'evt!_grown!_%' ESCAPE '!';",
            account = f.account.0.hyphenated(),
            endpoint = f.endpoint.0.hyphenated(),
            minus_n = sqlite_time!("'-' || n"),
            in_an_hour = sqlite_time!("'+3600'"),
            now = sqlite_time!("'+0'"),
        ))
        .unwrap();
}

pub fn analyze_sqlite(path: &Path) {
    sqlite_conn(path).batch_execute("ANALYZE").unwrap();
}
