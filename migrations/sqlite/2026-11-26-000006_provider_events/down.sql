DROP INDEX customers_sync_due_idx;
DROP INDEX customers_provider_customer_idx;
DROP INDEX customers_kyc_link_idx;
ALTER TABLE customers DROP COLUMN sync_locked_until;
DROP TABLE kyc_history;
DROP TABLE provider_events;
