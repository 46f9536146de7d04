-- Customers registered through POST /customer, one row each, owned by an account.
-- UUIDs are stored as their hyphenated text, timestamps as RFC 3339 text in UTC and the
-- rejection reasons as a JSON array in text: SQLite's own idioms for these values.
-- created_at is fixed-width (millisecond, `Z`), so text order is time order.
CREATE TABLE customers (
    id                   TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    account_id           TEXT    NOT NULL CHECK (length(account_id) = 36),
    full_name            TEXT    NOT NULL CHECK (length(full_name) BETWEEN 1 AND 255),
    email                TEXT    NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    phone                TEXT    NOT NULL CHECK (phone GLOB '+[1-9]*'),
    country              TEXT    NOT NULL CHECK (length(country) = 3),
    customer_type        TEXT    NOT NULL CHECK (customer_type IN ('individual', 'business')),
    send_kyc_mail        BOOLEAN NOT NULL CHECK (send_kyc_mail IN (0, 1)),
    kyc_provider         TEXT    NOT NULL,
    kyc_link_id          TEXT,
    kyc_link             TEXT    NOT NULL,
    tos_link             TEXT    NOT NULL,
    kyc_status           TEXT    NOT NULL,
    tos_status           TEXT    NOT NULL,
    rejection_reasons    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(rejection_reasons) AND json_type(rejection_reasons) = 'array'),
    provider_customer_id TEXT,
    persona_inquiry_type TEXT,
    created_at           TEXT    NOT NULL
);

-- One customer per e-mail address per account, compared case-insensitively.
CREATE UNIQUE INDEX customers_account_email_key ON customers (account_id, lower(email));

-- Newest-first listing within an account.
CREATE INDEX customers_account_created_idx ON customers (account_id, created_at DESC, id DESC);
