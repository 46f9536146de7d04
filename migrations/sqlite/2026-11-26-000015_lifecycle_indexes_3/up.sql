-- Customers due for a poll (the KYC lifecycle): not final, oldest sync (or creation) first.
CREATE INDEX customers_sync_due_idx ON customers (kyc_provider, coalesce(last_synced_at, created_at))
    WHERE kyc_status NOT IN ('approved', 'rejected', 'offboarded');
