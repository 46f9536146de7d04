//! Lanes of processing slots, and the guards that count a request while it waits for a slot
//! and while it holds one.
//!
//! Every count is kept by a guard whose `Drop` undoes it, so that it is undone however the
//! request ends: answered, refused, or dropped mid-wait because its client went away (actix
//! then drops the request's future at whatever `.await` it had reached). Counts undone only
//! after an `.await` would leak on each such drop, until the queue looked full for good.

use std::sync::atomic::{AtomicUsize, Ordering};
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
        let Some(waiting) = self.queue.as_ref().and_then(Queue::join) else {
            self.full.inc();
            return None;
        };
        let queue = waiting.0;
        let started = Instant::now();
        match actix_web::rt::time::timeout(queue.max_wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => {
                queue.wait_seconds.observe(started.elapsed().as_secs_f64());
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
