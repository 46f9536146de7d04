-- Erased keys have no answer to go back to: they are forgotten (a retry with one then runs
-- as a new request).
DELETE FROM idempotency_keys WHERE state = 'erased';

DROP TABLE customer_tombstones;
