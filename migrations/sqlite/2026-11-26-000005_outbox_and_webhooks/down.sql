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

-- The newest KYC mail of each customer goes back (the old table held one per customer).
INSERT INTO kyc_mail_jobs (customer_id, message_id, status, attempts, next_attempt_at,
                           locked_until, last_error, created_at, sent_at)
SELECT customer_id, message_id, CASE status WHEN 'delivered' THEN 'sent' ELSE status END,
       attempts, next_attempt_at, locked_until, last_error, created_at, finished_at
  FROM outbox_jobs o
 WHERE kind = 'kyc_mail'
   AND created_at = (SELECT max(created_at) FROM outbox_jobs p
                      WHERE p.kind = 'kyc_mail' AND p.customer_id = o.customer_id)
 GROUP BY customer_id;

DROP TABLE outbox_jobs;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
