//! KYC submissions and terms-of-service acceptances: a submission is claimed while the
//! customer is held (so two cannot be in flight for one customer), then finished with
//! its outcome, the customer's new KYC state (with its history entry and events, written as
//! the KYC lifecycle's store writes them) and its idempotency key's outcome in one
//! transaction. Rows hold only the masked summary (see the migration
//! `2026-11-26-000008_kyc_submissions`).

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use domain::{
    AccountId, CustomerId, KycSubmissionRecord, SignedAgreementId, SubmissionId, SubmissionOutcome,
};
use ports::{
    AgreementAcceptance, ClaimOutcome, KycSubmissionRepository, RepositoryError, SubmissionClaim,
    SubmissionFinish,
};

use super::idempotency::{complete_key, key_no_longer_held};
use super::kyc::{KycWrites, WriteKyc as _};
use super::rows::CustomerRow;
use super::schema::{customers, kyc_submissions};
use super::sql_types::{Id, Timestamp};
use super::{per_backend, Store, StoreConnection as _};

mod submission_row;

use submission_row::{json, SubmissionRow};

/// What a claim found, before the customer row is turned into a domain value.
enum Claimed {
    Yes(Box<CustomerRow>),
    NotFound,
    InProgress,
    /// The claim's id is a submission that was accepted, or another customer's.
    Taken,
}

#[async_trait]
impl KycSubmissionRepository for Store {
    #[tracing::instrument(name = "store.claim_kyc_submission", skip_all, fields(db.backend = self.backend(), customer_id = %claim.customer_id))]
    async fn claim_submission(
        &self,
        claim: &SubmissionClaim,
    ) -> Result<ClaimOutcome, RepositoryError> {
        let row = SubmissionRow::pending(claim);
        let (account, customer) = (Id(claim.account_id.0), Id(claim.customer_id.0));
        let blocking: Vec<&'static str> =
            claim.blocking_statuses.iter().map(|s| s.as_str()).collect();
        let abandon_before = Timestamp(claim.abandon_before);
        let now = Timestamp(claim.submitted_at);
        let claimed = self
            .run(move |conn| {
                per_backend!(conn => conn.write_transaction(|conn| {
                    // A no-op update holds the customer's row until commit on PostgreSQL, so
                    // concurrent claims for one customer run one after the other (on SQLite
                    // the IMMEDIATE transaction already holds the whole database).
                    let held = diesel::update(
                        customers::table
                            .filter(customers::id.eq(customer))
                            .filter(customers::account_id.eq(account)),
                    )
                    .set(customers::version.eq(customers::version))
                    .execute(conn)?;
                    if held == 0 {
                        return Ok(Claimed::NotFound);
                    }
                    let current: CustomerRow = customers::table
                        .filter(customers::id.eq(customer))
                        .select(CustomerRow::as_select())
                        .first(conn)?;
                    diesel::update(
                        kyc_submissions::table
                            .filter(kyc_submissions::customer_id.eq(customer))
                            .filter(kyc_submissions::outcome.eq(SubmissionOutcome::Pending.as_str()))
                            .filter(kyc_submissions::submitted_at.lt(abandon_before)),
                    )
                    .set((
                        kyc_submissions::outcome.eq(SubmissionOutcome::Abandoned.as_str()),
                        kyc_submissions::finished_at.eq(now),
                    ))
                    .execute(conn)?;
                    // The claim's own record (an earlier attempt of the same keyed request
                    // whose sender stopped) is no other submission.
                    let pending = diesel::select(diesel::dsl::exists(
                        kyc_submissions::table
                            .filter(kyc_submissions::customer_id.eq(customer))
                            .filter(kyc_submissions::outcome.eq(SubmissionOutcome::Pending.as_str()))
                            .filter(kyc_submissions::id.ne(row.id)),
                    ))
                    .get_result::<bool>(conn)?;
                    if pending || blocking.contains(&current.kyc_status.as_str()) {
                        return Ok(Claimed::InProgress);
                    }
                    let inserted = diesel::insert_into(kyc_submissions::table)
                        .values(&row)
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                    if inserted == 0 {
                        // An earlier attempt of the same request recorded this id: the
                        // request runs again as that submission, unless it was accepted.
                        let again = diesel::update(
                            kyc_submissions::table
                                .filter(kyc_submissions::id.eq(row.id))
                                .filter(kyc_submissions::customer_id.eq(customer))
                                .filter(kyc_submissions::account_id.eq(account))
                                .filter(kyc_submissions::outcome.ne(SubmissionOutcome::Accepted.as_str())),
                        )
                        .set(&row)
                        .execute(conn)?;
                        if again == 0 {
                            return Ok(Claimed::Taken);
                        }
                    }
                    Ok(Claimed::Yes(Box::new(current)))
                }))
            })
            .await?;
        Ok(match claimed {
            Claimed::Yes(row) => ClaimOutcome::Claimed(Box::new(row.into_domain()?)),
            Claimed::NotFound => ClaimOutcome::NotFound,
            Claimed::InProgress => ClaimOutcome::InProgress,
            Claimed::Taken => return Err(RepositoryError::Duplicate),
        })
    }

    #[tracing::instrument(name = "store.finish_kyc_submission", skip_all, fields(db.backend = self.backend(), outcome = finish.outcome.as_str()))]
    async fn finish_submission(&self, finish: &SubmissionFinish) -> Result<(), RepositoryError> {
        let id = Id(finish.id.0);
        let outcome = finish.outcome.as_str();
        let kyc_status = finish.kyc_status.map(|s| s.as_str().to_owned());
        let reference = finish.provider_reference.clone();
        let refused = json(&finish.refused_fields);
        let finished_at = Timestamp(finish.finished_at);
        let writes = KycWrites::of(&finish.customer, &finish.history, &finish.events);
        let complete = finish.idempotency.as_ref().map(complete_key);
        let written = self
            .run(move |conn| {
                per_backend!(conn => {
                    let written = conn.write_transaction(|conn| {
                        // The customer's change under the compare-and-set on its version
                        // and watermark, its history and its events, as a report writes
                        // them.
                        conn.write_kyc(&writes)?;
                        diesel::update(kyc_submissions::table.filter(kyc_submissions::id.eq(id)))
                            .set((
                                kyc_submissions::outcome.eq(outcome),
                                kyc_submissions::kyc_status.eq(&kyc_status),
                                kyc_submissions::provider_reference.eq(&reference),
                                kyc_submissions::refused_fields.eq(&refused),
                                kyc_submissions::finished_at.eq(finished_at),
                            ))
                            .execute(conn)?;
                        if let Some(complete) = complete {
                            if complete.execute(conn)? != 1 {
                                return Err(key_no_longer_held());
                            }
                        }
                        Ok(true)
                    });
                    moved_as_default(written)
                })
            })
            .await?;
        if written {
            Ok(())
        } else {
            Err(RepositoryError::Conflict)
        }
    }

    #[tracing::instrument(name = "store.find_kyc_submission", skip_all, fields(db.backend = self.backend(), customer_id = %customer_id))]
    async fn find_submission(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        id: SubmissionId,
    ) -> Result<Option<KycSubmissionRecord>, RepositoryError> {
        let (account, customer, id) = (Id(account_id.0), Id(customer_id.0), Id(id.0));
        let row: Option<SubmissionRow> = self
            .run(move |conn| {
                let query = kyc_submissions::table
                    .filter(kyc_submissions::id.eq(id))
                    .filter(kyc_submissions::customer_id.eq(customer))
                    .filter(kyc_submissions::account_id.eq(account));
                per_backend!(conn => query
                    .select(SubmissionRow::as_select())
                    .first(conn)
                    .optional())
            })
            .await?;
        row.map(SubmissionRow::into_domain).transpose()
    }

    #[tracing::instrument(name = "store.list_kyc_submissions", skip_all, fields(db.backend = self.backend(), customer_id = %customer_id))]
    async fn list_submissions(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        limit: u32,
    ) -> Result<Option<Vec<KycSubmissionRecord>>, RepositoryError> {
        let (account, customer) = (Id(account_id.0), Id(customer_id.0));
        let rows: Option<Vec<SubmissionRow>> = self
            .run(move |conn| {
                per_backend!(conn => {
                    let exists = diesel::select(diesel::dsl::exists(
                        customers::table
                            .filter(customers::id.eq(customer))
                            .filter(customers::account_id.eq(account)),
                    ))
                    .get_result::<bool>(conn)?;
                    if !exists {
                        return Ok(None);
                    }
                    kyc_submissions::table
                        .filter(kyc_submissions::customer_id.eq(customer))
                        .filter(kyc_submissions::account_id.eq(account))
                        .order((kyc_submissions::submitted_at.desc(), kyc_submissions::id.desc()))
                        .limit(i64::from(limit))
                        .select(SubmissionRow::as_select())
                        .load(conn)
                        .map(Some)
                })
            })
            .await?;
        rows.map(|rows| rows.into_iter().map(SubmissionRow::into_domain).collect())
            .transpose()
    }

    #[tracing::instrument(name = "store.signed_agreement_id", skip_all, fields(db.backend = self.backend(), customer_id = %customer_id))]
    async fn signed_agreement_id(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
    ) -> Result<Option<SignedAgreementId>, RepositoryError> {
        let (account, customer) = (Id(account_id.0), Id(customer_id.0));
        let stored: Option<Option<String>> = self
            .run(move |conn| {
                let query = customers::table
                    .filter(customers::id.eq(customer))
                    .filter(customers::account_id.eq(account))
                    .select(customers::signed_agreement_id);
                per_backend!(conn => query.first(conn).optional())
            })
            .await?;
        stored
            .flatten()
            .map(|raw| {
                SignedAgreementId::parse(&raw).map_err(|m| {
                    RepositoryError::Unexpected(anyhow::anyhow!(
                        "stored customer {customer_id} has an invalid signed_agreement_id: {m}"
                    ))
                })
            })
            .transpose()
    }

    #[tracing::instrument(name = "store.record_signed_agreement", skip_all, fields(db.backend = self.backend(), customer_id = %acceptance.customer_id))]
    async fn record_signed_agreement(
        &self,
        acceptance: &AgreementAcceptance,
    ) -> Result<bool, RepositoryError> {
        let customer = Id(acceptance.customer_id.0);
        let agreement = acceptance.agreement.as_str().to_owned();
        let writes = KycWrites::of(&acceptance.change, &acceptance.history, &acceptance.events);
        let stored = self
            .run(move |conn| {
                per_backend!(conn => {
                    let stored = conn.write_transaction(|conn| {
                        // Only the first acceptance is stored: the ToS state in the redirect
                        // stays valid for a day, and a replay of it, with whatever
                        // signed_agreement_id appended, must neither replace the stored one
                        // nor count as a change. Setting it first also holds the customer's
                        // row (PostgreSQL) against a concurrent first acceptance.
                        let first = diesel::update(
                            customers::table
                                .filter(customers::id.eq(customer))
                                .filter(customers::signed_agreement_id.is_null()),
                        )
                        .set(customers::signed_agreement_id.eq(&agreement))
                        .execute(conn)?;
                        if first == 0 {
                            return diesel::select(diesel::dsl::exists(
                                customers::table.find(customer),
                            ))
                            .get_result::<bool>(conn)
                            .map(Some);
                        }
                        // The terms accepted, as the KYC lifecycle decided it: the change
                        // under its compare-and-set, its history and its events.
                        conn.write_kyc(&writes)?;
                        Ok(Some(true))
                    });
                    // None: the customer moved since the change was decided.
                    moved_as_default(stored)
                })
            })
            .await?;
        stored.ok_or(RepositoryError::Conflict)
    }
}

/// A transaction undone because a customer moved since it was read
/// ([`DieselError::RollbackTransaction`], from [`WriteKyc`](super::kyc::WriteKyc)) as `Ok`
/// of the default (false, none); anything else as it is.
fn moved_as_default<T: Default>(written: QueryResult<T>) -> QueryResult<T> {
    match written {
        Err(DieselError::RollbackTransaction) => Ok(T::default()),
        other => other,
    }
}
