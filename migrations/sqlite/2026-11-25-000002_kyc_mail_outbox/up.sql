-- The customer's KYC mail state, shown in the API.
ALTER TABLE customers
    ADD COLUMN kyc_mail_status TEXT NOT NULL DEFAULT 'not_requested'
        CHECK (kyc_mail_status IN ('not_requested', 'queued', 'sent', 'failed'));

-- Transactional outbox: one "send the KYC mail" job per customer, written in the same
-- transaction as the customer. Claimed inside an IMMEDIATE transaction (SQLite has one
-- writer at a time) with a lease (locked_until). Times are fixed-width RFC 3339 text.
CREATE TABLE kyc_mail_jobs (
    customer_id     TEXT    PRIMARY KEY NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    message_id      TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT    NOT NULL,
    locked_until    TEXT,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);

CREATE INDEX kyc_mail_jobs_due_idx ON kyc_mail_jobs (next_attempt_at) WHERE status = 'queued';
