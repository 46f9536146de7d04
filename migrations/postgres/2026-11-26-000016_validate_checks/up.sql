-- Checks the rows written before migrations 4, 5 and 8 against the constraints those
-- migrations added NOT VALID (migration 4 rewrote every older row to satisfy its CHECKs).
-- VALIDATE CONSTRAINT reads the whole table under a SHARE UPDATE EXCLUSIVE lock, and the
-- table a foreign key references under ROW SHARE: both let reads and writes through, held
-- in diesel's transaction or not (rows written meanwhile are checked as they are written).
ALTER TABLE customers
    VALIDATE CONSTRAINT customers_kyc_status_check,
    VALIDATE CONSTRAINT customers_tos_status_check,
    VALIDATE CONSTRAINT customers_version_check,
    VALIDATE CONSTRAINT customers_signed_agreement_id_check;
ALTER TABLE outbox_jobs VALIDATE CONSTRAINT outbox_jobs_customer_id_fkey;
