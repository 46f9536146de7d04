//! Standard Webhooks signatures (symmetric scheme `v1`): HMAC-SHA256, keyed with the bytes
//! the `whsec_` secret encodes, over `{webhook-id}.{webhook-timestamp}.{body}`, in standard
//! base64. During a rotation the header lists one signature per secret, space-separated;
//! a receiver accepts the request when any of them verifies.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use domain::SigningSecret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// One `v1,<base64>` signature.
pub fn sign(secret: &SigningSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = secret.key();
    // HMAC takes a key of any length; this arm cannot be reached.
    let Ok(mut mac) = HmacSha256::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header value: a signature by each secret, in order.
pub fn signature_header(
    secrets: &[SigningSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| sign(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference libraries' test vector (the specification itself has none).
    #[test]
    fn the_reference_test_vector_signs_as_the_reference_libraries_do() {
        let secret = SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let signature = sign(
            &secret,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        );
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn the_header_carries_one_signature_per_secret_space_separated() {
        let a = SigningSecret::from_key(&[1; 32]);
        let b = SigningSecret::from_key(&[2; 32]);
        let header = signature_header(&[a.clone(), b.clone()], "evt_1", 10, b"{}");
        assert_eq!(
            header,
            format!(
                "{} {}",
                sign(&a, "evt_1", 10, b"{}"),
                sign(&b, "evt_1", 10, b"{}")
            )
        );
        assert_ne!(sign(&a, "evt_1", 10, b"{}"), sign(&a, "evt_1", 11, b"{}"));
    }
}
