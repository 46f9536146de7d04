-- Erasing a customer (GDPR Art. 17). The customer row is deleted for real, with everything
-- else that holds the person's data (see crates/adapters/src/store/erasure.rs). What
-- remains is this tombstone: the id, the owning account and two times, none of them
-- personal. It keeps the id from ever being used again (an idempotent retry of the
-- request that created the customer must not bring the person back) and lets the service
-- tell "erased" from "never existed".
CREATE TABLE customer_tombstones (
    id         TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    account_id TEXT NOT NULL REFERENCES accounts (id) CHECK (length(account_id) = 36),
    created_at TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);

-- An idempotency key whose stored answer showed an erased customer keeps its key and
-- fingerprint (so a retry is still recognised as that request) but loses the answer: state
-- erased, answered 410 customer_deleted until the key expires.
--
-- SQLite cannot change a CHECK constraint in place, so idempotency_keys is rebuilt. That is
-- safe here only because no table references idempotency_keys: with foreign keys on,
-- dropping a *referenced* table deletes its rows first and cascades into the tables that
-- reference it. Never rebuild customers, accounts, webhook_endpoints or webhook_events
-- this way.
CREATE TABLE idempotency_keys_new (
    account_id            TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE CHECK (length(account_id) = 36),
    method                TEXT    NOT NULL,
    path                  TEXT    NOT NULL,
    idempotency_key       TEXT    NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    fingerprint           TEXT    NOT NULL CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
    state                 TEXT    NOT NULL CHECK (state IN ('in_progress', 'released', 'completed', 'erased')),
    reserved_id           TEXT    NOT NULL CHECK (length(reserved_id) = 36),
    locked_until          TEXT,
    response_status       INTEGER CHECK (response_status BETWEEN 100 AND 599),
    response_content_type TEXT,
    response_location     TEXT,
    response_body         BLOB,
    -- The customer the stored outcome names, if any: erasing a customer finds the stored
    -- answers that show it here. No foreign key: the record outlives an erased customer.
    customer_id           TEXT    CHECK (length(customer_id) = 36),
    created_at            TEXT    NOT NULL,
    expires_at            TEXT    NOT NULL,
    PRIMARY KEY (account_id, method, path, idempotency_key),
    -- A completed key has its response; no other key has one.
    CHECK ((state = 'completed') = (response_status IS NOT NULL AND response_body IS NOT NULL)),
    -- Only a key in progress is leased.
    CHECK ((state = 'in_progress') = (locked_until IS NOT NULL))
);
INSERT INTO idempotency_keys_new SELECT * FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
CREATE INDEX idempotency_keys_customer_idx ON idempotency_keys (customer_id) WHERE customer_id IS NOT NULL;
