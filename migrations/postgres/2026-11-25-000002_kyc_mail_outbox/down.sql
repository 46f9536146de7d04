DROP TABLE kyc_mail_jobs;
ALTER TABLE customers DROP COLUMN kyc_mail_status;
