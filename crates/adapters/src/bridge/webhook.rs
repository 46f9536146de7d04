//! Verifying Bridge's webhook deliveries. Header `X-Webhook-Signature: t=<unix ms>,v0=<base64>`;
//! the signature is RSA PKCS#1 v1.5 with SHA-256 over the SHA-256 digest of
//! `<t>.<raw body>` — Bridge's "two passes of hashing": we hash once, and the standard
//! RSA-SHA256 verification hashes that digest again. Keys are Bridge's per-endpoint public
//! keys in PEM; several may be configured (a rotation), and any one verifying is enough.
//! A timestamp more than ten minutes old or one minute ahead is refused as stale (Bridge
//! signs every retry afresh).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use domain::KycUpdate;
use ports::{EventRejection, ProviderEventVerifier};
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use rsa::RsaPublicKey;
use sha2::{Digest as _, Sha256};

use super::events::read_event;

/// The header Bridge signs deliveries in.
pub const SIGNATURE_HEADER: &str = "X-Webhook-Signature";

/// How old a signature's timestamp may be (Bridge's recommendation).
const MAX_AGE: TimeDelta = TimeDelta::minutes(10);
/// How far ahead of our clock a timestamp may be.
const MAX_AHEAD: TimeDelta = TimeDelta::minutes(1);
/// Most `v0=` signatures read from one header. Each costs an RSA verification per
/// configured key, and the header may be up to 32 KiB (some 95 signatures): a sender could
/// otherwise buy hundreds of verifications with one request. Bridge sends one; a rotation
/// on its side could send two.
const MAX_SIGNATURES: usize = 4;

/// Why the configured public keys cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebhookKeyError {
    /// No `-----BEGIN … PUBLIC KEY-----` block was found.
    #[error("no PEM public key found (expected -----BEGIN PUBLIC KEY-----)")]
    NoKey,
    /// A block is not an RSA public key.
    #[error("PEM block {position} is not an RSA public key: {reason}")]
    Invalid {
        /// Which block, counting from 1.
        position: usize,
        /// Why.
        reason: String,
    },
}

/// Verifies Bridge's deliveries under one or more public keys.
#[derive(Clone)]
pub struct BridgeWebhookVerifier {
    keys: Vec<VerifyingKey<Sha256>>,
}

impl std::fmt::Debug for BridgeWebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeWebhookVerifier")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl BridgeWebhookVerifier {
    /// Reads every PEM block of `pem` (SubjectPublicKeyInfo `PUBLIC KEY` as Bridge gives
    /// it, or PKCS#1 `RSA PUBLIC KEY`). Text pasted with literal `\n` escapes, as Bridge's
    /// API shows keys inside JSON, is accepted too.
    pub fn from_pem(pem: &str) -> Result<Self, WebhookKeyError> {
        let text = if pem.contains("\\n") {
            pem.replace("\\n", "\n")
        } else {
            pem.to_owned()
        };
        let mut keys = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("-----BEGIN ") {
            let block = &rest[start..];
            let Some(end_marker) = block.find("-----END ") else {
                return Err(WebhookKeyError::Invalid {
                    position: keys.len() + 1,
                    reason: "the block has no END line".into(),
                });
            };
            let after_end = &block[end_marker + "-----END ".len()..];
            let end = after_end
                .find("-----")
                .map(|i| end_marker + "-----END ".len() + i + "-----".len())
                .ok_or_else(|| WebhookKeyError::Invalid {
                    position: keys.len() + 1,
                    reason: "the END line is cut short".into(),
                })?;
            keys.push(
                parse_block(&block[..end]).map_err(|reason| WebhookKeyError::Invalid {
                    position: keys.len() + 1,
                    reason,
                })?,
            );
            rest = &block[end..];
        }
        if keys.is_empty() {
            return Err(WebhookKeyError::NoKey);
        }
        Ok(Self { keys })
    }

    /// How many keys are configured.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Checks the signature header over the raw body, then the timestamp's age.
    pub fn check_signature(
        &self,
        header: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), EventRejection> {
        let invalid = |reason| EventRejection::InvalidSignature { reason };
        let header = header.ok_or(invalid("missing"))?;
        let (t, signatures) = parse_header(header).map_err(invalid)?;
        let digest = Sha256::new()
            .chain_update(t.as_bytes())
            .chain_update(b".")
            .chain_update(body)
            .finalize();
        let verified = signatures.iter().any(|signature| {
            self.keys
                .iter()
                .any(|key| key.verify(&digest, signature).is_ok())
        });
        if !verified {
            return Err(invalid("mismatch"));
        }
        let millis: i64 = t.parse().map_err(|_| invalid("malformed_header"))?;
        let signed_at =
            DateTime::<Utc>::from_timestamp_millis(millis).ok_or(invalid("malformed_header"))?;
        if now - signed_at > MAX_AGE || signed_at - now > MAX_AHEAD {
            return Err(EventRejection::Stale);
        }
        Ok(())
    }
}

fn parse_block(block: &str) -> Result<VerifyingKey<Sha256>, String> {
    let key = if block.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        RsaPublicKey::from_pkcs1_pem(block).map_err(|e| e.to_string())?
    } else if block.starts_with("-----BEGIN PUBLIC KEY-----") {
        RsaPublicKey::from_public_key_pem(block).map_err(|e| e.to_string())?
    } else {
        return Err("expected BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY".into());
    };
    Ok(VerifyingKey::new(key))
}

/// `t=<digits>,v0=<base64>[,v0=…]` (spaces after commas tolerated): the timestamp as sent
/// (it is signed as text) and the decoded signatures, at most [`MAX_SIGNATURES`] of them;
/// or why the header is refused.
fn parse_header(header: &str) -> Result<(&str, Vec<Signature>), &'static str> {
    const MALFORMED: &str = "malformed_header";
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',').map(str::trim) {
        if let Some(value) = part.strip_prefix("t=") {
            if t.is_some() || value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(MALFORMED);
            }
            t = Some(value);
        } else if let Some(value) = part.strip_prefix("v0=") {
            if signatures.len() == MAX_SIGNATURES {
                return Err("too_many_signatures");
            }
            let bytes = STANDARD.decode(value).map_err(|_| MALFORMED)?;
            signatures.push(Signature::try_from(bytes.as_slice()).map_err(|_| MALFORMED)?);
        }
        // Other schemes Bridge may add later are ignored.
    }
    match (t, signatures.is_empty()) {
        (Some(t), false) => Ok((t, signatures)),
        _ => Err(MALFORMED),
    }
}

impl ProviderEventVerifier for BridgeWebhookVerifier {
    fn provider(&self) -> &'static str {
        "bridge"
    }

    fn verify(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<KycUpdate, EventRejection> {
        self.check_signature(signature, body, now)?;
        read_event(body)
    }
}

#[cfg(test)]
mod tests;
