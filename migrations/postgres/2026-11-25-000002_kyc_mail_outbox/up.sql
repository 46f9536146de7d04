-- The customer's KYC mail state, shown in the API.
ALTER TABLE customers
    ADD COLUMN kyc_mail_status text NOT NULL DEFAULT 'not_requested'
        CHECK (kyc_mail_status IN ('not_requested', 'queued', 'sent', 'failed'));

-- Transactional outbox: one "send the KYC mail" job per customer, written in the same
-- transaction as the customer. Workers claim due jobs with FOR UPDATE SKIP LOCKED and a
-- lease (locked_until), so several instances never send one job at the same time.
CREATE TABLE kyc_mail_jobs (
    customer_id     uuid        PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    message_id      text        NOT NULL UNIQUE,
    status          text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    locked_until    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);

CREATE INDEX kyc_mail_jobs_due_idx ON kyc_mail_jobs (next_attempt_at) WHERE status = 'queued';
