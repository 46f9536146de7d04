DROP TABLE kyc_submissions;
ALTER TABLE customers DROP COLUMN signed_agreement_id;
