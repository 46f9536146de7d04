DROP INDEX IF EXISTS customers_sync_due_idx;
