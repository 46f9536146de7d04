-- KYC by API (issue 13): the customer's terms-of-service acceptance, and one row per
-- submission, masked. No column here holds an identity number, an image, a birth date, a
-- name or an address: only which fields and documents a submission had, the last four
-- characters of long identity numbers, the provider's reference and the outcome.
-- NOT VALID, as in migration 4: checking the existing rows would read the whole table under
-- an ACCESS EXCLUSIVE lock; migration 16 checks them under a lock that lets writes through.
ALTER TABLE customers
    ADD COLUMN signed_agreement_id text,
    ADD CONSTRAINT customers_signed_agreement_id_check
        CHECK (signed_agreement_id IS NULL OR char_length(signed_agreement_id) BETWEEN 1 AND 256)
        NOT VALID;

CREATE TABLE kyc_submissions (
    id                 uuid        PRIMARY KEY,
    -- No foreign key: erasing the customer keeps the non-personal record (store/erasure.rs).
    customer_id        uuid        NOT NULL,
    account_id         uuid        NOT NULL REFERENCES accounts (id),
    customer_type      text        NOT NULL CHECK (customer_type IN ('individual', 'business')),
    submitted_at       timestamptz NOT NULL,
    -- Names of the top-level fields present: ["first_name", "birth_date", ...].
    fields             jsonb       NOT NULL CHECK (jsonb_typeof(fields) = 'array'),
    -- [{"path", "type", "number_last_four", "image_front", "image_back"}]; the images as
    -- their media types only.
    identity_documents jsonb       NOT NULL CHECK (jsonb_typeof(identity_documents) = 'array'),
    -- [{"path", "purposes", "file"}]; the file as its media type only.
    documents          jsonb       NOT NULL CHECK (jsonb_typeof(documents) = 'array'),
    outcome            text        NOT NULL
        CHECK (outcome IN ('pending', 'accepted', 'refused', 'failed', 'abandoned')),
    kyc_status         text        CHECK (kyc_status IN (
        'not_started', 'incomplete', 'awaiting_questionnaire', 'awaiting_ubo',
        'under_review', 'approved', 'rejected', 'paused', 'offboarded')),
    provider_reference text,
    -- Paths of the fields the provider refused (never its messages, which may quote data).
    refused_fields     jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(refused_fields) = 'array'),
    finished_at        timestamptz,
    CHECK ((outcome = 'pending') = (finished_at IS NULL))
);

-- At most one submission in flight per customer (the claim also locks the customer row;
-- this is the backstop).
CREATE UNIQUE INDEX kyc_submissions_one_pending_key ON kyc_submissions (customer_id)
    WHERE outcome = 'pending';

-- A customer's submissions, newest first.
CREATE INDEX kyc_submissions_customer_idx ON kyc_submissions (customer_id, submitted_at DESC, id DESC);
