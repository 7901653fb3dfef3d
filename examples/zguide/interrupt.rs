//! Ctrl-C for the zguide examples, as the guide's "Handling Interrupt Signals" section does
//! it: a SIGINT handler that only sets a flag, and a watcher thread that, once the flag is set,
//! shuts the context down. Every call blocked on one of the context's sockets then returns
//! `Err(zmq::Error::Terminated)` (libzmq's `ETERM`), and the program stops cleanly.
//!
//! zocket: `Context::shutdown` is libzmq's `zmq_ctx_shutdown`, which rust-zmq does not offer
//! (its `Context::destroy` waits for every socket to be closed); `zmq::Error::Terminated` is
//! rust-zmq's `zmq::Error::ETERM`.
//!
//! Included by each program with `#[path = "interrupt.rs"] mod interrupt;`.

#![allow(dead_code)] // each program uses what it needs

use zocket as zmq;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Set by the SIGINT handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How often the watcher looks at the flag.
const WATCH_EVERY: Duration = Duration::from_millis(20);

extern "C" fn on_sigint(_signal: libc::c_int) {
    // An atomic store is all a signal handler may safely do here.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The watcher thread. Keep it alive for as long as the program runs, and drop it before the
/// context (declare it right after the context): it holds a handle on the context, and the
/// context flushes what its sockets still queue when its last handle is dropped.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Installs the SIGINT handler and starts a thread that calls `ctx.shutdown()` on Ctrl-C.
pub fn shutdown_on_ctrl_c(ctx: &zmq::Context) -> Watcher {
    let handler = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (ctx, stop) = (ctx.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if interrupted() {
                    ctx.shutdown(); // blocked calls return Err(zmq::Error::Terminated)
                    return;
                }
                std::thread::park_timeout(WATCH_EVERY);
            }
        })
    };
    Watcher {
        stop,
        thread: Some(thread),
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// `Ok(())` when `result` failed only because the context was shut down (Ctrl-C): a server
/// loop ends this way, and the program then stops cleanly.
pub fn ok_if_terminated(result: zmq::Result<()>) -> zmq::Result<()> {
    match result {
        Err(zmq::Error::Terminated) => Ok(()),
        other => other,
    }
}
