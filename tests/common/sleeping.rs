//! Waiting until another thread is blocked in a call: it sleeps in the kernel (`/proc` task
//! state `S`), which is observable, unlike "it has had time to block".

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The calling thread's `/proc` task directory, to hand to [`wait_until_sleeping`].
pub fn this_task() -> PathBuf {
    Path::new("/proc").join(std::fs::read_link("/proc/thread-self").expect("/proc/thread-self"))
}

/// Waits until the thread of `task` sleeps in the kernel; panics after `within`.
pub fn wait_until_sleeping(task: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !is_sleeping(&task.join("stat")) {
        assert!(Instant::now() < deadline, "the thread never blocked");
        std::thread::yield_now();
    }
}

/// Whether the thread whose `stat` file this is sleeps (state `S`).
fn is_sleeping(stat: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(stat) else {
        return false;
    };
    // The state follows the command name, which is in parentheses.
    text.rsplit_once(") ")
        .is_some_and(|(_, rest)| rest.starts_with('S'))
}
