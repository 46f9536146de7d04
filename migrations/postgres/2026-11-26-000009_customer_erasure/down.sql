-- Erased keys have no answer to go back to: they are forgotten (a retry with one then runs
-- as a new request).
DELETE FROM idempotency_keys WHERE state = 'erased';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_state_check;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_state_check
    CHECK (state IN ('in_progress', 'released', 'completed'));

DROP TABLE customer_tombstones;
