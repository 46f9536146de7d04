//! Accounts: the API clients that own customers and log in with an app secret.

use chrono::{DateTime, Utc};

use crate::AccountId;

/// Longest accepted account name, in characters.
pub const MAX_ACCOUNT_NAME_CHARS: usize = 100;

/// A human-readable account name: trimmed, 1..=100 characters, no control characters and
/// no invisible formatting characters (bidirectional controls, zero-width characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountName(String);

impl AccountName {
    /// Validates and trims a raw name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        if trimmed.chars().count() > MAX_ACCOUNT_NAME_CHARS {
            return Err(format!(
                "must be at most {MAX_ACCOUNT_NAME_CHARS} characters"
            ));
        }
        crate::text::check_name_characters(trimmed)?;
        Ok(Self(trimmed.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An API client. The app secret itself is never kept, only a slow salted hash of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account id (the `sub` of its tokens).
    pub id: AccountId,
    /// A name for people.
    pub name: AccountName,
    /// The argon2 PHC string of the app secret.
    pub secret_hash: String,
    /// A disabled account cannot log in, and its tokens stop working.
    pub disabled: bool,
    /// When the account was created, to the millisecond.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_trimmed_and_bounded() {
        assert_eq!(AccountName::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert!(AccountName::parse(" ").is_err());
        assert!(AccountName::parse(&"x".repeat(101)).is_err());
        assert!(AccountName::parse("a\u{7}b").is_err());
    }

    #[test]
    fn account_names_refuse_bidirectional_overrides_and_zero_width_characters() {
        for bad in [
            "Acme\u{202E}gnp.exe",
            "Ac\u{200B}me",
            "\u{2066}Acme\u{2069}",
            "\u{FEFF}Acme",
        ] {
            let message = AccountName::parse(bad).unwrap_err();
            assert!(
                message.contains("invisible formatting"),
                "{bad:?}: {message}"
            );
        }
        assert!(AccountName::parse("Acme Fintech Ltd.").is_ok());
    }
}
