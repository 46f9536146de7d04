-- Erasing a customer (GDPR Art. 17). The customer row is deleted for real, with everything
-- else that holds the person's data (see crates/adapters/src/store/erasure.rs). What
-- remains is this tombstone: the id, the owning account and two times, none of them
-- personal. It keeps the id from ever being used again (an idempotent retry of the
-- request that created the customer must not bring the person back) and lets the service
-- tell "erased" from "never existed". An idempotency key whose stored answer showed an
-- erased customer is answered 410 customer_deleted until it expires (its state erased,
-- allowed since migration 7).
CREATE TABLE customer_tombstones (
    id         uuid        PRIMARY KEY,
    account_id uuid        NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL,
    deleted_at timestamptz NOT NULL
);
