DROP INDEX IF EXISTS customers_provider_customer_idx;
