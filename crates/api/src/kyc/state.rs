//! The `state` that `GET /tos/complete` trusts instead of a bearer token: the customer id
//! and an expiry, signed with HMAC-SHA256 under a key derived from the token secret with
//! its own label (so a state and a token can never stand in for each other, and rotating
//! the token secret retires outstanding states too).
//!
//! Form: `{customer id, 32 hex}.{expiry, unix seconds}.{HMAC-SHA256 of the first two
//! parts joined by a dot, 64 hex}`.

use chrono::{DateTime, TimeDelta, Utc};
use domain::CustomerId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// How long a terms-of-service link's `state` is accepted.
pub const TOS_STATE_TTL: TimeDelta = TimeDelta::hours(24);

/// The label the state key is derived under.
const LABEL: &[u8] = b"customer-onboarding/tos-state/v1";

/// Why a `state` is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not of the state's form.
    #[error("is not a state this service issued")]
    Malformed,
    /// The signature does not match.
    #[error("is not a state this service issued")]
    Forged,
    /// Older than [`TOS_STATE_TTL`].
    #[error("has expired: ask for a new terms-of-service link")]
    Expired,
}

/// The key that signs and checks states: an HMAC-SHA256 instance keyed once, at start-up,
/// and cloned for each state.
#[derive(Clone)]
pub struct TosStateKey(Hmac<Sha256>);

impl std::fmt::Debug for TosStateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TosStateKey(<redacted>)")
    }
}

impl TosStateKey {
    /// Derives the key from the token secret: HMAC-SHA256(secret, label). (HMAC takes a
    /// key of any length, so this fails only if the library changes its mind.)
    pub fn derive(token_secret: &[u8]) -> anyhow::Result<Self> {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(token_secret)?;
        derive.update(LABEL);
        let key = derive.finalize().into_bytes();
        Ok(Self(<Hmac<Sha256> as Mac>::new_from_slice(&key)?))
    }

    fn signer(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(payload.as_bytes());
        mac
    }

    /// A state naming `customer`, valid until `expires_at`.
    pub fn sign(&self, customer: CustomerId, expires_at: DateTime<Utc>) -> String {
        let payload = format!("{}.{}", customer.0.simple(), expires_at.timestamp());
        let signature = hex::encode(self.signer(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The customer a state names, if this key signed it and it has not expired at `now`.
    pub fn verify(&self, state: &str, now: DateTime<Utc>) -> Result<CustomerId, StateError> {
        let mut parts = state.split('.');
        let (Some(id), Some(expiry), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StateError::Malformed);
        };
        let customer = Uuid::try_parse(id).map_err(|_| StateError::Malformed)?;
        let expires = expiry.parse::<i64>().map_err(|_| StateError::Malformed)?;
        let signature = hex::decode(signature).map_err(|_| StateError::Malformed)?;
        // Checked before the expiry so that nothing is learnt from an unsigned state.
        self.signer(&format!("{id}.{expiry}"))
            .verify_slice(&signature)
            .map_err(|_| StateError::Forged)?;
        if now.timestamp() > expires {
            return Err(StateError::Expired);
        }
        Ok(CustomerId(customer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TosStateKey {
        TosStateKey::derive(b"test-secret-test-secret-test-secret!").unwrap()
    }

    #[test]
    fn a_signed_state_names_its_customer_until_it_expires() {
        let customer = CustomerId(Uuid::from_u128(9));
        let now = Utc::now();
        let state = key().sign(customer, now + TOS_STATE_TTL);
        assert_eq!(key().verify(&state, now), Ok(customer));
        assert_eq!(key().verify(&state, now + TOS_STATE_TTL), Ok(customer));
        assert_eq!(
            key().verify(&state, now + TOS_STATE_TTL + TimeDelta::seconds(1)),
            Err(StateError::Expired)
        );
    }

    #[test]
    fn a_changed_or_foreign_state_is_refused() {
        let customer = CustomerId(Uuid::from_u128(9));
        let now = Utc::now();
        let state = key().sign(customer, now + TOS_STATE_TTL);
        let other = CustomerId(Uuid::from_u128(10)).0.simple().to_string();
        let moved = format!("{other}{}", &state[32..]);
        assert_eq!(key().verify(&moved, now), Err(StateError::Forged));
        let later = state.replacen(
            &format!(".{}.", (now + TOS_STATE_TTL).timestamp()),
            ".99999999999.",
            1,
        );
        assert_eq!(key().verify(&later, now), Err(StateError::Forged));
        let foreign = TosStateKey::derive(b"another-secret-another-secret-another").unwrap();
        assert_eq!(foreign.verify(&state, now), Err(StateError::Forged));
        for bad in [
            "",
            "a.b.c",
            "x",
            &format!("{state}.x"),
            &state.replace('.', "-"),
        ] {
            assert_eq!(key().verify(bad, now), Err(StateError::Malformed), "{bad}");
        }
    }

    #[test]
    fn a_state_is_not_signed_with_the_token_secret_itself() {
        let secret = b"test-secret-test-secret-test-secret!";
        let state = key().sign(CustomerId(Uuid::from_u128(9)), Utc::now() + TOS_STATE_TTL);
        let (payload, signature) = state.rsplit_once('.').unwrap();
        let mut direct = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap();
        direct.update(payload.as_bytes());
        assert_ne!(hex::encode(direct.finalize().into_bytes()), signature);
        assert_eq!(format!("{:?}", key()), "TosStateKey(<redacted>)");
    }
}
