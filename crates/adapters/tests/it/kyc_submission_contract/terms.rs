//! Terms-of-service acceptances: only the first is stored as a change, with its history and
//! events, under the same compare-and-set as any other change.

use chrono::{TimeDelta, Utc};
use domain::{
    Customer, CustomerEmail, CustomerId, CustomerName, KycHistoryEntry, KycOrder, KycSource,
    KycStatus, SignedAgreementId, TosStatus,
};
use ports::{AgreementAcceptance, CustomerChange, RepositoryError};

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

/// `stored` put on a new link for a new address at `at`, as the update use case decides it:
/// the new link's statuses (terms not accepted), and its history entry.
fn relinked(stored: &Customer, at: chrono::DateTime<Utc>) -> CustomerChange {
    let mut new = stored.clone();
    new.email = CustomerEmail::parse("new.address@example.org").unwrap();
    new.kyc.kyc_link = "https://kyc.example/new".into();
    new.kyc.tos_link = "https://tos.example/new".into();
    new.kyc_state.tos_status = TosStatus::Pending;
    new.kyc_as_of = KycOrder::at(at);
    new.version = stored.version + 1;
    new.updated_at = Some(at);
    let history = KycHistoryEntry {
        customer_id: stored.id,
        from: stored.kyc_state.kyc_status,
        to: new.kyc_state.kyc_status,
        tos_status: TosStatus::Pending,
        source: KycSource::Api,
        event_id: None,
        at,
        recorded_at: at,
        applied: true,
    };
    CustomerChange::new(new, stored.version)
        .decided_at_watermark(stored.kyc_as_of)
        .starting_over(Some(history))
}

pub async fn a_new_link_drops_the_signed_agreement_and_records_its_history_in_one_write(
    store: Store,
) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    let (account, id) = (customer.account_id, customer.id);
    let agreement = SignedAgreementId::parse("agr-old-address").unwrap();
    assert!(record(&store, &acceptance(&customer, &agreement, now())).await);
    let stored = stored_customer(&store, &customer).await;
    let accepted = store.kyc.history(id).await.unwrap();
    assert_eq!(accepted.len(), 1);

    // A change decided on an older version writes none of it.
    let mut stale = relinked(&stored, now() + TimeDelta::seconds(1));
    stale.expected_version -= 1;
    stale.new.version -= 1;
    let err = store.customers.update(&stale).await.unwrap_err();
    assert!(matches!(err, RepositoryError::Conflict), "{err:?}");
    assert_eq!(signed_agreement(&store, account, id).await, Some(agreement));
    assert_eq!(store.kyc.history(id).await.unwrap(), accepted);

    let change = relinked(&stored, now() + TimeDelta::seconds(1));
    store.customers.update(&change).await.unwrap();
    assert_eq!(stored_customer(&store, &customer).await, change.new);
    assert_eq!(signed_agreement(&store, account, id).await, None);
    let history = store.kyc.history(id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1], change.history.clone().unwrap());

    // The new link's terms can be accepted in their turn.
    let renewed = SignedAgreementId::parse("agr-new-address").unwrap();
    let again = stored_customer(&store, &customer).await;
    assert!(
        record(
            &store,
            &acceptance(&again, &renewed, now() + TimeDelta::seconds(2))
        )
        .await
    );
    assert_eq!(signed_agreement(&store, account, id).await, Some(renewed));
}

pub async fn a_change_that_keeps_the_link_keeps_the_signed_agreement(store: Store) {
    let customer = customer(&store, KycStatus::NotStarted).await;
    let (account, id) = (customer.account_id, customer.id);
    let agreement = SignedAgreementId::parse("agr-kept").unwrap();
    assert!(record(&store, &acceptance(&customer, &agreement, now())).await);
    let stored = stored_customer(&store, &customer).await;
    let mut renamed = stored.clone();
    renamed.name = CustomerName::parse("Ada Lovelace").unwrap();
    renamed.version = stored.version + 1;
    renamed.updated_at = Some(now());
    store
        .customers
        .update(&CustomerChange::new(renamed, stored.version))
        .await
        .unwrap();
    assert_eq!(signed_agreement(&store, account, id).await, Some(agreement));
    assert_eq!(store.kyc.history(id).await.unwrap().len(), 1);
}

crate::stores::contract_suite!(
    only_the_first_terms_acceptance_is_stored_as_a_change,
    a_terms_acceptance_on_a_moved_customer_is_a_conflict_and_nothing_is_written,
    a_new_link_drops_the_signed_agreement_and_records_its_history_in_one_write,
    a_change_that_keeps_the_link_keeps_the_signed_agreement,
);
