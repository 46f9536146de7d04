-- API clients. The app secret is kept only as an argon2id PHC string.
CREATE TABLE accounts (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    secret_hash text        NOT NULL,
    disabled    boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Customers created before accounts existed keep working: their owners become accounts
-- that cannot log in (the hash '!' matches no secret) until an operator replaces them.
INSERT INTO accounts (id, name, secret_hash, created_at)
SELECT account_id, 'imported', '!', min(created_at) FROM customers GROUP BY account_id;

ALTER TABLE customers
    ADD CONSTRAINT customers_account_fkey FOREIGN KEY (account_id) REFERENCES accounts (id);
