-- The listing filtered by KYC status, newest first, reads only the account's customers in
-- that status: without this index a rare status among many customers walked the whole
-- account. Built CONCURRENTLY so that upgrading a large deployment does not block writes
-- to customers while it builds (hence metadata.toml: no transaction, one statement).
--
-- If the build is interrupted, PostgreSQL keeps an INVALID index of this name and this
-- migration then fails with "already exists"; drop it with
--   DROP INDEX CONCURRENTLY customers_account_kyc_status_idx;
-- and start the service again.
CREATE INDEX CONCURRENTLY customers_account_kyc_status_idx
    ON customers (account_id, kyc_status, created_at DESC, id DESC);
