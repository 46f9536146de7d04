//! Bridge-style webhook signing for tests, with committed test-only key pairs (generating
//! RSA keys in a debug build takes seconds): `X-Webhook-Signature: t=<ms>,v0=<base64>`,
//! RSA PKCS#1 v1.5 SHA-256 over the SHA-256 digest of `<t>.<body>`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::RsaPrivateKey;
use sha2::{Digest as _, Sha256};

/// The public half of the main test key (SubjectPublicKeyInfo PEM, as Bridge gives keys).
pub const TEST_PUBLIC_KEY: &str = include_str!("../keys/bridge_webhook_test.pub.pem");
/// The same public key in PKCS#1 form (`BEGIN RSA PUBLIC KEY`).
pub const TEST_PUBLIC_KEY_PKCS1: &str = include_str!("../keys/bridge_webhook_test.pkcs1.pub.pem");
/// The public half of a second, unrelated test key.
pub const OTHER_PUBLIC_KEY: &str = include_str!("../keys/other_test.pub.pem");

const TEST_PRIVATE_KEY: &str = include_str!("../keys/bridge_webhook_test.key.pem");
const OTHER_PRIVATE_KEY: &str = include_str!("../keys/other_test.key.pem");

/// Which test key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKey {
    /// The key of [`TEST_PUBLIC_KEY`].
    Main,
    /// The key of [`OTHER_PUBLIC_KEY`].
    Other,
}

/// The `X-Webhook-Signature` value for `body` signed at `t_millis` with `key`.
pub fn sign_bridge_webhook(key: TestKey, t_millis: i64, body: &[u8]) -> String {
    let pem = match key {
        TestKey::Main => TEST_PRIVATE_KEY,
        TestKey::Other => OTHER_PRIVATE_KEY,
    };
    let private = RsaPrivateKey::from_pkcs8_pem(pem).expect("a valid test key");
    let digest = Sha256::new()
        .chain_update(t_millis.to_string().as_bytes())
        .chain_update(b".")
        .chain_update(body)
        .finalize();
    let signature = SigningKey::<Sha256>::new(private).sign(&digest);
    format!("t={t_millis},v0={}", STANDARD.encode(signature.to_bytes()))
}
