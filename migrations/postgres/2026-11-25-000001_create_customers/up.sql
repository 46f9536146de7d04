-- Customers registered through POST /customer, one row each, owned by an account.
CREATE TABLE customers (
    id                   uuid        PRIMARY KEY,
    account_id           uuid        NOT NULL,
    full_name            text        NOT NULL CHECK (char_length(full_name) BETWEEN 1 AND 255),
    email                text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    phone                text        NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{1,14}$'),
    country              char(3)     NOT NULL CHECK (country ~ '^[A-Z]{3}$'),
    customer_type        text        NOT NULL CHECK (customer_type IN ('individual', 'business')),
    send_kyc_mail        boolean     NOT NULL,
    kyc_provider         text        NOT NULL,
    kyc_link_id          text,
    kyc_link             text        NOT NULL,
    tos_link             text        NOT NULL,
    kyc_status           text        NOT NULL,
    tos_status           text        NOT NULL,
    rejection_reasons    jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(rejection_reasons) = 'array'),
    provider_customer_id text,
    persona_inquiry_type text,
    created_at           timestamptz NOT NULL DEFAULT now()
);

-- One customer per e-mail address per account, compared case-insensitively.
CREATE UNIQUE INDEX customers_account_email_key ON customers (account_id, lower(email));

-- Newest-first listing within an account.
CREATE INDEX customers_account_created_idx ON customers (account_id, created_at DESC, id DESC);
