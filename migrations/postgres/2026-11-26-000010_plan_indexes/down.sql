DROP INDEX CONCURRENTLY IF EXISTS customers_account_kyc_status_idx;
