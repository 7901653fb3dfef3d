//! Deadlines from user-given durations. A duration can be as large as `Duration::MAX`, and
//! `Instant + Duration` panics on overflow, so every deadline is computed here: one too far
//! away to represent is "never" (`None`), which is what such a duration means.

use std::time::{Duration, Instant};

/// The instant `d` after `now`, or `None` when that is too far away to represent.
pub(crate) fn after(now: Instant, d: Duration) -> Option<Instant> {
    now.checked_add(d)
}

/// The deadline of an optional timeout counted from now: `None` when there is no timeout or
/// it is too long to represent.
pub(crate) fn from_now(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|d| after(Instant::now(), d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_mean_never() {
        let now = Instant::now();
        assert_eq!(after(now, Duration::MAX), None);
        assert_eq!(from_now(Some(Duration::MAX)), None);
        assert_eq!(from_now(None), None);
        assert!(after(now, Duration::from_secs(1)).is_some_and(|d| d > now));
    }
}
