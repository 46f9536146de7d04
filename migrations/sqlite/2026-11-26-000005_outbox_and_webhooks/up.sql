-- Outgoing webhooks: the endpoints accounts register, the events written in the same
-- transaction as the change that causes them, and one outbox for every message the
-- service owes someone (KYC mails and webhook deliveries), claimed by one engine.

CREATE TABLE webhook_endpoints (
    id                         TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    account_id                 TEXT    NOT NULL REFERENCES accounts (id),
    url                        TEXT    NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    description                TEXT    NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- The event types the endpoint receives; empty: every type.
    events                     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(events) AND json_type(events) = 'array'),
    enabled                    BOOLEAN NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    -- Signing secrets, encrypted (AES-256-GCM under SECRETS_ENCRYPTION_KEY); the previous
    -- one keeps signing until previous_secret_expires_at after a rotation.
    secret_ciphertext          TEXT    NOT NULL,
    previous_secret_ciphertext TEXT,
    previous_secret_expires_at TEXT,
    created_at                 TEXT    NOT NULL,
    updated_at                 TEXT
);
CREATE INDEX webhook_endpoints_account_idx ON webhook_endpoints (account_id, created_at);

-- Events, stored as the exact body every delivery sends. Written only when at least one
-- endpoint receives them. No foreign key to customers: customer.deleted outlives its
-- customer; erasing a customer deletes that customer's other events.
CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY NOT NULL CHECK (id LIKE 'evt!_%' ESCAPE '!'),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    customer_id TEXT,
    event_type  TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX webhook_events_customer_idx ON webhook_events (customer_id);
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);

-- One outbox for every kind of message; kind-specific columns are checked per kind.
CREATE TABLE outbox_jobs (
    id               TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    kind             TEXT    NOT NULL CHECK (kind IN ('kyc_mail', 'webhook')),
    customer_id      TEXT    REFERENCES customers (id) ON DELETE CASCADE,
    message_id       TEXT    UNIQUE,
    endpoint_id      TEXT    REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT    REFERENCES webhook_events (id) ON DELETE CASCADE,
    status           TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TEXT    NOT NULL,
    locked_until     TEXT,
    last_error       TEXT,
    last_http_status INTEGER,
    created_at       TEXT    NOT NULL,
    finished_at      TEXT,
    CHECK (kind <> 'kyc_mail' OR (customer_id IS NOT NULL AND message_id IS NOT NULL)),
    CHECK (kind <> 'webhook' OR (endpoint_id IS NOT NULL AND event_id IS NOT NULL)),
    -- One delivery per (event, endpoint).
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX outbox_jobs_due_idx ON outbox_jobs (kind, next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbox_jobs_customer_idx ON outbox_jobs (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX outbox_jobs_endpoint_idx ON outbox_jobs (endpoint_id, created_at DESC, id DESC)
    WHERE endpoint_id IS NOT NULL;

-- The KYC mail jobs move in, keeping their ids' meaning (one per customer so far).
INSERT INTO outbox_jobs (id, kind, customer_id, message_id, status, attempts, next_attempt_at,
                         locked_until, last_error, created_at, finished_at)
SELECT customer_id, 'kyc_mail', customer_id, message_id,
       CASE status WHEN 'sent' THEN 'delivered' ELSE status END,
       attempts, next_attempt_at, locked_until, last_error, created_at, sent_at
  FROM kyc_mail_jobs;
DROP TABLE kyc_mail_jobs;
