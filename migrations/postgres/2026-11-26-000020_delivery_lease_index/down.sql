DROP INDEX CONCURRENTLY IF EXISTS outbox_jobs_leased_idx;
