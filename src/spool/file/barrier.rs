//! A full fence split between a side that runs per append and one that runs per sync.
//!
//! An append stores its record, then reads whether a sync is still to come; the sync thread
//! clears that flag, then syncs. Each side needs a full fence between its store and its
//! read, or the append may miss the sync and the sync the append. An append happens millions
//! of times a second, a sync every few milliseconds at most: with `membarrier(2)`, the sync
//! thread makes every running thread of the process pass a full fence, and the append needs
//! only to keep the compiler from reordering. Where the call is missing (not Linux, before
//! 4.14, or refused by a seccomp filter) both sides use ordinary fences.

use std::sync::atomic::{AtomicBool, Ordering, compiler_fence, fence};

/// See the module documentation.
pub(super) struct SplitFence {
    /// Whether the sync side interrupts the other threads, so that the append side needs no
    /// fence of its own. Cleared for good if a call ever fails.
    expedited: AtomicBool,
}

impl SplitFence {
    /// Registers the process for expedited barriers, where it can.
    pub fn new() -> SplitFence {
        SplitFence {
            expedited: AtomicBool::new(membarrier::register()),
        }
    }

    /// Plain fences on both sides, registering nothing.
    pub fn plain() -> SplitFence {
        SplitFence {
            expedited: AtomicBool::new(false),
        }
    }

    /// The append side: between the record's store and the read of the flag.
    pub fn light(&self) {
        match self.expedited.load(Ordering::Relaxed) {
            true => compiler_fence(Ordering::SeqCst),
            false => fence(Ordering::SeqCst),
        }
    }

    /// The sync side: between the flag's store and the sync. False if the other threads
    /// could not be made to pass a fence: an append running meanwhile may have missed this
    /// sync, and the caller counts the data dirty still. Later calls use fences on both sides.
    #[must_use]
    pub fn heavy(&self) -> bool {
        fence(Ordering::SeqCst);
        if !self.expedited.load(Ordering::Relaxed) || membarrier::all_threads() {
            return true;
        }
        self.expedited.store(false, Ordering::Relaxed);
        false
    }
}

#[cfg(target_os = "linux")]
mod membarrier {
    // From linux/membarrier.h.
    const PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    fn call(cmd: libc::c_long) -> bool {
        // SAFETY: membarrier takes a command and flags (0), and touches no memory of ours.
        unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_long) == 0 }
    }

    pub fn register() -> bool {
        call(REGISTER_PRIVATE_EXPEDITED)
    }

    pub fn all_threads() -> bool {
        call(PRIVATE_EXPEDITED)
    }
}

#[cfg(not(target_os = "linux"))]
mod membarrier {
    pub fn register() -> bool {
        false
    }

    pub fn all_threads() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sync_side_reports_that_it_covered_the_appends() {
        let split = SplitFence::new();
        split.light();
        assert!(
            split.heavy(),
            "a registered barrier, or plain fences, cover the sync"
        );
        split.light();
        assert!(split.heavy());
    }
}
