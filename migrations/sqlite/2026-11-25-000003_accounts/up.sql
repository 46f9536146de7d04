-- API clients. The app secret is kept only as an argon2id PHC string.
-- (SQLite cannot add a foreign key to an existing table; the service checks that a
-- token's account exists before any customer is written.)
CREATE TABLE accounts (
    id          TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    secret_hash TEXT    NOT NULL,
    disabled    BOOLEAN NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at  TEXT    NOT NULL
);

INSERT INTO accounts (id, name, secret_hash, created_at)
SELECT account_id, 'imported', '!', min(created_at) FROM customers GROUP BY account_id;
