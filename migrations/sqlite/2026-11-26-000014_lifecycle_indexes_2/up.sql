-- A provider report names its customer by the provider's customer id (the KYC lifecycle).
CREATE INDEX customers_provider_customer_idx ON customers (provider_customer_id)
    WHERE provider_customer_id IS NOT NULL;
