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

/// Now, read from the kernel's coarse monotonic clock: never later than `Instant::now`, at
/// most two ticks (a few milliseconds) earlier, and cheaper, for marks taken per message
/// where that does not matter.
pub(crate) fn coarse_now() -> Instant {
    #[cfg(target_os = "linux")]
    {
        use std::sync::OnceLock;
        // An `Instant` cannot be built from a clock reading: the coarse clock is measured
        // from a pair of readings taken together once.
        static BASE: OnceLock<(Instant, Duration)> = OnceLock::new();
        // The base is moved back by a tick, as the reading it pairs with may lag by one:
        // then no later reading comes out ahead of `Instant::now`.
        let &(base, base_coarse) = BASE.get_or_init(|| {
            let now = Instant::now();
            let tick = coarse_tick();
            (now.checked_sub(tick).unwrap_or(now), coarse_reading())
        });
        base + coarse_reading().saturating_sub(base_coarse)
    }
    #[cfg(not(target_os = "linux"))]
    Instant::now()
}

/// A reading of the clock [`coarse_now`] reads, in nanoseconds from an arbitrary start: to
/// compare with an earlier one, cheaper than building an `Instant`.
pub(crate) fn coarse_nanos() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let reading = coarse_reading();
        reading.as_secs() * 1_000_000_000 + u64::from(reading.subsec_nanos())
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<Instant> = OnceLock::new();
        let start = *START.get_or_init(Instant::now);
        u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The coarse clock's reading.
#[cfg(target_os = "linux")]
fn coarse_reading() -> Duration {
    // SAFETY: clock_gettime writes the timespec it is given; the clock id is valid on Linux.
    coarse_clock(|ts| unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, ts) })
}

/// The coarse clock's resolution.
#[cfg(target_os = "linux")]
fn coarse_tick() -> Duration {
    // SAFETY: clock_getres writes the timespec it is given; the clock id is valid on Linux.
    coarse_clock(|ts| unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, ts) })
}

/// What `call` writes into a timespec, as a duration (zero if it fails).
#[cfg(target_os = "linux")]
fn coarse_clock(call: impl FnOnce(&mut libc::timespec) -> libc::c_int) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    call(&mut ts);
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
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

    #[test]
    fn the_coarse_clock_moves_and_stays_behind_the_precise_one() {
        let first = coarse_now();
        let deadline = Instant::now() + Duration::from_secs(5);
        while coarse_now() == first {
            assert!(Instant::now() < deadline, "the coarse clock never moved");
            std::thread::yield_now();
        }
        let (coarse, precise) = (coarse_now(), Instant::now());
        assert!(coarse > first);
        // The base pair is read together, coarse first: a tick of slack either way.
        assert!(
            coarse <= precise + Duration::from_millis(20),
            "{coarse:?} vs {precise:?}"
        );
    }
}
