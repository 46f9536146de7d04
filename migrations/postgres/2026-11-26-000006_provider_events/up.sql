-- The KYC lifecycle: exactly-once receipts of provider events, each customer's KYC
-- history and the poller's lease. The indexes on customers that find a report's customers
-- and the customers due for a poll are built CONCURRENTLY by migrations 13 to 15.

-- One row per provider event received (kept PROVIDER_EVENT_RETENTION_DAYS): a redelivery
-- finds its row and is a no-op. No payload is kept: it holds personal data.
CREATE TABLE provider_events (
    provider    text        NOT NULL CHECK (char_length(provider) BETWEEN 1 AND 50),
    event_id    text        NOT NULL CHECK (char_length(event_id) BETWEEN 1 AND 200),
    received_at timestamptz NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('applied', 'unchanged', 'stale', 'unmatched')),
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX provider_events_received_idx ON provider_events (received_at);

-- Every report that changed (applied) or would have changed (not applied: older than the
-- current state) a customer's KYC. No foreign key: the history holds no personal data and
-- may outlive an erased customer.
CREATE TABLE kyc_history (
    id          uuid        PRIMARY KEY,
    customer_id uuid        NOT NULL,
    from_status text        NOT NULL,
    to_status   text        NOT NULL,
    tos_status  text        NOT NULL CHECK (tos_status IN ('pending', 'approved')),
    source      text        NOT NULL CHECK (source IN ('webhook', 'poll', 'sandbox', 'api', 'tos_redirect')),
    event_id    text,
    at          timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    applied     boolean     NOT NULL,
    CHECK (from_status IN ('not_started', 'incomplete', 'awaiting_questionnaire', 'awaiting_ubo',
                           'under_review', 'approved', 'rejected', 'paused', 'offboarded')),
    CHECK (to_status IN ('not_started', 'incomplete', 'awaiting_questionnaire', 'awaiting_ubo',
                         'under_review', 'approved', 'rejected', 'paused', 'offboarded'))
);
CREATE INDEX kyc_history_customer_idx ON kyc_history (customer_id, at, recorded_at);

-- The poller's lease: while it is in the future, one instance is reading the customer back.
ALTER TABLE customers ADD COLUMN sync_locked_until timestamptz;
