-- Idempotency keys (the Idempotency-Key header): one record per account, method, concrete
-- path and key. A request records its key as in progress with a lease (locked_until) before
-- any side effect, reserving the id of the row it will create (reserved_id); it then stores
-- its outcome (state completed: the response's status, headers that matter and body, byte
-- for byte) in the transaction that creates the row, or releases the key (state released)
-- for the next request with the same content to take over under the same reserved id.
-- A key whose stored answer showed a customer since erased keeps its key and fingerprint
-- (a retry is still recognised as that request) but loses the answer (state erased; see
-- migration 9).
-- Expired records (expires_at passed, no lease held) are deleted by a periodic purge.
-- UUIDs are hyphenated text and times fixed-width RFC 3339 text, as in every table here.
CREATE TABLE idempotency_keys (
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

-- The periodic purge.
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Finding a customer's stored answers.
CREATE INDEX idempotency_keys_customer_idx ON idempotency_keys (customer_id) WHERE customer_id IS NOT NULL;
