//! What a context's handles and sockets share: the I/O threads, the count of live sockets,
//! the termination flag and the inproc names. Each socket holds it, so a context outlives its
//! last handle while sockets live.

use crate::engine::IoThreads;
use crate::error::Result;
use crate::security::zap_client::ZapClient;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, Mutex};

#[derive(Default)]
pub(crate) struct ContextInner {
    pub(super) io: Mutex<Option<Arc<IoThreads>>>,
    /// How many I/O threads to start (0 is taken as 1).
    pub(super) io_threads: usize,
    pub(super) next_socket: AtomicU64,
    /// Set by `shutdown`, so that a socket opened afterwards fails too.
    pub(crate) terminated: AtomicBool,
    /// Sockets not yet dropped, for `term` to wait on.
    pub(super) live_sockets: Mutex<usize>,
    pub(super) all_closed: Condvar,
    /// The inproc names bound in this context.
    pub(crate) inproc: crate::socket::inproc::Registry,
    /// Asks the application's ZAP handler, once a handshake needs it.
    zap: std::sync::OnceLock<Arc<ZapClient>>,
}

impl ContextInner {
    pub(super) fn lock_live(&self) -> std::sync::MutexGuard<'_, usize> {
        self.live_sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A socket was dropped (its close is queued to the I/O thread).
    pub(crate) fn socket_closed(&self) {
        let mut live = self.lock_live();
        *live = live.saturating_sub(1);
        if *live == 0 {
            self.all_closed.notify_all();
        }
    }

    /// The context's ZAP client (its thread starts with the first request).
    pub(crate) fn zap_client(self: &Arc<Self>) -> &Arc<ZapClient> {
        self.zap
            .get_or_init(|| Arc::new(ZapClient::new(Arc::downgrade(self))))
    }

    pub(super) fn io(&self) -> Result<Arc<IoThreads>> {
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(io) = &*io {
            return Ok(Arc::clone(io));
        }
        let started = IoThreads::start(self.io_threads)?;
        *io = Some(Arc::clone(&started));
        Ok(started)
    }
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        let io = self.io.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(io) = io {
            io.shutdown();
        }
    }
}
