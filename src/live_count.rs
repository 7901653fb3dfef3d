//! A count of running helper threads that can be waited down to zero: the context waits for
//! its sockets' spool threads this way before it is gone.

use std::sync::{Arc, Condvar, Mutex};

/// A count of running helper threads that can be waited down to zero.
#[derive(Default)]
pub(crate) struct LiveCount {
    count: Mutex<usize>,
    zero: Condvar,
}

/// One running thread of a [`LiveCount`]; dropping it counts the thread out.
pub(crate) struct Live(Arc<LiveCount>);

impl LiveCount {
    pub fn enter(self: &Arc<Self>) -> Live {
        *self.count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Live(Arc::clone(self))
    }

    pub fn wait_zero(&self) {
        let mut count = self.count.lock().unwrap_or_else(|e| e.into_inner());
        while *count > 0 {
            count = self.zero.wait(count).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let mut count = self.0.count.lock().unwrap_or_else(|e| e.into_inner());
        *count -= 1;
        if *count == 0 {
            self.0.zero.notify_all();
        }
    }
}
