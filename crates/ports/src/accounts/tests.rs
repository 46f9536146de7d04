//! Unit tests of the account use cases, with mocks of both ports.

use super::*;

/// What the mock hasher makes of a secret: readable, so tests can see what was stored.
fn fake_hash(secret: &str) -> String {
    format!("hashed:{secret}")
}

/// A hasher that expects exactly one verification (the timing rule) and matches
/// [`fake_hash`]es only.
fn hasher_verifying_once() -> MockSecretHasher {
    let mut hasher = MockSecretHasher::new();
    hasher
        .expect_verify()
        .times(1)
        .returning(|secret, hash| Ok(hash == Some(fake_hash(secret).as_str())));
    hasher
}

fn account(secret: &str, disabled: bool) -> Account {
    Account {
        id: AccountId(Uuid::from_u128(5)),
        name: AccountName::parse("Acme").unwrap(),
        secret_hash: fake_hash(secret),
        disabled,
        created_at: Utc::now(),
    }
}

fn service_with(repo: MockAccountRepository, hasher: MockSecretHasher) -> AccountService {
    AccountService::new(Arc::new(repo), Arc::new(hasher), Duration::from_secs(30))
}

fn service(repo: MockAccountRepository) -> AccountService {
    service_with(repo, hasher_verifying_once())
}

fn repo_with(found: Option<Account>) -> MockAccountRepository {
    let mut repo = MockAccountRepository::new();
    repo.expect_find_account()
        .returning(move |_| Ok(found.clone()));
    repo
}

#[test]
fn app_secrets_are_long_random_and_prefixed() {
    let a = new_app_secret();
    assert!(a.starts_with("sk_"));
    assert_eq!(a.len(), 3 + 64);
    assert_ne!(a, new_app_secret());
}

#[tokio::test]
async fn create_account_stores_only_the_hash_of_a_new_secret() {
    let mut hasher = MockSecretHasher::new();
    hasher
        .expect_hash()
        .times(1)
        .returning(|secret| Ok(fake_hash(secret)));
    let mut repo = MockAccountRepository::new();
    repo.expect_insert_account()
        .times(1)
        .withf(|a| a.secret_hash.starts_with("hashed:sk_") && !a.disabled)
        .returning(|_| Ok(()));
    let (account, secret) = service_with(repo, hasher)
        .create_account(AccountName::parse("Acme").unwrap())
        .await
        .unwrap();
    assert!(secret.starts_with(APP_SECRET_PREFIX));
    assert_eq!(account.secret_hash, fake_hash(&secret));
}

#[tokio::test]
async fn create_account_stores_nothing_when_hashing_fails() {
    let mut hasher = MockSecretHasher::new();
    hasher
        .expect_hash()
        .returning(|_| Err(anyhow::anyhow!("out of memory")));
    let mut repo = MockAccountRepository::new();
    repo.expect_insert_account().never();
    let err = service_with(repo, hasher)
        .create_account(AccountName::parse("Acme").unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("out of memory"), "{err}");
}

#[tokio::test]
async fn login_succeeds_with_the_right_secret() {
    let id = service(repo_with(Some(account("sk_right", false))))
        .login("00000000-0000-0000-0000-000000000005", "sk_right")
        .await
        .unwrap();
    assert_eq!(id, AccountId(Uuid::from_u128(5)));
}

#[tokio::test]
async fn login_fails_alike_for_wrong_secret_unknown_disabled_and_malformed_ids() {
    let id = "00000000-0000-0000-0000-000000000005";
    // Each service's hasher expects exactly one verification: the unknown account and
    // the malformed id cost one too.
    let cases = [
        (
            service(repo_with(Some(account("sk_right", false)))),
            id,
            "sk_wrong",
        ),
        (service(repo_with(None)), id, "sk_right"),
        (
            service(repo_with(Some(account("sk_right", true)))),
            id,
            "sk_right",
        ),
        (
            service(MockAccountRepository::new()),
            "not-a-uuid",
            "sk_right",
        ),
    ];
    for (service, id, secret) in cases {
        let err = service.login(id, secret).await.unwrap_err();
        assert!(matches!(err, LoginError::InvalidCredentials), "{err:?}");
    }
}

#[tokio::test]
async fn login_without_an_account_verifies_against_no_hash() {
    let mut hasher = MockSecretHasher::new();
    hasher
        .expect_verify()
        .times(1)
        .withf(|secret, hash| secret == "sk_right" && hash.is_none())
        // Even a hasher that said "yes" cannot let an unknown account in.
        .returning(|_, _| Ok(true));
    let err = service_with(repo_with(None), hasher)
        .login("00000000-0000-0000-0000-000000000005", "sk_right")
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::InvalidCredentials), "{err:?}");
}

#[tokio::test]
async fn login_to_an_account_with_an_unusable_hash_fails_like_a_wrong_secret() {
    // An imported account has no usable hash: the hasher is handed it, and nothing
    // matches it.
    let mut hasher = MockSecretHasher::new();
    hasher
        .expect_verify()
        .times(1)
        .withf(|_, hash| *hash == Some("!"))
        .returning(|_, _| Ok(false));
    let imported = Account {
        secret_hash: "!".into(),
        ..account("sk_right", false)
    };
    let err = service_with(repo_with(Some(imported)), hasher)
        .login("00000000-0000-0000-0000-000000000005", "!")
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::InvalidCredentials), "{err:?}");
}

#[tokio::test]
async fn login_reports_an_unavailable_store() {
    let mut repo = MockAccountRepository::new();
    repo.expect_find_account()
        .returning(|_| Err(RepositoryError::Unavailable(anyhow::anyhow!("down"))));
    let mut hasher = MockSecretHasher::new();
    hasher.expect_verify().never();
    let err = service_with(repo, hasher)
        .login("00000000-0000-0000-0000-000000000005", "x")
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn login_reports_a_failed_verification_as_unexpected() {
    let mut hasher = MockSecretHasher::new();
    hasher
        .expect_verify()
        .returning(|_, _| Err(anyhow::anyhow!("verification task panicked")));
    let err = service_with(repo_with(Some(account("sk_right", false))), hasher)
        .login("00000000-0000-0000-0000-000000000005", "sk_right")
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::Unexpected(_)), "{err:?}");
}

#[tokio::test]
async fn is_active_is_false_for_unknown_and_disabled_accounts_and_cached() {
    let mut repo = MockAccountRepository::new();
    repo.expect_find_account()
        .times(1)
        .returning(|_| Ok(Some(account("s", true))));
    let service = service_with(repo, MockSecretHasher::new());
    assert!(!service
        .is_active(AccountId(Uuid::from_u128(5)))
        .await
        .unwrap());
    // Answered from the cache: the mock allows one lookup only.
    assert!(!service
        .is_active(AccountId(Uuid::from_u128(5)))
        .await
        .unwrap());
    let service = AccountService::new(
        Arc::new(repo_with(None)),
        Arc::new(MockSecretHasher::new()),
        Duration::ZERO,
    );
    assert!(!service
        .is_active(AccountId(Uuid::from_u128(6)))
        .await
        .unwrap());
}

#[tokio::test]
async fn disabling_an_account_takes_effect_at_once_in_this_instance() {
    let mut repo = MockAccountRepository::new();
    let mut seq = mockall::Sequence::new();
    repo.expect_find_account()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Some(account("s", false))));
    repo.expect_set_account_disabled()
        .returning(|_, _| Ok(true));
    repo.expect_find_account()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Some(account("s", true))));
    let service = service_with(repo, MockSecretHasher::new());
    let id = AccountId(Uuid::from_u128(5));
    assert!(service.is_active(id).await.unwrap());
    assert!(service.set_disabled(id, true).await.unwrap());
    assert!(!service.is_active(id).await.unwrap());
}
