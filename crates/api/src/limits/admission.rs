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

/// CoDel's interval: how long every request leaving the queue must have waited longer than
/// the target before the queue counts as standing, and the span over which the requests that
/// find every slot busy are counted.
pub(super) const STANDING_INTERVAL: Duration = Duration::from_millis(100);

/// The queue's sojourn rule, CoDel's as "Fail at Scale" (Facebook, 2015) applies it to a
/// server's request queue. A queue that absorbs a burst serves everyone; a queue that
/// stays full under sustained overload serves no one better — each request it admits
/// spends its wait there and then runs on a busier machine, and the refused client comes
/// back anyway. The queue is *standing* when, over a whole [`STANDING_INTERVAL`], every
/// request that left it had waited longer than `target` **and** more requests found every
/// slot busy in an interval than the queue holds (`absorbable`): then a request that finds
/// every slot busy is refused at once instead of queued. It stops standing at the end of
/// the first interval in which fewer requests than that found every slot busy — the queue
/// could have taken them all — or after a whole interval in which none did. Times are
/// microseconds since `origin`, so that the state is a few atomics.
pub(super) struct Standing {
    target: Duration,
    absorbable: u64,
    origin: Instant,
    /// Since when every request leaving the queue had waited longer than `target`
    /// (`NEVER`: the last one had not, or the overflow ended since).
    above_since: AtomicU64,
    /// When the current interval of counting started (`NEVER`: none yet).
    interval_start: AtomicU64,
    /// Requests that found every slot busy in the current interval.
    busy: AtomicU64,
    /// Whether the last whole interval had more such requests than the queue holds.
    overflowing: AtomicBool,
    standing: AtomicBool,
}

/// No such moment.
const NEVER: u64 = u64::MAX;

impl Standing {
    /// The rule for a queue of `absorbable` places and a target wait of `target`.
    pub(super) fn new(target: Duration, absorbable: usize, origin: Instant) -> Self {
        Self {
            target,
            absorbable: u64::try_from(absorbable).unwrap_or(u64::MAX),
            origin,
            above_since: AtomicU64::new(NEVER),
            interval_start: AtomicU64::new(NEVER),
            busy: AtomicU64::new(0),
            overflowing: AtomicBool::new(false),
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
        if now.saturating_sub(since) >= interval_micros()
            && self.overflowing.load(Ordering::Relaxed)
        {
            self.standing.store(true, Ordering::Relaxed);
        }
    }

    /// A request found every slot busy at `now`: whether to refuse it at once rather than
    /// queue it.
    pub(super) fn refuse_at_once(&self, now: Instant) -> bool {
        let now = self.micros(now);
        let start = self.interval_start.load(Ordering::Relaxed);
        let elapsed = now.saturating_sub(start);
        if (start == NEVER || elapsed >= interval_micros())
            && self
                .interval_start
                .compare_exchange(start, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            // The interval is over: was its overflow more than the queue could take? After
            // a whole interval with no overflow at all, it was not, whatever came before.
            let busy = self.busy.swap(0, Ordering::Relaxed);
            let quiet = start == NEVER || elapsed >= 2 * interval_micros();
            let overflowing = !quiet && busy >= self.absorbable;
            self.overflowing.store(overflowing, Ordering::Relaxed);
            if !overflowing {
                self.standing.store(false, Ordering::Relaxed);
                self.above_since.store(NEVER, Ordering::Relaxed);
            }
        }
        self.busy.fetch_add(1, Ordering::Relaxed);
        self.standing.load(Ordering::Relaxed)
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
                    .map(|target| Standing::new(target, settings.max_queued, Instant::now())),
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
    const SHORT: Duration = Duration::from_millis(1);
    /// A queue of four places: four requests finding every slot busy in an interval are
    /// more than it takes.
    const PLACES: usize = 4;

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

    /// Requests finding every slot busy every `every` ms from `from` to `to` (excluded),
    /// each waiting `waited`: which of them were refused at once.
    fn arrivals(
        rule: &Standing,
        t0: Instant,
        (from, to, every): (u64, u64, u64),
        waited: Duration,
    ) -> Vec<bool> {
        (from..to)
            .step_by(usize::try_from(every).unwrap())
            .map(|at| busy_arrival(rule, t0, ms(at), waited))
            .collect()
    }

    #[test]
    fn long_waits_and_more_overflow_than_the_queue_takes_for_an_interval_make_it_stand() {
        let t0 = Instant::now();
        let rule = Standing::new(TARGET, PLACES, t0);
        // Every 10 ms (ten an interval, more than four places) a request finds the slots
        // busy and waits 20 ms for one.
        let refused = arrivals(&rule, t0, (0, 300, 10), LONG);
        let first = refused.iter().position(|r| *r).unwrap();
        // Long waits from 20 ms on, overflow counted over the first interval: standing from
        // the wait that ends at 120 ms, so the arrival at 110 ms is the first refused.
        assert_eq!(first, 11, "{refused:?}");
        assert!(refused[first..].iter().all(|r| *r), "{refused:?}");
    }

    #[test]
    fn a_burst_that_drains_within_the_target_never_makes_it_stand() {
        let t0 = Instant::now();
        let rule = Standing::new(TARGET, PLACES, t0);
        for i in 0..50 {
            // Long waits, but every fourth request gets a slot within the target.
            let waited = if i % 4 == 3 { SHORT } else { LONG };
            assert!(!busy_arrival(&rule, t0, ms(10 * i), waited), "request {i}");
        }
    }

    #[test]
    fn long_waits_of_an_overflow_the_queue_can_take_never_make_it_stand() {
        // Slow work behind the slots: every request waits long, but only three an interval
        // find the slots busy, which the queue's four places take.
        let t0 = Instant::now();
        let rule = Standing::new(TARGET, PLACES, t0);
        assert!(arrivals(&rule, t0, (0, 2000, 34), LONG).iter().all(|r| !r));
    }

    #[test]
    fn it_stops_standing_once_an_interval_overflows_less_than_the_queue_takes() {
        let t0 = Instant::now();
        let rule = Standing::new(TARGET, PLACES, t0);
        arrivals(&rule, t0, (0, 200, 10), LONG);
        assert!(rule.refuse_at_once(t0 + ms(200)), "standing under overload");
        // The load falls to near the slots' capacity: the slots are still found busy now
        // and then (two an interval), which the queue takes, so it is used again from the
        // end of the first such interval on.
        let refused = arrivals(&rule, t0, (250, 600, 50), LONG);
        assert_eq!(refused.iter().filter(|r| **r).count(), 1, "{refused:?}");
        assert!(!refused[refused.len() - 1]);
    }

    #[test]
    fn after_a_quiet_interval_neither_standing_nor_an_old_run_of_long_waits_remains() {
        let t0 = Instant::now();
        let rule = Standing::new(TARGET, PLACES, t0);
        arrivals(&rule, t0, (0, 200, 10), LONG);
        assert!(rule.refuse_at_once(t0 + ms(200)));
        // Nobody finds the slots busy for a second; then a new burst of long waits.
        assert!(
            !rule.refuse_at_once(t0 + ms(1200)),
            "the overload has passed"
        );
        // A burst of its own must fill a whole interval again before it stands: the long
        // waits before the quiet second do not count.
        let refused = arrivals(&rule, t0, (1210, 1300, 10), LONG);
        assert!(refused.iter().all(|r| !r), "{refused:?}");
        let refused = arrivals(&rule, t0, (1300, 1500, 10), LONG);
        assert!(refused.iter().any(|r| *r), "{refused:?}");
    }
}
