DROP INDEX CONCURRENTLY IF EXISTS customers_sync_due_idx;
