//! The update use case on a new e-mail address: locked once KYC started, unique, a new
//! link under a key of its own, a new mail in place of the queued one.

use super::*;
use domain::{KycHistoryEntry, KycSource, TosStatus, WebhookEventType};

#[tokio::test]
async fn a_new_address_is_refused_once_kyc_has_started_before_any_provider_call() {
    for status in KycStatus::ALL
        .into_iter()
        .filter(|s| *s != KycStatus::NotStarted)
    {
        let mut started = fresh();
        started.kyc_state.kyc_status = status;
        let mut repo = repo_finding(vec![started]);
        repo.expect_update().never();
        repo.expect_email_exists().never();
        let err = update(repo, no_provider(), new_address(), Precondition::Any)
            .await
            .unwrap_err();
        assert!(matches!(err, UpdateCustomerError::EmailLocked), "{status}");
    }
}

#[tokio::test]
async fn a_new_address_of_another_customer_is_a_duplicate_before_any_provider_call() {
    let mut repo = repo_finding(vec![fresh()]);
    repo.expect_email_exists()
        .withf(|a, e| *a == account() && e.as_str() == "new.address@example.org")
        .returning(|_, _| Ok(true));
    repo.expect_update().never();
    let err = update(repo, no_provider(), new_address(), Precondition::Any)
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateCustomerError::Duplicate), "{err:?}");
}

#[tokio::test]
async fn a_new_address_gets_a_new_link_and_a_new_mail_in_the_same_write() {
    let current = fresh();
    let mut repo = repo_finding(vec![current.clone()]);
    repo.expect_email_exists().returning(|_, _| Ok(false));
    let written = recording(&mut repo, |_| Ok(()));
    let mut kyc = MockKycProvider::new();
    kyc.expect_name().return_const("bridge");
    let id = current.id;
    kyc.expect_create_kyc_link()
        .times(1)
        .withf(move |r| {
            r.idempotency_key == kyc_relink_idempotency_key(id, 4)
                && r.idempotency_key != kyc_idempotency_key(id)
                && r.email == "new.address@example.org"
                && r.full_name == "Emmanuel A Towoju"
                && r.customer_type == CustomerType::Individual
        })
        .returning(|_| Ok(relink()));

    let updated = update(repo, kyc, new_address(), Precondition::Any)
        .await
        .unwrap();

    assert_eq!(updated.email.as_str(), "new.address@example.org");
    assert_eq!(updated.kyc, relink().link);
    assert_eq!(updated.kyc_state, relink().state);
    let at = updated.updated_at.unwrap();
    assert_eq!(updated.kyc_as_of, KycOrder::at(at));
    assert_eq!(updated.last_synced_at, None);
    assert_eq!(updated.kyc_mail_status, KycMailStatus::Queued);
    let written = written.lock().unwrap();
    assert_eq!(
        written[0].kyc_mail,
        Some(QueuedKycMail {
            message_id: kyc_message_id_for_version(id, 4),
            due_at: at,
        })
    );
    assert_ne!(kyc_message_id_for_version(id, 4), kyc_message_id(id));
    // The same KYC and ToS status on the new link: only the customer changed, so no
    // history entry; the old link's signed terms agreement goes all the same.
    let types: Vec<_> = written[0].events.iter().map(|e| e.event_type).collect();
    assert_eq!(types, vec![WebhookEventType::CustomerUpdated]);
    assert!(written[0].starts_over);
    assert_eq!(written[0].history, None);
}

#[tokio::test]
async fn a_new_link_that_changes_the_tos_status_is_told_as_a_kyc_update_too() {
    let mut current = fresh();
    current.kyc_state.tos_status = TosStatus::Approved;
    let mut repo = repo_finding(vec![current]);
    repo.expect_email_exists().returning(|_, _| Ok(false));
    let written = recording(&mut repo, |_| Ok(()));
    let updated = update(
        repo,
        provider_answering(|| Ok(relink())),
        new_address(),
        Precondition::Any,
    )
    .await
    .unwrap();
    assert_eq!(updated.kyc_state.tos_status, TosStatus::Pending);
    let written = written.lock().unwrap();
    let types: Vec<_> = written[0].events.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        vec![
            WebhookEventType::CustomerUpdated,
            WebhookEventType::CustomerKycUpdated
        ]
    );
    // …and kept in the KYC history, as every status change is.
    assert!(written[0].starts_over);
    let at = updated.updated_at.unwrap();
    assert_eq!(
        written[0].history,
        Some(KycHistoryEntry {
            customer_id: updated.id,
            from: KycStatus::NotStarted,
            to: KycStatus::NotStarted,
            tos_status: TosStatus::Pending,
            source: KycSource::Api,
            event_id: None,
            at,
            recorded_at: at,
            applied: true,
        })
    );
}

#[tokio::test]
async fn a_new_address_of_a_customer_who_wants_no_mail_queues_none() {
    let mut current = fresh();
    current.send_kyc_mail = false;
    current.kyc_mail_status = KycMailStatus::NotRequested;
    let mut repo = repo_finding(vec![current]);
    repo.expect_email_exists().returning(|_, _| Ok(false));
    let written = recording(&mut repo, |_| Ok(()));
    let updated = update(
        repo,
        provider_answering(|| Ok(relink())),
        new_address(),
        Precondition::Any,
    )
    .await
    .unwrap();
    assert_eq!(updated.kyc_mail_status, KycMailStatus::NotRequested);
    assert_eq!(updated.kyc, relink().link);
    assert_eq!(written.lock().unwrap()[0].kyc_mail, None);
}

#[tokio::test]
async fn another_spelling_of_the_same_address_is_stored_without_a_new_link_even_after_kyc_started()
{
    let mut started = fresh();
    started.kyc_state.kyc_status = KycStatus::Approved;
    let mut repo = repo_finding(vec![started.clone()]);
    repo.expect_email_exists().never();
    let written = recording(&mut repo, |_| Ok(()));
    let shouted = CustomerUpdate {
        email: Some(CustomerEmail::parse("TBASH7676@gmail.com").unwrap()),
        ..CustomerUpdate::default()
    };
    let updated = update(repo, no_provider(), shouted, Precondition::Any)
        .await
        .unwrap();
    assert_eq!(updated.email.as_str(), "TBASH7676@gmail.com");
    assert_eq!(updated.kyc, started.kyc);
    assert_eq!(updated.kyc_state, started.kyc_state);
    let written = written.lock().unwrap();
    assert_eq!(written[0].kyc_mail, None);
    assert!(!written[0].starts_over, "the same address keeps its link");
    assert_eq!(written[0].history, None);
}

#[tokio::test]
async fn a_new_address_that_loses_a_race_is_written_again_with_the_link_already_obtained() {
    let mut newer = fresh();
    newer.version = 4;
    let mut repo = repo_finding(vec![fresh(), newer]);
    repo.expect_email_exists().returning(|_, _| Ok(false));
    let written = recording(&mut repo, |n| {
        if n == 1 {
            Err(RepositoryError::Conflict)
        } else {
            Ok(())
        }
    });
    // `provider_answering` allows exactly one call.
    let updated = update(
        repo,
        provider_answering(|| Ok(relink())),
        new_address(),
        Precondition::Any,
    )
    .await
    .unwrap();
    assert_eq!(updated.version, 5);
    assert_eq!(updated.kyc, relink().link);
    assert_eq!(
        written.lock().unwrap()[1]
            .kyc_mail
            .as_ref()
            .unwrap()
            .message_id,
        kyc_message_id_for_version(updated.id, 5)
    );
}

#[tokio::test]
async fn a_provider_failure_on_a_new_address_writes_nothing_and_says_which() {
    type Answer = fn() -> Result<IssuedKycLink, KycProviderError>;
    let cases: [(Answer, &str); 3] = [
        (
            || {
                Err(KycProviderError::Rejected {
                    code: None,
                    message: "bad address".into(),
                })
            },
            "rejected",
        ),
        (|| Err(KycProviderError::Timeout), "timeout"),
        (
            || Err(KycProviderError::Unavailable(anyhow::anyhow!("down"))),
            "unavailable",
        ),
    ];
    for (answer, expected) in cases {
        let mut repo = repo_finding(vec![fresh()]);
        repo.expect_email_exists().returning(|_, _| Ok(false));
        repo.expect_update().never();
        let err = update(
            repo,
            provider_answering(answer),
            new_address(),
            Precondition::Any,
        )
        .await
        .unwrap_err();
        let found = match &err {
            UpdateCustomerError::KycRejected { message } if message == "bad address" => "rejected",
            UpdateCustomerError::KycTimeout => "timeout",
            UpdateCustomerError::KycUnavailable(_) => "unavailable",
            _ => "something else",
        };
        assert_eq!(found, expected, "{err:?}");
    }
}
