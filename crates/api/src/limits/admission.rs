//! Lanes of processing slots, and the guards that count a request while it waits for a slot
//! and while it holds one.
//!
//! Every count is kept by a guard whose `Drop` undoes it, so that it is undone however the
//! request ends: answered, refused, or dropped mid-wait because its client went away (actix
//! then drops the request's future at whatever `.await` it had reached). Counts undone only
//! after an `.await` would leak on each such drop, until the queue looked full for good.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Registry};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::LimitSettings;
use crate::error::ApiError;

/// A number of processing slots, and optionally a bounded queue in front of them.
pub(super) struct Lane {
    slots: Semaphore,
    /// `None`: refused at once when every slot is busy.
    queue: Option<Queue>,
    in_flight: IntGauge,
    /// Refused because every slot was busy and the queue (if any) full.
    full: IntCounter,
    /// The answer to a refused request.
    refusal: fn() -> ApiError,
}

/// Requests waiting for a slot of a lane.
struct Queue {
    max: usize,
    max_wait: Duration,
    waiting: AtomicUsize,
    gauge: IntGauge,
    wait_seconds: Histogram,
    timed_out: IntCounter,
    /// `None`: the queue is used whatever its waits.
    standing: Option<Standing>,
    /// Refused at once because the queue was standing.
    bypassed: IntCounter,
}

/// How long every request leaving the queue must have waited longer than the target
/// before the queue counts as standing, and how long the slots must go without a request
/// finding them all busy before it no longer does: CoDel's interval.
pub(super) const STANDING_INTERVAL: Duration = Duration::from_millis(100);

/// The queue's sojourn rule, CoDel's as "Fail at Scale" (Facebook, 2015) applies it to a
/// server's request queue. A queue that absorbs a burst serves everyone; a queue that
/// stays full under sustained overload serves no one better — each request it admits
/// spends its wait there and then runs on a busier machine, and the refused client comes
/// back anyway. So when every request that left the queue for a slot over a whole
/// [`STANDING_INTERVAL`] had waited longer than `target`, the queue is *standing*, and a
/// request that finds every slot busy is refused at once instead of queued; once a whole
/// interval passes without any request finding every slot busy, the queue is used again.
/// Times are microseconds since `origin`, so that the state is a few atomics.
pub(super) struct Standing {
    target: Duration,
    origin: Instant,
    /// Since when every request leaving the queue had waited longer than `target`
    /// (`NEVER`: the last one had not).
    above_since: AtomicU64,
    /// When a request last found every slot busy (`NEVER`: not yet).
    last_full: AtomicU64,
    standing: AtomicBool,
}

/// No such moment.
const NEVER: u64 = u64::MAX;

impl Standing {
    pub(super) fn new(target: Duration, origin: Instant) -> Self {
        Self {
            target,
            origin,
            above_since: AtomicU64::new(NEVER),
            last_full: AtomicU64::new(NEVER),
            standing: AtomicBool::new(false),
        }
    }

    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_micros()).unwrap_or(NEVER - 1)
    }

    /// A request left the queue at `now` after waiting `waited` (for a slot, or until it
    /// was refused at the end of its wait).
    pub(super) fn left_queue(&self, now: Instant, waited: Duration) {
        let now = self.micros(now);
        if waited <= self.target {
            self.above_since.store(NEVER, Ordering::Relaxed);
            return;
        }
        let since = match self.above_since.compare_exchange(
            NEVER,
            now,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => now,
            Err(since) => since,
        };
        if now.saturating_sub(since) >= interval_micros() {
            self.standing.store(true, Ordering::Relaxed);
        }
    }

    /// A request found every slot busy at `now`: whether to refuse it at once rather than
    /// queue it.
    pub(super) fn refuse_at_once(&self, now: Instant) -> bool {
        let now = self.micros(now);
        let previous = self.last_full.swap(now, Ordering::Relaxed);
        if !self.standing.load(Ordering::Relaxed) {
            return false;
        }
        let quiet = previous == NEVER || now.saturating_sub(previous) >= interval_micros();
        if quiet {
            // The slots had room for a whole interval: the overload is over.
            self.standing.store(false, Ordering::Relaxed);
            self.above_since.store(NEVER, Ordering::Relaxed);
            return false;
        }
        true
    }
}

fn interval_micros() -> u64 {
    u64::try_from(STANDING_INTERVAL.as_micros()).unwrap_or(u64::MAX)
}

impl Lane {
    /// The general lane: `max_in_flight` slots, `max_queued` requests waiting at most
    /// `max_queue_wait` each, refused with `503 service_unavailable`.
    pub fn general(
        settings: &LimitSettings,
        refused: &IntCounterVec,
        registry: &Registry,
    ) -> prometheus::Result<Self> {
        let in_flight = IntGauge::new(
            "http_requests_in_flight",
            "Requests being processed (logins, KYC uploads and the operations endpoints not counted)",
        )?;
        let gauge = IntGauge::new(
            "http_requests_queued",
            "Requests waiting for a processing slot",
        )?;
        let wait_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "http_request_queue_seconds",
                "Time admitted requests waited for a processing slot",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            ]),
        )?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(gauge.clone()))?;
        registry.register(Box::new(wait_seconds.clone()))?;
        Ok(Self {
            slots: Semaphore::new(settings.max_in_flight.max(1)),
            queue: Some(Queue {
                max: settings.max_queued,
                max_wait: settings.max_queue_wait,
                waiting: AtomicUsize::new(0),
                gauge,
                wait_seconds,
                timed_out: refused.get_metric_with_label_values(&["queue_timeout"])?,
                standing: settings
                    .queue_target_wait
                    .map(|target| Standing::new(target, Instant::now())),
                bypassed: refused.get_metric_with_label_values(&["queue_standing"])?,
            }),
            in_flight,
            full: refused.get_metric_with_label_values(&["queue_full"])?,
            refusal: ApiError::service_unavailable,
        })
    }

    /// The login lane: `max` slots and no queue, refused with `refusal`.
    pub fn logins(
        max: usize,
        refusal: fn() -> ApiError,
        refused: &IntCounterVec,
        registry: &Registry,
    ) -> prometheus::Result<Self> {
        let in_flight = IntGauge::new("http_logins_in_flight", "Logins being processed")?;
        registry.register(Box::new(in_flight.clone()))?;
        Ok(Self {
            slots: Semaphore::new(max.max(1)),
            queue: None,
            in_flight,
            full: refused.get_metric_with_label_values(&["logins_busy"])?,
            refusal,
        })
    }

    /// A slot: at once, or after a wait in the queue; `None` (counted) when refused.
    pub async fn enter(&self) -> Option<Slot<'_>> {
        if let Ok(permit) = self.slots.try_acquire() {
            if let Some(queue) = &self.queue {
                queue.wait_seconds.observe(0.0);
            }
            return Some(Slot::new(permit, &self.in_flight));
        }
        let started = Instant::now();
        if let Some(queue) = &self.queue {
            if queue
                .standing
                .as_ref()
                .is_some_and(|standing| standing.refuse_at_once(started))
            {
                queue.bypassed.inc();
                return None;
            }
        }
        let Some(waiting) = self.queue.as_ref().and_then(Queue::join) else {
            self.full.inc();
            return None;
        };
        let queue = waiting.0;
        let entered = actix_web::rt::time::timeout(queue.max_wait, self.slots.acquire()).await;
        let now = Instant::now();
        let waited = now.saturating_duration_since(started);
        if let Some(standing) = &queue.standing {
            standing.left_queue(now, waited);
        }
        match entered {
            Ok(Ok(permit)) => {
                queue.wait_seconds.observe(waited.as_secs_f64());
                Some(Slot::new(permit, &self.in_flight))
            }
            _ => {
                queue.timed_out.inc();
                None
            }
        }
    }

    /// The answer to a request this lane refused.
    pub fn refusal(&self) -> ApiError {
        (self.refusal)()
    }
}

impl Queue {
    /// A place in the queue, or `None` when it is full. Counted before the check, so that
    /// concurrent arrivals cannot overfill it, and uncounted at once when it was full.
    fn join(&self) -> Option<Waiting<'_>> {
        let ahead = self.waiting.fetch_add(1, Ordering::AcqRel);
        if ahead >= self.max {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        self.gauge.inc();
        Some(Waiting(self))
    }
}

/// A request counted as waiting in a queue until it is dropped.
struct Waiting<'a>(&'a Queue);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
        self.0.gauge.dec();
    }
}

/// A processing slot, counted in its lane's gauge until it is dropped.
pub(super) struct Slot<'a> {
    _permit: SemaphorePermit<'a>,
    in_flight: &'a IntGauge,
}

impl<'a> Slot<'a> {
    fn new(permit: SemaphorePermit<'a>, in_flight: &'a IntGauge) -> Self {
        in_flight.inc();
        Self {
            _permit: permit,
            in_flight,
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.in_flight.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: Duration = Duration::from_millis(5);
    const LONG: Duration = Duration::from_millis(20);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A request that finds every slot busy at `t0 + at`, queues and leaves the queue
    /// after `waited`: whether it was refused at once instead.
    fn busy_arrival(rule: &Standing, t0: Instant, at: Duration, waited: Duration) -> bool {
        if rule.refuse_at_once(t0 + at) {
            return true;
        }
        rule.left_queue(t0 + at + waited, waited);
        false
    }

    #[test]
    fn waits_above_the_target_for_a_whole_interval_make_the_queue_standing() {
        let t0 = Instant::now();
        let rule = Standing::new(TARGET, t0);
        // Every 10 ms a request finds the slots busy and waits 20 ms for one.
        let refused: Vec<bool> = (0..20)
            .map(|i| busy_arrival(&rule, t0, ms(10 * i), LONG))
            .collect();
        // Waits above the target from 20 ms on; a whole interval later (120 ms) it stands.
        let first_refused = refused.iter().position(|r| *r).unwrap();
        assert_eq!(first_refused, 11, "{refused:?}");
        assert!(refused[first_refused..].iter().all(|r| *r), "{refused:?}");
    }

    #[test]
    fn a_burst_that_drains_within_the_target_never_makes_it_stand() {
        let t0 = Instant::now();
        let rule = Standing::new(TARGET, t0);
        for i in 0..50 {
            // Long waits, but every fourth request gets a slot within the target.
            let waited = if i % 4 == 3 { ms(1) } else { LONG };
            assert!(!busy_arrival(&rule, t0, ms(10 * i), waited), "request {i}");
        }
    }

    #[test]
    fn the_queue_is_used_again_once_the_slots_had_room_for_an_interval() {
        let t0 = Instant::now();
        let rule = Standing::new(TARGET, t0);
        for i in 0..15 {
            busy_arrival(&rule, t0, ms(10 * i), LONG);
        }
        assert!(rule.refuse_at_once(t0 + ms(150)), "standing under overload");
        // Refusals alone keep it standing: the overload has not passed.
        assert!(rule.refuse_at_once(t0 + ms(240)));
        // Then nobody finds the slots busy for a whole interval.
        assert!(
            !rule.refuse_at_once(t0 + ms(340)),
            "the overload has passed"
        );
        // A short wait does not bring the standing back…
        assert!(!busy_arrival(&rule, t0, ms(350), LONG));
        assert!(!rule.refuse_at_once(t0 + ms(380)));
        // …only another whole interval of long waits does.
        for i in 0..12 {
            busy_arrival(&rule, t0, ms(400 + 10 * i), LONG);
        }
        assert!(rule.refuse_at_once(t0 + ms(520)));
    }
}
