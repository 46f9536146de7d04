//! A setting whose value `Debug` never shows: secrets, and URLs that may carry a password.

use std::fmt;
use std::ops::Deref;

/// A secret setting's value. `Debug` prints `<redacted>`, so one `{config:?}` or `dbg!` does
/// not put a token secret, an encryption key, an API key or a password into a log; there
/// is no `Display`. The value is read as a `&str` (through `Deref`, so `Option<Redacted>`
/// has `as_deref()` as `Option<String>` does) where it is used.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redacted(String);

/// How clap reads it from a flag or the environment.
impl From<String> for Redacted {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl Deref for Redacted {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config;
    use crate::config::Storage;

    #[test]
    fn printing_the_configuration_shows_no_secret_and_no_password() {
        let secrets = [
            "jwt-secret-0123456789abcdef0123456789abcdef",
            "encryption-key-00112233445566778899aabbccddeeff",
            "bridge-api-key-sk-live-123",
            "smtp-password-456",
            "db-password-789",
        ];
        let smtp_url = format!("smtp://mailer:{}@mail.example:587", secrets[3]);
        let database_url = format!("postgres://app:{}@db.example/app", secrets[4]);
        let c = config(&[
            &format!("--jwt-secret={}", secrets[0]),
            &format!("--secrets-encryption-key={}", secrets[1]),
            &format!("--bridge-api-key={}", secrets[2]),
            &format!("--smtp-url={smtp_url}"),
            &format!("--database-url={database_url}"),
        ]);
        // Each is read as given.
        assert_eq!(c.auth.jwt_secret.as_deref(), Some(secrets[0]));
        assert_eq!(
            c.webhooks.secrets_encryption_key.as_deref(),
            Some(secrets[1])
        );
        assert_eq!(c.kyc.bridge_settings().api_key, secrets[2]);
        assert_eq!(c.mail.smtp_url(), Some(smtp_url.as_str()));
        assert_eq!(
            c.database.storage().unwrap(),
            Storage::Postgres(database_url)
        );

        let printed = format!("{c:?}");
        for text in [&printed, &format!("{c:#?}")] {
            for secret in secrets {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        // What is not secret is still there to read, and a secret's presence shows.
        for shown in [
            "jwt_secret: Some(<redacted>)",
            "secrets_encryption_key: Some(<redacted>)",
            "bridge_api_key: Some(<redacted>)",
            "smtp_url: Some(<redacted>)",
            "database_url: Some(<redacted>)",
            "bridge_api_url: \"https://api.bridge.xyz\"",
        ] {
            assert!(printed.contains(shown), "{shown} not in {printed}");
        }
    }
}
