ALTER TABLE customers DROP COLUMN updated_at;
ALTER TABLE customers DROP COLUMN version;
ALTER TABLE customers DROP COLUMN last_synced_at;
ALTER TABLE customers DROP COLUMN kyc_as_of;
ALTER TABLE customers DROP COLUMN kyc_sequence;
DROP TRIGGER customers_kyc_status_check_update;
DROP TRIGGER customers_kyc_status_check_insert;
