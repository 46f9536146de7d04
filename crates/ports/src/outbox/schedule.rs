//! When a failed job is tried again, and when it is given up.

use std::time::Duration;

use rand::Rng as _;

/// Capped exponential backoff with jitter, for a fixed number of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay after the first failure; doubled after each further one.
    pub base_delay: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The pause after failed attempt number `attempt` (1-based): exponential, capped,
    /// with "equal jitter" (between half and all of it) so instances do not retry in step.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        let half = exponential / 2;
        half + exponential
            .saturating_sub(half)
            .mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }
}

/// A kind's retry schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrySchedule {
    /// Exponential backoff ([`RetryPolicy`]).
    Exponential(RetryPolicy),
    /// These pauses, in order: the n-th failed attempt waits the n-th one; a failure
    /// after the last is final (so there are `len + 1` attempts).
    Fixed(Vec<Duration>),
}

impl RetrySchedule {
    /// How long to wait after failed attempt number `attempt` (1-based), or `None` to
    /// give up.
    pub fn after_failed_attempt(&self, attempt: u32) -> Option<Duration> {
        match self {
            Self::Exponential(policy) => {
                (attempt < policy.max_attempts).then(|| policy.delay_after(attempt))
            }
            Self::Fixed(pauses) => attempt
                .checked_sub(1)
                .and_then(|i| pauses.get(usize::try_from(i).ok()?))
                .copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(60),
        }
    }

    #[test]
    fn retry_delays_grow_exponentially_with_jitter_and_a_cap() {
        let p = policy();
        for _ in 0..50 {
            let first = p.delay_after(1);
            assert!(
                first >= Duration::from_secs(5) && first <= Duration::from_secs(10),
                "{first:?}"
            );
            let second = p.delay_after(2);
            assert!(second >= Duration::from_secs(10) && second <= Duration::from_secs(20));
            let late = p.delay_after(30);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60));
        }
    }

    #[test]
    fn an_exponential_schedule_gives_up_at_the_last_allowed_attempt() {
        let schedule = RetrySchedule::Exponential(policy());
        assert!(schedule.after_failed_attempt(1).is_some());
        assert!(schedule.after_failed_attempt(2).is_some());
        assert_eq!(schedule.after_failed_attempt(3), None);
    }

    #[test]
    fn a_fixed_schedule_waits_each_pause_in_turn_then_gives_up() {
        let schedule = RetrySchedule::Fixed(vec![Duration::from_secs(5), Duration::from_secs(300)]);
        assert_eq!(
            schedule.after_failed_attempt(1),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            schedule.after_failed_attempt(2),
            Some(Duration::from_secs(300))
        );
        assert_eq!(schedule.after_failed_attempt(3), None);
        assert_eq!(schedule.after_failed_attempt(0), None);
    }
}
