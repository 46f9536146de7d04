-- Erased keys have no answer to go back to: they are forgotten (a retry with one then runs
-- as a new request). The table is rebuilt with the old CHECK; nothing references it, so
-- dropping it cascades nowhere (see up.sql).
DELETE FROM idempotency_keys WHERE state = 'erased';
CREATE TABLE idempotency_keys_old (
    account_id            TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE CHECK (length(account_id) = 36),
    method                TEXT    NOT NULL,
    path                  TEXT    NOT NULL,
    idempotency_key       TEXT    NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    fingerprint           TEXT    NOT NULL CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
    state                 TEXT    NOT NULL CHECK (state IN ('in_progress', 'released', 'completed')),
    reserved_id           TEXT    NOT NULL CHECK (length(reserved_id) = 36),
    locked_until          TEXT,
    response_status       INTEGER CHECK (response_status BETWEEN 100 AND 599),
    response_content_type TEXT,
    response_location     TEXT,
    response_body         BLOB,
    customer_id           TEXT    CHECK (length(customer_id) = 36),
    created_at            TEXT    NOT NULL,
    expires_at            TEXT    NOT NULL,
    PRIMARY KEY (account_id, method, path, idempotency_key),
    CHECK ((state = 'completed') = (response_status IS NOT NULL AND response_body IS NOT NULL)),
    CHECK ((state = 'in_progress') = (locked_until IS NOT NULL))
);
INSERT INTO idempotency_keys_old SELECT * FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_old RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
CREATE INDEX idempotency_keys_customer_idx ON idempotency_keys (customer_id) WHERE customer_id IS NOT NULL;

DROP TABLE customer_tombstones;
