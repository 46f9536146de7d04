DROP INDEX IF EXISTS customers_account_kyc_status_idx;
