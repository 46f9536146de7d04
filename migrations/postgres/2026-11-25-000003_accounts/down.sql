ALTER TABLE customers DROP CONSTRAINT customers_account_fkey;
DROP TABLE accounts;
