//! Terms-of-service acceptances: only the first is stored as a change, with its history and
//! events, under the same compare-and-set as any other change.

use chrono::{TimeDelta, Utc};
use domain::{Customer, CustomerId, KycOrder, KycSource, KycStatus, SignedAgreementId, TosStatus};
use ports::{AgreementAcceptance, RepositoryError};

use super::{
    customer, deliveries, kyc_change, kyc_updated_events, now, signed_agreement, stored_customer,
};
use crate::lifecycle_contract::endpoint;
use crate::stores::Store;

/// Records `acceptance`; whether it was recorded (or already was).
async fn record(store: &Store, acceptance: &AgreementAcceptance) -> bool {
    store
        .submissions
        .record_signed_agreement(acceptance)
        .await
        .unwrap()
}

/// The first terms-of-service acceptance of `customer` at `at`, with its change.
fn acceptance(
    customer: &Customer,
    agreement: &SignedAgreementId,
    at: chrono::DateTime<Utc>,
) -> AgreementAcceptance {
    let mut changed = customer.clone();
    changed.kyc_state.tos_status = TosStatus::Approved;
    changed.kyc_as_of = KycOrder::at(at);
    changed.version = customer.version + 1;
    changed.updated_at = Some(at);
    let (change, history, event) = kyc_change(customer, changed, KycSource::TosRedirect, at);
    AgreementAcceptance {
        customer_id: customer.id,
        agreement: agreement.clone(),
        at,
        change: Some(change),
        history: Some(history),
        events: vec![event],
    }
}

pub async fn only_the_first_terms_acceptance_is_stored_as_a_change(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    endpoint(&store, customer.account_id);
    let (account, id) = (customer.account_id, customer.id);
    assert_eq!(signed_agreement(&store, account, id).await, None);
    let agreement = SignedAgreementId::parse("4d5d8c45-9feb-422a-bb5e-0fd32e3b3c53").unwrap();
    let at = now();
    let first = acceptance(&customer, &agreement, at);
    assert!(record(&store, &first).await);
    assert_eq!(
        signed_agreement(&store, account, id).await,
        Some(agreement.clone())
    );
    let stored = stored_customer(&store, &customer).await;
    assert_eq!(stored, first.change.clone().unwrap().customer);
    assert_eq!(stored.kyc_state.tos_status, TosStatus::Approved);
    assert_eq!(stored.version, customer.version + 1);
    assert_eq!(stored.updated_at, Some(at));
    // Its history entry and its event, written with it.
    let history = store.kyc.history(id).await.unwrap();
    assert_eq!(history, [first.history.clone().unwrap()]);
    assert_eq!(history[0].source, KycSource::TosRedirect);
    assert_eq!(history[0].tos_status, TosStatus::Approved);
    assert_eq!(kyc_updated_events(&store, &customer), 1);
    assert_eq!(deliveries(&store, &customer), 1);

    // A later acceptance (a replayed ToS state) is answered as done and writes nothing,
    // whatever change it brings.
    let replayed = SignedAgreementId::parse("replayed-agreement").unwrap();
    assert!(
        record(
            &store,
            &acceptance(&stored, &replayed, at + TimeDelta::seconds(1))
        )
        .await
    );
    assert_eq!(
        signed_agreement(&store, account, id).await,
        Some(agreement.clone())
    );
    let again = stored_customer(&store, &customer).await;
    assert_eq!(again, stored);
    assert_eq!(store.kyc.history(id).await.unwrap().len(), 1);
    assert_eq!(kyc_updated_events(&store, &customer), 1);

    let mut stranger = customer.clone();
    stranger.id = CustomerId::new_random();
    assert!(!record(&store, &acceptance(&stranger, &agreement, at)).await);
}

pub async fn a_terms_acceptance_on_a_moved_customer_is_a_conflict_and_nothing_is_written(
    store: Store,
) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    endpoint(&store, customer.account_id);
    let agreement = SignedAgreementId::parse("agr-1").unwrap();
    let mut moved = acceptance(&customer, &agreement, now());
    if let Some(change) = moved.change.as_mut() {
        change.expected_version += 1;
    }
    let err = store
        .submissions
        .record_signed_agreement(&moved)
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Conflict), "{err:?}");
    assert_eq!(
        signed_agreement(&store, customer.account_id, customer.id).await,
        None
    );
    let stored = stored_customer(&store, &customer).await;
    assert_eq!(stored, customer);
    assert!(store.kyc.history(customer.id).await.unwrap().is_empty());
    assert_eq!(kyc_updated_events(&store, &customer), 0);

    // Terms a provider report approved already: only the acceptance is stored.
    let unchanged = AgreementAcceptance {
        change: None,
        history: None,
        events: Vec::new(),
        ..moved
    };
    assert!(record(&store, &unchanged).await);
    assert_eq!(
        signed_agreement(&store, customer.account_id, customer.id).await,
        Some(agreement)
    );
    let stored = stored_customer(&store, &customer).await;
    assert_eq!(stored, customer);
    assert_eq!(kyc_updated_events(&store, &customer), 0);
}

crate::stores::contract_suite!(
    only_the_first_terms_acceptance_is_stored_as_a_change,
    a_terms_acceptance_on_a_moved_customer_is_a_conflict_and_nothing_is_written,
);
