//! Load limits: how many requests (and logins) are processed at once, how long excess
//! requests may wait before they are refused with 503, and how long a request body may
//! stall or take in all.

use std::time::Duration;

use api::limits::LimitSettings;
use clap::Args;

/// What the service takes on at once, and what it refuses.
#[derive(Debug, Clone, Args)]
pub struct LimitsSettings {
    /// Requests processed at once (the operations endpoints /healthz, /readyz and /metrics
    /// are not counted and never refused).
    #[arg(long, env = "MAX_IN_FLIGHT_REQUESTS", default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=100_000), global = true)]
    pub max_in_flight_requests: u64,

    /// Requests allowed to wait for a free processing slot; further requests are refused
    /// at once with 503 and Retry-After.
    #[arg(long, env = "MAX_QUEUED_REQUESTS", default_value_t = 32, value_parser = clap::value_parser!(u64).range(0..=100_000), global = true)]
    pub max_queued_requests: u64,

    /// Longest a request waits for a free processing slot before it is refused with 503,
    /// in milliseconds.
    #[arg(long, env = "MAX_QUEUE_WAIT_MS", default_value_t = 25, value_parser = clap::value_parser!(u64).range(0..=60_000), global = true)]
    pub max_queue_wait_ms: u64,

    /// The queue's target wait, in milliseconds: once every request leaving the queue over
    /// 100 ms had waited longer, while more requests than MAX_QUEUED_REQUESTS found every
    /// slot busy in 100 ms, the queue counts as standing (sustained overload, not a burst)
    /// and requests that find every slot busy are refused at once with 503 instead of
    /// queued, until 100 ms in which fewer did. 0: always queue. Otherwise, when the
    /// queue has places and a wait, it must be less than MAX_QUEUE_WAIT_MS.
    #[arg(long, env = "QUEUE_TARGET_WAIT_MS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=60_000), global = true)]
    pub queue_target_wait_ms: u64,

    /// Longest a request body may go without a byte arriving before the request is
    /// answered 408 and its connection closed, in milliseconds. A body that keeps moving
    /// is never cut off.
    #[arg(long, env = "BODY_READ_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000), global = true)]
    pub body_read_timeout_ms: u64,

    /// Longest the whole body of a request to any route but POST /customer/{id}/kyc may
    /// take to arrive, moving or not, in milliseconds; then 408 and the connection closed.
    /// Such bodies are read before the request takes a processing slot.
    #[arg(long, env = "BODY_READ_DEADLINE_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000), global = true)]
    pub body_read_deadline_ms: u64,

    /// Logins (POST /auth/login) processed at once, apart from the other requests'
    /// slots; further logins are refused at once with 503 logins_busy and Retry-After.
    #[arg(long, env = "MAX_IN_FLIGHT_LOGINS", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=100_000), global = true)]
    pub max_in_flight_logins: u64,
}

impl LimitsSettings {
    /// The limits the HTTP layer enforces. A target wait at or above `MAX_QUEUE_WAIT_MS`
    /// would be exceeded only by requests that waited the whole maximum (and the timer's
    /// lateness), leaving the standing-queue rule all but off without a word, so it is
    /// refused; `0` turns the rule off on purpose, and without a queue (no places, or no
    /// wait) there is nothing for the rule to judge.
    pub fn limit_settings(&self) -> anyhow::Result<LimitSettings> {
        anyhow::ensure!(
            self.queue_target_wait_ms == 0
                || self.max_queued_requests == 0
                || self.max_queue_wait_ms == 0
                || self.queue_target_wait_ms < self.max_queue_wait_ms,
            "QUEUE_TARGET_WAIT_MS ({}) must be less than MAX_QUEUE_WAIT_MS ({}), or 0 to always queue: a queued request waits at most MAX_QUEUE_WAIT_MS, so such a target would all but never be exceeded and the queue would not count as standing",
            self.queue_target_wait_ms,
            self.max_queue_wait_ms
        );
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(LimitSettings {
            max_in_flight: count(self.max_in_flight_requests),
            max_queued: count(self.max_queued_requests),
            max_queue_wait: Duration::from_millis(self.max_queue_wait_ms),
            queue_target_wait: (self.queue_target_wait_ms > 0)
                .then(|| Duration::from_millis(self.queue_target_wait_ms)),
            body_idle: Duration::from_millis(self.body_read_timeout_ms),
            body_deadline: Duration::from_millis(self.body_read_deadline_ms),
            max_logins: count(self.max_in_flight_logins),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::tests::config;

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let limits = config(&[]).limits.limit_settings().unwrap();
        assert_eq!(limits, api::limits::LimitSettings::default());
        assert_eq!(limits.body_idle, Duration::from_secs(10));
        assert_eq!(limits.body_deadline, Duration::from_secs(30));
        assert_eq!(limits.max_logins, 16);
    }

    #[test]
    fn every_limit_is_a_setting() {
        let limits = config(&[
            "--max-in-flight-requests=3",
            "--max-queued-requests=0",
            "--max-queue-wait-ms=7",
            "--queue-target-wait-ms=3",
            "--body-read-timeout-ms=250",
            "--body-read-deadline-ms=900",
            "--max-in-flight-logins=2",
        ])
        .limits
        .limit_settings()
        .unwrap();
        assert_eq!((limits.max_in_flight, limits.max_queued), (3, 0));
        assert_eq!(limits.max_queue_wait, Duration::from_millis(7));
        assert_eq!(limits.queue_target_wait, Some(Duration::from_millis(3)));
        let always_queue = config(&["--queue-target-wait-ms=0"])
            .limits
            .limit_settings()
            .unwrap();
        assert_eq!(always_queue.queue_target_wait, None);
        assert_eq!(limits.body_idle, Duration::from_millis(250));
        assert_eq!(limits.body_deadline, Duration::from_millis(900));
        assert_eq!(limits.max_logins, 2);
    }

    #[test]
    fn a_target_wait_no_queued_request_can_exceed_is_refused() {
        let settings = |args: &[&str]| config(args).limits.limit_settings();
        for target in ["25", "40"] {
            let error = settings(&[
                "--max-queue-wait-ms=25",
                &format!("--queue-target-wait-ms={target}"),
            ])
            .unwrap_err()
            .to_string();
            assert!(error.contains("QUEUE_TARGET_WAIT_MS"), "{error}");
        }
        assert!(settings(&["--max-queue-wait-ms=25", "--queue-target-wait-ms=24"]).is_ok());
        // The rule off on purpose, or no queue for it to judge: nothing to refuse.
        assert!(settings(&["--max-queue-wait-ms=25", "--queue-target-wait-ms=0"]).is_ok());
        assert!(settings(&["--max-queue-wait-ms=0"]).is_ok());
        assert!(settings(&[
            "--max-queue-wait-ms=5",
            "--queue-target-wait-ms=5",
            "--max-queued-requests=0"
        ])
        .is_ok());
    }

    #[test]
    fn no_request_slot_at_all_is_refused() {
        assert!(crate::Config::from_args(["server", "--max-in-flight-requests=0"]).is_err());
        assert!(crate::Config::from_args(["server", "--max-in-flight-logins=0"]).is_err());
    }
}
