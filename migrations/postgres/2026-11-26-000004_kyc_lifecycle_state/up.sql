-- The customer's KYC state in the service's own vocabulary (see domain::KycStatus), with
-- the ordering watermark of the report it came from, a version for optimistic
-- concurrency, and the time of the last change.

-- Statuses stored before this migration were the provider's spelling. Every value written
-- so far is a known one; map the provider synonyms anyway, and anything else to
-- under_review (not final, so polling re-reads it from the provider), so that no customer
-- becomes unreadable.
UPDATE customers SET kyc_status = CASE kyc_status
        WHEN 'active' THEN 'approved'
        WHEN 'manual_review' THEN 'under_review'
        WHEN 'in_review' THEN 'under_review'
        ELSE 'under_review'
    END
 WHERE kyc_status NOT IN ('not_started', 'incomplete', 'awaiting_questionnaire', 'awaiting_ubo',
                          'under_review', 'approved', 'rejected', 'paused', 'offboarded');
UPDATE customers SET tos_status = 'pending' WHERE tos_status NOT IN ('pending', 'approved');

-- Rejection reasons become typed: {reason, developer_reason, created_at}.
UPDATE customers c SET rejection_reasons = (
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'reason', coalesce(r->>'reason', r->>'developer_reason',
                                  CASE jsonb_typeof(r) WHEN 'string' THEN r #>> '{}' END,
                                  'unspecified'),
               'developer_reason', r->'developer_reason',
               'created_at', coalesce(r->>'created_at',
                                      to_char(c.created_at AT TIME ZONE 'UTC',
                                              'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
           ORDER BY ordinality), '[]'::jsonb)
      FROM jsonb_array_elements(c.rejection_reasons) WITH ORDINALITY AS e(r, ordinality))
 WHERE c.rejection_reasons <> '[]'::jsonb;

-- The CHECKs are added NOT VALID: checking every existing row here would read the whole
-- table under this statement's ACCESS EXCLUSIVE lock, blocking reads and writes meanwhile.
-- They hold for every row written from now on; migration 16 checks the older rows under a
-- lock that lets writes through.
ALTER TABLE customers
    ADD CONSTRAINT customers_kyc_status_check CHECK (kyc_status IN (
        'not_started', 'incomplete', 'awaiting_questionnaire', 'awaiting_ubo',
        'under_review', 'approved', 'rejected', 'paused', 'offboarded')) NOT VALID,
    ADD CONSTRAINT customers_tos_status_check CHECK (tos_status IN ('pending', 'approved'))
        NOT VALID,
    -- The provider's sequence number and time of the report the state came from; a
    -- report older than these does not change the state. NULL kyc_as_of: created_at.
    ADD COLUMN kyc_sequence   bigint,
    ADD COLUMN kyc_as_of      timestamptz,
    -- When polling last read the state back from the provider.
    ADD COLUMN last_synced_at timestamptz,
    -- Bumped by every change: compare-and-set for concurrent writers, and the ETag.
    ADD COLUMN version        bigint      NOT NULL DEFAULT 1,
    ADD CONSTRAINT customers_version_check CHECK (version >= 1) NOT VALID,
    ADD COLUMN updated_at     timestamptz;
