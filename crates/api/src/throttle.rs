//! The failed-login throttle: failures counted in a fixed window per account, per
//! (account, client address) and per client address, with attempts in flight holding a slot
//! so that parallel guesses cannot slip past a limit.
//!
//! The per-(account, address) limit is the low one: it stops a guesser at one address early.
//! The per-account limit is much higher, so that someone who knows an account id cannot lock
//! its owner out cheaply (they need that many failures, from any number of addresses), while
//! guessing from many addresses is still bounded. The per-address limit bounds one address
//! guessing across many accounts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Limits on failed logins, counted in a fixed window per key.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// Failures allowed per account id, from any address, within `window`.
    pub per_account: u32,
    /// Failures allowed per account id from one client address within `window`.
    pub per_account_address: u32,
    /// Failures allowed per client address, for any accounts, within `window`.
    pub per_address: u32,
    /// The counting window.
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            per_account: 50,
            per_account_address: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Longest an attempt waits for a slot held by attempts in flight before it is refused.
/// Each of those is one secret verification, so a wait this long means a flood.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// Most keys kept; beyond it expired entries are swept, then the oldest idle dropped.
const MAX_KEYS: usize = 100_000;

/// One key's state.
#[derive(Debug)]
struct Count {
    /// Failed attempts in the current window.
    failures: u32,
    /// Attempts started and not yet settled.
    in_flight: u32,
    /// When the current window started.
    since: Instant,
}

/// The three keys an attempt counts against, each with its limit.
pub(crate) struct Keys([(String, u32); 3]);

impl Keys {
    fn of(settings: &ThrottleSettings, account_id: &str, address: Option<IpAddr>) -> Self {
        // One key per account however its id is spelled; one shared key for non-ids.
        let account = uuid::Uuid::parse_str(account_id.trim()).map_or_else(
            |_| "account:invalid".to_owned(),
            |id| format!("account:{id}"),
        );
        let address = match address {
            // One IPv6 holder usually has a whole /64.
            Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Some(IpAddr::V6(v6)) => format!("address:{}", v6.to_canonical()),
            Some(ip) => format!("address:{ip}"),
            None => "address:unknown".to_owned(),
        };
        Self([
            (format!("{account}|{address}"), settings.per_account_address),
            (account, settings.per_account),
            (address, settings.per_address),
        ])
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }

    /// The keys a success proves the secret for: the account's, not the address's.
    fn account_keys(&self) -> impl Iterator<Item = &str> {
        self.0[..2].iter().map(|(name, _)| name.as_str())
    }
}

/// What [`LoginThrottle::try_admit`] decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// A slot is reserved on every key.
    Admitted,
    /// A key's failures plus attempts in flight reach its limit: wait for one to settle.
    Busy,
    /// A key's failures reach its limit: refused for this many seconds.
    Refused(u32),
}

/// How an admitted attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The secret was right: the slot is given back and the account's failures forgotten.
    Succeeded,
    /// The secret was wrong: the slot becomes a failure.
    Failed,
    /// Nothing was learnt (an outage, or the client went away): the slot is given back.
    Inconclusive,
}

/// Counts failed logins per account, per (account, client address) and per client address;
/// refuses further attempts with `429` once a key is at its limit. An attempt holds a slot
/// on each key from before its secret is checked until it settles, so parallel guesses
/// cannot pass a limit; an attempt that finds every free slot held waits for one rather than
/// being refused, so parallel correct logins all succeed.
pub struct LoginThrottle {
    settings: ThrottleSettings,
    counts: Mutex<HashMap<String, Count>>,
    settled: Notify,
}

impl LoginThrottle {
    /// A throttle with these limits.
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            counts: Mutex::new(HashMap::new()),
            settled: Notify::new(),
        }
    }

    pub(crate) fn keys(&self, account_id: &str, address: Option<IpAddr>) -> Keys {
        Keys::of(&self.settings, account_id, address)
    }

    fn counts(&self) -> MutexGuard<'_, HashMap<String, Count>> {
        // Nothing panics while holding the lock; if something ever did, the counts are
        // still consistent numbers, so keep using them rather than failing open.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot on every key of `keys`, or `Err(seconds to wait)` when a key is at
    /// its failure limit (or no slot came free within [`MAX_WAIT`]).
    pub(crate) async fn admit(&self, keys: Keys) -> Result<Attempt<'_>, u32> {
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        loop {
            let mut settled = std::pin::pin!(self.settled.notified());
            // Registered before looking, so a settlement in between is not missed.
            settled.as_mut().enable();
            match self.try_admit(&keys) {
                Admission::Admitted => {
                    return Ok(Attempt {
                        throttle: self,
                        keys,
                        settled: false,
                    })
                }
                Admission::Refused(wait) => return Err(wait),
                Admission::Busy => {}
            }
            if tokio::time::timeout_at(deadline, settled).await.is_err() {
                return Err(1);
            }
        }
    }

    /// Reserves a slot on every key if none is at its limit.
    pub(crate) fn try_admit(&self, keys: &Keys) -> Admission {
        let window = self.settings.window;
        let mut counts = self.counts();
        let mut busy = false;
        for (key, limit) in &keys.0 {
            let Some(count) = counts.get(key) else {
                continue;
            };
            let elapsed = count.since.elapsed();
            let failures = if elapsed < window { count.failures } else { 0 };
            if failures >= *limit {
                let wait = window.saturating_sub(elapsed);
                return Admission::Refused(
                    u32::try_from(wait.as_secs()).unwrap_or(u32::MAX).max(1),
                );
            }
            busy |= failures + count.in_flight >= *limit;
        }
        if busy {
            return Admission::Busy;
        }
        make_room(&mut counts, window, keys.0.len());
        for key in keys.names() {
            let count = counts.entry(key.to_owned()).or_insert_with(|| Count {
                failures: 0,
                in_flight: 0,
                since: Instant::now(),
            });
            if count.since.elapsed() >= window {
                count.failures = 0;
                count.since = Instant::now();
            }
            count.in_flight += 1;
        }
        Admission::Admitted
    }

    fn settle(&self, keys: &Keys, outcome: Outcome) {
        let window = self.settings.window;
        {
            let mut counts = self.counts();
            for key in keys.names() {
                let Some(count) = counts.get_mut(key) else {
                    continue;
                };
                count.in_flight = count.in_flight.saturating_sub(1);
                if outcome == Outcome::Failed {
                    if count.since.elapsed() >= window {
                        count.failures = 0;
                        count.since = Instant::now();
                    }
                    count.failures += 1;
                }
            }
            if outcome == Outcome::Succeeded {
                for key in keys.account_keys() {
                    if let Some(count) = counts.get_mut(key) {
                        count.failures = 0;
                    }
                }
            }
            for key in keys.names() {
                if counts
                    .get(key)
                    .is_some_and(|c| c.failures == 0 && c.in_flight == 0)
                {
                    counts.remove(key);
                }
            }
        }
        self.settled.notify_waiters();
    }
}

/// Keeps the map under [`MAX_KEYS`]: expired idle entries go first, then the oldest idle.
fn make_room(counts: &mut HashMap<String, Count>, window: Duration, needed: usize) {
    if counts.len() + needed <= MAX_KEYS {
        return;
    }
    counts.retain(|_, c| c.in_flight > 0 || c.since.elapsed() < window);
    while counts.len() + needed > MAX_KEYS {
        let oldest = counts
            .iter()
            .filter(|(_, c)| c.in_flight == 0)
            .min_by_key(|(_, c)| c.since)
            .map(|(key, _)| key.clone());
        match oldest {
            Some(key) => counts.remove(&key),
            None => break,
        };
    }
}

/// An admitted login attempt holding a slot on each of its keys. Settle it with
/// [`Attempt::succeeded`] or [`Attempt::failed`]; dropped unsettled (an outage, or the
/// client went away and the handler was cancelled) it gives its slots back as if it had never
/// happened.
pub(crate) struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    keys: Keys,
    settled: bool,
}

impl Attempt<'_> {
    /// The secret was right.
    pub(crate) fn succeeded(mut self) {
        self.settled = true;
        self.throttle.settle(&self.keys, Outcome::Succeeded);
    }

    /// The secret (or account) was wrong.
    pub(crate) fn failed(mut self) {
        self.settled = true;
        self.throttle.settle(&self.keys, Outcome::Failed);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.settle(&self.keys, Outcome::Inconclusive);
        }
    }
}

#[cfg(test)]
mod tests;
