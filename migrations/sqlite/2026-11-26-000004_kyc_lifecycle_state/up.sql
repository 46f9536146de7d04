-- The customer's KYC state in the service's own vocabulary (see domain::KycStatus), with
-- the ordering watermark of the report it came from, a version for optimistic
-- concurrency, and the time of the last change.

-- Statuses stored before this migration were the provider's spelling. Every value written
-- so far is a known one; map the provider synonyms anyway, and anything else to
-- under_review (not final, so polling re-reads it from the provider), so that no customer
-- becomes unreadable.
UPDATE customers SET kyc_status = CASE kyc_status
        WHEN 'active' THEN 'approved'
        ELSE 'under_review'
    END
 WHERE kyc_status NOT IN ('not_started', 'incomplete', 'awaiting_questionnaire', 'awaiting_ubo',
                          'under_review', 'approved', 'rejected', 'paused', 'offboarded');
UPDATE customers SET tos_status = 'pending' WHERE tos_status NOT IN ('pending', 'approved');

-- Rejection reasons become typed: {reason, developer_reason, created_at}.
UPDATE customers SET rejection_reasons = (
    SELECT json_group_array(json_object(
               'reason', coalesce(json_extract(customers.rejection_reasons, e.fullkey || '.reason'),
                                  json_extract(customers.rejection_reasons, e.fullkey || '.developer_reason'),
                                  CASE e.type WHEN 'text' THEN e.value END,
                                  'unspecified'),
               'developer_reason', json_extract(customers.rejection_reasons, e.fullkey || '.developer_reason'),
               'created_at', coalesce(json_extract(customers.rejection_reasons, e.fullkey || '.created_at'),
                                      customers.created_at)))
      FROM (SELECT fullkey, value, type FROM json_each(customers.rejection_reasons) ORDER BY key) AS e)
 WHERE rejection_reasons <> '[]';

-- SQLite cannot add a CHECK constraint to an existing table without rebuilding it (and a
-- rebuild would cascade-delete the rows that reference it); triggers enforce the same.
CREATE TRIGGER customers_kyc_status_check_insert BEFORE INSERT ON customers
WHEN NEW.kyc_status NOT IN ('not_started', 'incomplete', 'awaiting_questionnaire',
        'awaiting_ubo', 'under_review', 'approved', 'rejected', 'paused', 'offboarded')
     OR NEW.tos_status NOT IN ('pending', 'approved')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: customers_kyc_status_check');
END;
CREATE TRIGGER customers_kyc_status_check_update BEFORE UPDATE OF kyc_status, tos_status ON customers
WHEN NEW.kyc_status NOT IN ('not_started', 'incomplete', 'awaiting_questionnaire',
        'awaiting_ubo', 'under_review', 'approved', 'rejected', 'paused', 'offboarded')
     OR NEW.tos_status NOT IN ('pending', 'approved')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: customers_kyc_status_check');
END;

-- The provider's sequence number and time of the report the state came from; a report
-- older than these does not change the state. NULL kyc_as_of: created_at.
ALTER TABLE customers ADD COLUMN kyc_sequence INTEGER;
ALTER TABLE customers ADD COLUMN kyc_as_of TEXT;
-- When polling last read the state back from the provider.
ALTER TABLE customers ADD COLUMN last_synced_at TEXT;
-- Bumped by every change: compare-and-set for concurrent writers, and the ETag.
ALTER TABLE customers ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE customers ADD COLUMN updated_at TEXT;
