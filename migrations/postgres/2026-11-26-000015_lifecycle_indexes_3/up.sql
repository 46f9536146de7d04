-- Customers due for a poll (the KYC lifecycle): not final, oldest sync (or creation) first.
-- Built CONCURRENTLY so that an upgrade does not block writes to customers (hence
-- metadata.toml: no transaction, one statement). IF NOT EXISTS keeps a build that finished
-- before its migration was recorded; a build interrupted mid-way leaves an INVALID index,
-- and the service refuses to migrate until that is dropped (adapters' store/postgres.rs).
CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_sync_due_idx
    ON customers (kyc_provider, (coalesce(last_synced_at, created_at)))
    WHERE kyc_status NOT IN ('approved', 'rejected', 'offboarded');
