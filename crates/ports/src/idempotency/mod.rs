//! Idempotent requests (the IETF `Idempotency-Key` draft, as Stripe applies it): the key's
//! value types, the store port that records each key's life, and the rules that decide what
//! a second request with a key comes to. The service that drives them, and hands the create
//! use cases their reservation, is in `service`.
//!
//! A key's life: `begin` records it as in progress with a lease, before any side effect, and
//! reserves the id of the row the request will create. The request then either creates its
//! row and completes the key in that same transaction (so there is never a row without its
//! key's outcome, nor an outcome without its row), completes it without a row (an outcome
//! such as `409 customer_exists` that is stored), or releases it (an outcome that is not
//! stored, such as a `502`): a released key keeps its reserved id and may be taken over, so a
//! retry creates the same row under the same id. A lease that runs out (the holder crashed)
//! lets the next request take the key over the same way.

mod service;

pub use service::{HeldKey, Idempotency, IdempotencyPolicy, Renderer, Reservation, Started};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{AccountId, CustomerId};
use uuid::Uuid;

use crate::RepositoryError;

/// A client's idempotency key: 1–255 printable ASCII characters (space included).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key accepted.
    pub const MAX_CHARS: usize = 255;

    /// Reads a header value: the bare key (`abc`, as Stripe's clients send it), or the
    /// draft's structured-field string (`"abc"`, with `\"` and `\\` escapes), which is the
    /// same key. Spaces and tabs around the value are not part of it (RFC 9110 §5.5).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim_matches([' ', '\t']);
        let key = if raw.starts_with('"') {
            unquote(raw).ok_or_else(|| {
                "must be a quoted string (\"…\", with \\\" and \\\\ escapes) or a bare key"
                    .to_owned()
            })?
        } else {
            raw.to_owned()
        };
        if key.is_empty() {
            return Err("must not be empty".into());
        }
        if !key.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            return Err("must be printable ASCII".into());
        }
        if key.len() > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        Ok(Self(key))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The inside of an RFC 8941 string (`"…"`), or `None` when `raw` is not exactly one.
fn unquote(raw: &str) -> Option<String> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                c @ ('"' | '\\') => out.push(c),
                _ => return None,
            },
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// Which request a key belongs to: the same key from another account, or on another
/// operation or path, is another request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyScope {
    /// The caller.
    pub account: AccountId,
    /// The request method, e.g. `POST`.
    pub method: String,
    /// The concrete path, e.g. `/customer/0b5e…/kyc` (not the route template).
    pub path: String,
    /// The client's key.
    pub key: IdempotencyKey,
}

/// What identifies a request's content: a digest of its body in canonical form (whitespace
/// and key order do not matter), as lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of a SHA-256 digest.
    pub fn from_sha256(digest: [u8; 32]) -> Self {
        Self(hex::encode(digest))
    }

    /// A fingerprint as stored; `None` unless it is 64 lower-case hex digits.
    pub fn from_stored(hex: &str) -> Option<Self> {
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(hex.to_owned()))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A finished request's answer, as it is replayed: the status, the headers that matter and
/// the body, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// `Content-Type`, if the answer has a body.
    pub content_type: Option<String>,
    /// `Location`, if the answer names a new resource.
    pub location: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A key's state as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// A request holds the key while its lease lasts.
    InProgress,
    /// The last holder's outcome was not stored: the next request with the key takes over.
    Released,
    /// The outcome is stored and replayed.
    Completed,
    /// The outcome showed a customer who has since been erased: it was deleted with the
    /// customer, and a retry is answered "gone" rather than run again.
    Erased,
}

impl KeyState {
    /// The stored spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Released => "released",
            Self::Completed => "completed",
            Self::Erased => "erased",
        }
    }
}

impl std::str::FromStr for KeyState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "in_progress" => Ok(Self::InProgress),
            "released" => Ok(Self::Released),
            "completed" => Ok(Self::Completed),
            "erased" => Ok(Self::Erased),
            other => Err(format!("unknown idempotency key state {other:?}")),
        }
    }
}

/// A request's claim on its key, with everything the store writes if the key is new (or
/// expired, which counts as new).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    /// The key.
    pub scope: IdempotencyScope,
    /// The request's content.
    pub fingerprint: Fingerprint,
    /// The id reserved for the row the request creates, if the key is new.
    pub candidate_id: Uuid,
    /// The time of the claim.
    pub now: DateTime<Utc>,
    /// Until when the request holds the key.
    pub lease_until: DateTime<Utc>,
    /// When a new record may be forgotten.
    pub expires_at: DateTime<Utc>,
}

/// A key as recorded, as far as [`KeyClaim::verdict`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedKey {
    /// The content of the request that recorded it.
    pub fingerprint: Fingerprint,
    /// Its state.
    pub state: KeyState,
    /// Until when its holder's lease lasts (in progress only).
    pub locked_until: Option<DateTime<Utc>>,
    /// When it may be forgotten.
    pub expires_at: DateTime<Utc>,
}

impl RecordedKey {
    /// Whether a holder's lease still lasts at `now`.
    pub fn is_leased(&self, now: DateTime<Utc>) -> bool {
        self.state == KeyState::InProgress && self.locked_until.is_some_and(|until| until > now)
    }

    /// Whether the record counts as absent at `now`: past its expiry and not held. The
    /// periodic purge deletes exactly these.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now && !self.is_leased(now)
    }
}

/// What a claim on a recorded key comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The record has expired: replace it with the claim, as if the key were new.
    Replace,
    /// Same content, not held: take the key over, keeping its reserved id.
    TakeOver,
    /// Same content, finished: replay the stored outcome.
    Replay,
    /// Same content, but the customer it created or changed was erased since.
    Gone,
    /// Other content under the same key.
    Mismatch,
    /// Same content, still held by a request whose lease lasts.
    InProgress,
}

impl KeyClaim {
    /// The rules for a second request with a key, decided here so that every store
    /// applies the same ones (inside the transaction that holds the record).
    pub fn verdict(&self, recorded: &RecordedKey) -> Verdict {
        if recorded.is_expired(self.now) {
            Verdict::Replace
        } else if recorded.fingerprint != self.fingerprint {
            Verdict::Mismatch
        } else if recorded.state == KeyState::Erased {
            Verdict::Gone
        } else if recorded.state == KeyState::Completed {
            Verdict::Replay
        } else if recorded.is_leased(self.now) {
            Verdict::InProgress
        } else {
            Verdict::TakeOver
        }
    }
}

/// What `begin` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// A new key, now held: the request runs, creating its row under `reserved_id` (the
    /// claim's candidate).
    Fresh {
        /// The id of the row the request creates.
        reserved_id: Uuid,
    },
    /// A key released by, or whose lease ran out on, an earlier request with the same
    /// content, now held: the request runs again under the same reserved id.
    Resume {
        /// The id of the row the request creates (the earlier request's).
        reserved_id: Uuid,
    },
    /// The outcome of an earlier request with the same content.
    Replay(StoredResponse),
    /// An earlier request with the same content created or changed a customer who has
    /// since been erased: its outcome is gone with the customer, and the request must not
    /// run again.
    Gone,
    /// The key was used for a request with other content.
    Mismatch,
    /// An earlier request with the key is still running.
    InProgress,
}

/// A key's outcome, stored with it. The store writes it only while the key is still held
/// under the lease `key.lease_until`, so a request that outlived its lease cannot overwrite
/// the outcome of the request that took the key over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyCompletion {
    /// The key, as held.
    pub key: HeldKey,
    /// The answer to replay.
    pub response: StoredResponse,
    /// The customer the outcome names, if any (so that erasing a customer can find the
    /// stored answers that show it).
    pub customer_id: Option<CustomerId>,
    /// When the outcome may be forgotten.
    pub expires_at: DateTime<Utc>,
}

/// Where keys are recorded.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Records the claim's key as in progress if it is new (or expired); otherwise applies
    /// [`KeyClaim::verdict`] to the record — taking it over under the claim's lease when the
    /// verdict says so. Atomic: of concurrent claims on one key, exactly one holds it.
    async fn begin(&self, claim: &KeyClaim) -> Result<Begun, RepositoryError>;

    /// Stores an outcome that created no row (such as `409 customer_exists`). Returns
    /// `false`, changing nothing, when the key is no longer held under that lease.
    async fn complete(&self, completion: &IdempotencyCompletion) -> Result<bool, RepositoryError>;

    /// Lets the key go without storing an outcome; the record and its reserved id stay, for
    /// the next request with the key to take over. Returns `false`, changing nothing, when
    /// the key is no longer held under that lease.
    async fn release(&self, key: &HeldKey) -> Result<bool, RepositoryError>;

    /// Deletes the records expired at `now` ([`RecordedKey::is_expired`]); returns how many.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError>;
}

#[cfg(test)]
mod tests;
