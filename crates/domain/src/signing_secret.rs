//! An endpoint's signing secret in the Standard Webhooks format: `whsec_` and the standard
//! base64 of the key. The HMAC key is the decoded bytes, not the text.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

/// The prefix every signing secret carries.
pub const SIGNING_SECRET_PREFIX: &str = "whsec_";
/// Bytes of key in a secret this service makes.
pub const SIGNING_KEY_BYTES: usize = 32;

/// Fewest and most key bytes the specification allows ("at least 24 bytes, 512 maximum").
const KEY_BYTES_ALLOWED: std::ops::RangeInclusive<usize> = 24..=64;

/// A signing secret. Its text is wiped from memory when dropped, and it never prints: its
/// `Debug` is redacted and it has no `Display`, so it cannot end up in a log line by
/// accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Zeroizing<String>);

impl SigningSecret {
    /// The secret of a key (made by the caller from a secure random source).
    pub fn from_key(key: &[u8; SIGNING_KEY_BYTES]) -> Self {
        let mut text = Zeroizing::new(String::with_capacity(64));
        text.push_str(SIGNING_SECRET_PREFIX);
        STANDARD.encode_string(key, &mut text);
        Self(text)
    }

    /// Reads a secret in its text form (as the secret box gives it back).
    pub fn parse(text: &str) -> Result<Self, String> {
        let encoded = text
            .strip_prefix(SIGNING_SECRET_PREFIX)
            .ok_or_else(|| format!("must start with {SIGNING_SECRET_PREFIX}"))?;
        let key = Zeroizing::new(
            STANDARD
                .decode(encoded)
                .map_err(|_| "must be standard base64 after the prefix".to_owned())?,
        );
        if !KEY_BYTES_ALLOWED.contains(&key.len()) {
            return Err("must hold a key of 24 to 64 bytes".into());
        }
        Ok(Self(Zeroizing::new(text.to_owned())))
    }

    /// The text form, `whsec_…`: shown to the account once, sealed for storage.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the bytes the text encodes.
    pub fn key(&self) -> Zeroizing<Vec<u8>> {
        let encoded = self
            .0
            .strip_prefix(SIGNING_SECRET_PREFIX)
            .unwrap_or_default();
        // Every value was checked to decode when it was made.
        Zeroizing::new(STANDARD.decode(encoded).unwrap_or_default())
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_the_prefix_and_the_base64_of_its_key() {
        let key = [7u8; SIGNING_KEY_BYTES];
        let secret = SigningSecret::from_key(&key);
        assert_eq!(secret.expose(), format!("whsec_{}", STANDARD.encode(key)));
        assert_eq!(secret.key().as_slice(), key.as_slice());
        assert_eq!(SigningSecret::parse(secret.expose()).unwrap(), secret);
    }

    #[test]
    fn the_specifications_test_secret_reads_as_its_24_key_bytes() {
        let secret = SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(secret.key().len(), 24);
    }

    #[test]
    fn malformed_secrets_are_refused() {
        for bad in [
            "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "whsec_not base64!",
            "whsec_AAAA",
            &format!("whsec_{}", STANDARD.encode([0u8; 65])),
        ] {
            assert!(SigningSecret::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_secret_never_prints() {
        let secret = SigningSecret::from_key(&[9u8; SIGNING_KEY_BYTES]);
        let shown = format!("{secret:?}");
        assert_eq!(shown, "SigningSecret(<redacted>)");
        assert!(!shown.contains(secret.expose()));
    }
}
