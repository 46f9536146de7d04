-- A claim of webhook deliveries counts the leases in flight per endpoint
-- (adapters' store/outbox.rs): only leased rows, however long the queue behind them.
-- Built CONCURRENTLY so that an upgrade does not block writes to the outbox (hence
-- metadata.toml: no transaction, one statement).
CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_jobs_leased_idx
    ON outbox_jobs (kind, locked_until) WHERE status = 'queued';
