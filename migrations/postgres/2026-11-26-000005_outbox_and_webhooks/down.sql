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

-- The newest KYC mail of each customer goes back (the old table held one per customer).
INSERT INTO kyc_mail_jobs (customer_id, message_id, status, attempts, next_attempt_at,
                           locked_until, last_error, created_at, sent_at)
SELECT DISTINCT ON (customer_id)
       customer_id, message_id, CASE status WHEN 'delivered' THEN 'sent' ELSE status END,
       attempts, next_attempt_at, locked_until, last_error, created_at, finished_at
  FROM outbox_jobs
 WHERE kind = 'kyc_mail'
 ORDER BY customer_id, created_at DESC;

DROP TABLE outbox_jobs;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
