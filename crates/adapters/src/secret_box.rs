//! The secret-box port with AES-256-GCM (RustCrypto `aes-gcm`): webhook signing secrets
//! are needed in the clear to sign, so they are stored encrypted under a key the database
//! never sees (`SECRETS_ENCRYPTION_KEY`).
//!
//! A sealed value is `v1:` and the standard base64 of a random 96-bit nonce, the
//! ciphertext and the 16-byte tag. The endpoint's id is the associated data, so a sealed
//! secret copied onto another endpoint's row does not open. Random nonces are safe for
//! about 2^32 seals under one key, far more secrets than this service makes.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use domain::{EndpointId, SigningSecret};
use ports::webhooks::{SealedSecret, SecretBoxError};
use ports::SecretBox;
use zeroize::Zeroizing;

/// Bytes of an AES-256 key.
pub const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
/// Names the format, so that another algorithm or key scheme can be told apart later.
const VERSION: &str = "v1:";

/// Seals and opens signing secrets with one AES-256-GCM key.
pub struct AesGcmSecretBox {
    cipher: Aes256Gcm,
}

impl AesGcmSecretBox {
    /// A box with `key`.
    pub fn new(key: &Zeroizing<[u8; KEY_BYTES]>) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.as_ref().into()),
        }
    }
}

/// The associated data binding a sealed secret to its endpoint.
fn associated_data(endpoint: EndpointId) -> String {
    format!("webhook-endpoint-secret:{endpoint}")
}

impl SecretBox for AesGcmSecretBox {
    fn seal(
        &self,
        secret: &SigningSecret,
        endpoint: EndpointId,
    ) -> Result<SealedSecret, SecretBoxError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(endpoint);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| {
                SecretBoxError::Unexpected(anyhow::anyhow!("AES-GCM encryption failed"))
            })?;
        let mut blob = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        Ok(SealedSecret(format!("{VERSION}{}", STANDARD.encode(blob))))
    }

    fn open(
        &self,
        sealed: &SealedSecret,
        endpoint: EndpointId,
    ) -> Result<SigningSecret, SecretBoxError> {
        let blob = sealed
            .0
            .strip_prefix(VERSION)
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .filter(|blob| blob.len() > NONCE_BYTES + TAG_BYTES)
            .ok_or(SecretBoxError::WrongKeyOrTampered)?;
        let (nonce, ciphertext) = blob.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce
            .try_into()
            .map_err(|_| SecretBoxError::WrongKeyOrTampered)?;
        let aad = associated_data(endpoint);
        let plaintext = Zeroizing::new(
            self.cipher
                .decrypt(
                    &Nonce::from(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| SecretBoxError::WrongKeyOrTampered)?,
        );
        let text = std::str::from_utf8(&plaintext).map_err(|_| {
            SecretBoxError::Unexpected(anyhow::anyhow!("a sealed secret is not text"))
        })?;
        SigningSecret::parse(text).map_err(|m| {
            SecretBoxError::Unexpected(anyhow::anyhow!("a sealed secret is malformed: {m}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Zeroizing<[u8; KEY_BYTES]> {
        Zeroizing::new([n; KEY_BYTES])
    }

    fn secret() -> SigningSecret {
        SigningSecret::from_key(&[42; 32])
    }

    #[test]
    fn a_sealed_secret_opens_to_itself_and_shows_nothing_of_it() {
        let sealer = AesGcmSecretBox::new(&key(1));
        let endpoint = EndpointId::new_random();
        let sealed = sealer.seal(&secret(), endpoint).unwrap();
        assert!(sealed.0.starts_with("v1:"), "{}", sealed.0);
        assert!(!sealed.0.contains(secret().expose()));
        assert!(!sealed.0.contains(&secret().expose()["whsec_".len()..]));
        assert_eq!(sealer.open(&sealed, endpoint).unwrap(), secret());
    }

    #[test]
    fn sealing_twice_gives_different_values() {
        let sealer = AesGcmSecretBox::new(&key(1));
        let endpoint = EndpointId::new_random();
        let a = sealer.seal(&secret(), endpoint).unwrap();
        let b = sealer.seal(&secret(), endpoint).unwrap();
        assert_ne!(a, b, "a nonce was reused");
    }

    #[test]
    fn another_key_another_endpoint_or_a_changed_bit_does_not_open() {
        let sealer = AesGcmSecretBox::new(&key(1));
        let endpoint = EndpointId::new_random();
        let sealed = sealer.seal(&secret(), endpoint).unwrap();
        let wrong_key = AesGcmSecretBox::new(&key(2)).open(&sealed, endpoint);
        assert!(matches!(wrong_key, Err(SecretBoxError::WrongKeyOrTampered)));
        let moved = sealer.open(&sealed, EndpointId::new_random());
        assert!(matches!(moved, Err(SecretBoxError::WrongKeyOrTampered)));

        let mut blob = STANDARD.decode(&sealed.0[3..]).unwrap();
        let last = blob.len() - 1;
        blob[last] ^= 1;
        let flipped = SealedSecret(format!("v1:{}", STANDARD.encode(blob)));
        assert!(matches!(
            sealer.open(&flipped, endpoint),
            Err(SecretBoxError::WrongKeyOrTampered)
        ));
        for garbage in ["", "v1:", "v1:AAAA", "v2:abc", "plain"] {
            assert!(
                sealer
                    .open(&SealedSecret(garbage.into()), endpoint)
                    .is_err(),
                "{garbage}"
            );
        }
    }
}
