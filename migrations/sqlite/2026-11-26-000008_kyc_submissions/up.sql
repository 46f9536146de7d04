-- KYC by API (issue 13): the customer's terms-of-service acceptance, and one row per
-- submission, masked. No column here holds an identity number, an image, a birth date, a
-- name or an address: only which fields and documents a submission had, the last four
-- characters of long identity numbers, the provider's reference and the outcome. UUIDs,
-- times and JSON are text, as in every other table.
ALTER TABLE customers ADD COLUMN signed_agreement_id TEXT
    CHECK (signed_agreement_id IS NULL OR length(signed_agreement_id) BETWEEN 1 AND 256);

CREATE TABLE kyc_submissions (
    id                 TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    -- No foreign key: erasing the customer keeps the non-personal record (store/erasure.rs).
    customer_id        TEXT NOT NULL,
    account_id         TEXT NOT NULL REFERENCES accounts (id),
    customer_type      TEXT NOT NULL CHECK (customer_type IN ('individual', 'business')),
    submitted_at       TEXT NOT NULL,
    -- Names of the top-level fields present: ["first_name", "birth_date", ...].
    fields             TEXT NOT NULL CHECK (json_valid(fields) AND json_type(fields) = 'array'),
    -- [{"path", "type", "number_last_four", "image_front", "image_back"}]; the images as
    -- their media types only.
    identity_documents TEXT NOT NULL
        CHECK (json_valid(identity_documents) AND json_type(identity_documents) = 'array'),
    -- [{"path", "purposes", "file"}]; the file as its media type only.
    documents          TEXT NOT NULL CHECK (json_valid(documents) AND json_type(documents) = 'array'),
    outcome            TEXT NOT NULL
        CHECK (outcome IN ('pending', 'accepted', 'refused', 'failed', 'abandoned')),
    kyc_status         TEXT CHECK (kyc_status IN (
        'not_started', 'incomplete', 'awaiting_questionnaire', 'awaiting_ubo',
        'under_review', 'approved', 'rejected', 'paused', 'offboarded')),
    provider_reference TEXT,
    -- Paths of the fields the provider refused (never its messages, which may quote data).
    refused_fields     TEXT NOT NULL DEFAULT '[]'
        CHECK (json_valid(refused_fields) AND json_type(refused_fields) = 'array'),
    finished_at        TEXT,
    CHECK ((outcome = 'pending') = (finished_at IS NULL))
);

-- At most one submission in flight per customer (claims run in an IMMEDIATE transaction;
-- this is the backstop).
CREATE UNIQUE INDEX kyc_submissions_one_pending_key ON kyc_submissions (customer_id)
    WHERE outcome = 'pending';

-- A customer's submissions, newest first.
CREATE INDEX kyc_submissions_customer_idx ON kyc_submissions (customer_id, submitted_at DESC, id DESC);
