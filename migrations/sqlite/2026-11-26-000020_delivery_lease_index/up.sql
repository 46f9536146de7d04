-- A claim of webhook deliveries counts the leases in flight per endpoint
-- (adapters' store/outbox.rs): only leased rows, however long the queue behind them.
CREATE INDEX outbox_jobs_leased_idx ON outbox_jobs (kind, locked_until) WHERE status = 'queued';
