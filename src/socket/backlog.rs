//! What a spooled socket holds and how fast it moves (`Socket::spool_stats`): the counts, the
//! age of the oldest message not yet confirmed, and the rates in and out. Kept with the
//! delivery bookkeeping, under its lock; a few samples, taken at most every
//! [`SAMPLE_EVERY`], bound the memory it takes.

use crate::deadline::coarse_nanos;
use crate::spool::SpoolStats;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Samples are taken at most this often.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// Rates are measured over about this long.
const RATE_WINDOW: Duration = Duration::from_secs(10);
/// Append-time samples kept at most; past this, every other one goes (the age gets coarser,
/// never wrong by more than the gap between samples).
const MAX_MARKS: usize = 4096;

/// See the module documentation.
pub(crate) struct Backlog {
    /// When delivery started: messages recovered from an earlier run are at least this old.
    started: Instant,
    appended: u64,
    confirmed: u64,
    /// (sequence number, time): every message from that number on was appended at or after
    /// that time. Oldest first.
    marks: VecDeque<(u64, Instant)>,
    /// (time, appended, confirmed) over the last [`RATE_WINDOW`], oldest first.
    rates: VecDeque<(Instant, u64, u64)>,
    /// Before this [`coarse_nanos`] reading, an append takes no sample: `SAMPLE_EVERY`
    /// after the newest mark or rate sample, whichever is older. The common append then
    /// costs one reading of the coarse clock and a comparison.
    quiet_until: u64,
}

impl Backlog {
    pub fn new(now: Instant) -> Backlog {
        Backlog {
            started: now,
            appended: 0,
            confirmed: 0,
            marks: VecDeque::new(),
            rates: VecDeque::from([(now, 0, 0)]),
            quiet_until: 0,
        }
    }

    /// Message `seq` was appended.
    pub fn appended(&mut self, seq: u64) {
        self.appended += 1;
        let reading = coarse_nanos();
        if reading < self.quiet_until {
            return;
        }
        let now = crate::deadline::coarse_now();
        if self.marks.back().is_none_or(|&(_, at)| now >= at + SAMPLE_EVERY) {
            if self.marks.len() >= MAX_MARKS {
                let thinned = self.marks.iter().copied().step_by(2).collect();
                self.marks = thinned;
            }
            self.marks.push_back((seq, now));
        }
        self.sample(now);
        let newest_rate = self.rates.back().map_or(now, |&(at, ..)| at);
        let newest_mark = self.marks.back().map_or(now, |&(_, at)| at);
        let quiet_for = (newest_rate.min(newest_mark) + SAMPLE_EVERY).saturating_duration_since(now);
        self.quiet_until = reading.saturating_add(u64::try_from(quiet_for.as_nanos()).unwrap_or(u64::MAX));
    }

    /// `count` more messages are confirmed; everything up to `low` is.
    pub fn confirmed(&mut self, count: u64, low: u64) {
        self.confirmed += count;
        // The mark at or before the oldest unconfirmed message is still needed.
        while self.marks.get(1).is_some_and(|&(seq, _)| seq <= low + 1) {
            self.marks.pop_front();
        }
        self.sample(Instant::now());
    }

    fn sample(&mut self, now: Instant) {
        if self.rates.back().is_none_or(|&(at, ..)| now >= at + SAMPLE_EVERY) {
            self.rates.push_back((now, self.appended, self.confirmed));
        }
        while self.rates.len() > 2 && self.rates.get(1).is_some_and(|&(at, ..)| now > at + RATE_WINDOW) {
            self.rates.pop_front();
        }
    }

    /// The statistics now: `held` messages (`oldest`, the first of them, if any) in `bytes`.
    pub fn stats(&mut self, held: u64, oldest: Option<u64>, bytes: u64) -> SpoolStats {
        let now = Instant::now();
        self.sample(now);
        let oldest_age = oldest.map(|seq| {
            let since = self
                .marks
                .iter()
                .rev()
                .find(|&&(from, _)| from <= seq)
                .map_or(self.started, |&(_, at)| at);
            now.saturating_duration_since(since)
        });
        let (at, appended, confirmed) = self.rates.front().copied().unwrap_or((now, 0, 0));
        let secs = now.saturating_duration_since(at).as_secs_f64();
        let rate = |count: u64| if secs > 0.0 { count as f64 / secs } else { 0.0 };
        SpoolStats {
            messages: held,
            bytes,
            oldest_age,
            in_rate: rate(self.appended - appended),
            out_rate: rate(self.confirmed - confirmed),
        }
    }
}

/// Reports a spooled socket's backlog crossing the application's limits
/// ([`crate::spool::BacklogAlert`]) to its monitors: high once a limit is reached, normal
/// again once the backlog is back to half of every limit (so that a backlog hovering at a
/// limit does not report at every message).
pub(crate) struct Alert {
    pub limits: crate::spool::BacklogAlert,
    pub hub: std::sync::Arc<crate::monitor::Hub>,
    pub high: bool,
}

impl Alert {
    pub fn check(&mut self, messages: u64, bytes: u64) {
        let (m, b) = (self.limits.messages, self.limits.bytes);
        let reached = m.is_some_and(|m| messages >= m) || b.is_some_and(|b| bytes >= b);
        let relieved = m.is_none_or(|m| messages <= m / 2) && b.is_none_or(|b| bytes <= b / 2);
        let event = match self.high {
            false if reached => crate::SocketEvent::BacklogHigh,
            true if relieved => crate::SocketEvent::BacklogNormal,
            _ => return,
        };
        self.high = !self.high;
        self.hub.emit(event, messages, "", || None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_age_follows_the_confirmed_mark_and_rates_count_both_ways() {
        let start = Instant::now() - Duration::from_secs(5);
        let mut backlog = Backlog::new(start);
        backlog.marks.push_back((1, start + Duration::from_secs(1)));
        backlog.marks.push_back((10, start + Duration::from_secs(3)));
        backlog.appended = 20;
        let age = |b: &mut Backlog, oldest| b.stats(0, Some(oldest), 0).oldest_age.unwrap();
        assert!(
            age(&mut backlog, 5) >= Duration::from_secs(4),
            "appended after second 1"
        );
        assert!(
            age(&mut backlog, 12) < Duration::from_secs(3),
            "appended after second 3"
        );
        backlog.confirmed(12, 11);
        assert_eq!(backlog.marks.len(), 1, "the mark before the oldest stays");
        let stats = backlog.stats(8, Some(12), 160);
        assert!(
            stats.in_rate > 3.0 && stats.in_rate < 4.5,
            "20 in about 5 s: {}",
            stats.in_rate
        );
        assert!(
            stats.out_rate > 2.0 && stats.out_rate < 2.5,
            "12 in about 5 s: {}",
            stats.out_rate
        );
        assert_eq!((stats.messages, stats.bytes), (8, 160));
        assert_eq!(backlog.stats(0, None, 0).oldest_age, None);
    }

    /// Appends within a sample period take no sample; the first one after it does, for the
    /// age and the rates alike. Appends go on until the second sample appears, which must
    /// not be before a period passed.
    #[test]
    fn an_append_samples_once_per_period() {
        let started = Instant::now();
        let mut backlog = Backlog::new(started);
        backlog.appended(1);
        let rates = backlog.rates.len();
        assert_eq!(backlog.marks.len(), 1);
        let mut seq = 1;
        // The two samples come in the same append, or a few apart: the mark's base is a
        // coarse reading, the rates' a precise one.
        while backlog.marks.len() == 1 || backlog.rates.len() == rates {
            assert!(backlog.marks.len() <= 2 && backlog.rates.len() <= rates + 1);
            assert!(started.elapsed() < Duration::from_secs(5), "no second sample");
            seq += 1;
            backlog.appended(seq);
            std::thread::sleep(Duration::from_millis(1));
        }
        // The coarse clock lags the precise one by at most a few milliseconds.
        assert!(started.elapsed() + Duration::from_millis(10) >= SAMPLE_EVERY);
        assert_eq!((backlog.marks.len(), backlog.rates.len()), (2, rates + 1));
        assert!(backlog.marks.back().is_some_and(|m| m.0 > 1 && m.0 <= seq));
        // Either sample may be the later one: each counts what was appended when it came.
        assert!(backlog.rates.back().is_some_and(|r| r.1 > 1 && r.1 <= seq));
    }
}
