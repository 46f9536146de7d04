DROP INDEX IF EXISTS customers_kyc_link_idx;
