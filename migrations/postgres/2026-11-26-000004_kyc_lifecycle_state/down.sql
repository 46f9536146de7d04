ALTER TABLE customers
    DROP COLUMN updated_at,
    DROP COLUMN version,
    DROP COLUMN last_synced_at,
    DROP COLUMN kyc_as_of,
    DROP COLUMN kyc_sequence,
    DROP CONSTRAINT customers_tos_status_check,
    DROP CONSTRAINT customers_kyc_status_check;
