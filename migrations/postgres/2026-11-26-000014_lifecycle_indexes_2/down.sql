DROP INDEX CONCURRENTLY IF EXISTS customers_provider_customer_idx;
