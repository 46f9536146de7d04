DROP INDEX CONCURRENTLY IF EXISTS customers_kyc_link_idx;
