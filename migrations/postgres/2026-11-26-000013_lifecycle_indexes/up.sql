-- A provider report names its customer by the KYC link id (the KYC lifecycle).
-- Built CONCURRENTLY so that an upgrade does not block writes to customers (hence
-- metadata.toml: no transaction, one statement). IF NOT EXISTS keeps a build that finished
-- before its migration was recorded; a build interrupted mid-way leaves an INVALID index,
-- and the service refuses to migrate until that is dropped (adapters' store/postgres.rs).
CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_kyc_link_idx
    ON customers (kyc_link_id) WHERE kyc_link_id IS NOT NULL;
