//! A test helper: a counted wake-up, so that a test can check that every wake-up a pipe asks
//! for is delivered once and used.

use crate::sync::{Condvar, Mutex};

pub(crate) struct Doorbell {
    rings: Mutex<usize>,
    rung: Condvar,
}

impl Doorbell {
    pub(crate) fn new() -> Doorbell {
        Doorbell {
            rings: Mutex::new(0),
            rung: Condvar::new(),
        }
    }

    pub(crate) fn ring(&self) {
        *self.rings.lock().unwrap() += 1;
        self.rung.notify_one();
    }

    /// Waits for a ring and consumes it. The std build gives up after ten seconds: a wake-up
    /// that does not come in that time was lost.
    pub(crate) fn wait(&self) {
        let mut rings = self.rings.lock().unwrap();
        #[cfg(not(loom))]
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while *rings == 0 {
            #[cfg(not(loom))]
            {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                assert!(!left.is_zero(), "a wake-up was lost");
                rings = self.rung.wait_timeout(rings, left).unwrap().0;
            }
            #[cfg(loom)]
            {
                rings = self.rung.wait(rings).unwrap();
            }
        }
        *rings -= 1;
    }

    /// Rings not yet consumed.
    pub(crate) fn pending(&self) -> usize {
        *self.rings.lock().unwrap()
    }
}
