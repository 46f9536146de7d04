DROP INDEX IF EXISTS outbox_jobs_leased_idx;
