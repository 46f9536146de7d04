-- A provider report names its customer by the KYC link id (the KYC lifecycle).
CREATE INDEX customers_kyc_link_idx ON customers (kyc_link_id) WHERE kyc_link_id IS NOT NULL;
