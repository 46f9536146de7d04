-- Outgoing webhooks: the endpoints accounts register, the events written in the same
-- transaction as the change that causes them, and one outbox for every message the
-- service owes someone (KYC mails and webhook deliveries), claimed by one engine.
--
-- The foreign keys to accounts and customers, which already hold data, are added last: a
-- foreign key locks the table it references against writes (SHARE ROW EXCLUSIVE) until the
-- migration commits, and taken before the KYC mail jobs are moved it would block writes to
-- customers for as long as the move takes.

CREATE TABLE webhook_endpoints (
    id                         uuid        PRIMARY KEY,
    account_id                 uuid        NOT NULL, -- references accounts (added below)
    url                        text        NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    description                text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 500),
    -- The event types the endpoint receives; empty: every type.
    events                     jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(events) = 'array'),
    enabled                    boolean     NOT NULL DEFAULT true,
    -- Signing secrets, encrypted (AES-256-GCM under SECRETS_ENCRYPTION_KEY); the previous
    -- one keeps signing until previous_secret_expires_at after a rotation.
    secret_ciphertext          text        NOT NULL,
    previous_secret_ciphertext text,
    previous_secret_expires_at timestamptz,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz
);
CREATE INDEX webhook_endpoints_account_idx ON webhook_endpoints (account_id, created_at);

-- Events, stored as the exact body every delivery sends. Written only when at least one
-- endpoint receives them. No foreign key to customers: customer.deleted outlives its
-- customer; erasing a customer deletes that customer's other events.
CREATE TABLE webhook_events (
    id          text        PRIMARY KEY CHECK (id LIKE 'evt\_%'),
    account_id  uuid        NOT NULL, -- references accounts (added below)
    customer_id uuid,
    event_type  text        NOT NULL,
    body        text        NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX webhook_events_customer_idx ON webhook_events (customer_id);
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);

-- One outbox for every kind of message; kind-specific columns are checked per kind.
CREATE TABLE outbox_jobs (
    id               uuid        PRIMARY KEY,
    kind             text        NOT NULL CHECK (kind IN ('kyc_mail', 'webhook')),
    customer_id      uuid,       -- references customers (added below)
    message_id       text        UNIQUE,
    endpoint_id      uuid        REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         text        REFERENCES webhook_events (id) ON DELETE CASCADE,
    status           text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL,
    locked_until     timestamptz,
    last_error       text,
    last_http_status integer,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz,
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

-- The moved jobs are not checked against customers here (that would hold the lock on
-- customers while every job is read; they came from a table with the same foreign key):
-- migration 16 checks them under a lock that lets writes through.
ALTER TABLE webhook_endpoints ADD FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE webhook_events ADD FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE outbox_jobs
    ADD FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE NOT VALID;
