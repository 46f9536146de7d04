ALTER TABLE customers DROP COLUMN sync_locked_until;
DROP TABLE kyc_history;
DROP TABLE provider_events;
