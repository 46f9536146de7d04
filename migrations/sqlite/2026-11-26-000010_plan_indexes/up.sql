-- The listing filtered by KYC status, newest first, reads only the account's customers in
-- that status: without this index a rare status among many customers walked the whole
-- account.
CREATE INDEX customers_account_kyc_status_idx
    ON customers (account_id, kyc_status, created_at DESC, id DESC);
