-- The listing filtered by KYC status, newest first, reads only the account's customers in
-- that status: without this index a rare status among many customers walked the whole
-- account. Built CONCURRENTLY so that an upgrade does not block writes to customers (hence
-- metadata.toml: no transaction, one statement). IF NOT EXISTS keeps a build that finished
-- before its migration was recorded; a build interrupted mid-way leaves an INVALID index,
-- and the service refuses to migrate until that is dropped (adapters' store/postgres.rs).
CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_account_kyc_status_idx
    ON customers (account_id, kyc_status, created_at DESC, id DESC);
