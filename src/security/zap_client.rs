//! The context's ZAP client: one thread with a DEALER socket connected to the application's
//! handler at `inproc://zeromq.zap.01`, so that no I/O thread ever waits on the handler.
//! Mechanisms' requests come in with a callback; each reply goes to its callback.
//!
//! The thread starts with the first request and ends when it has nothing pending and the
//! handler is gone, or when the context shuts down: it never keeps a context alive that the
//! application has left.

use crate::context::shared::ContextInner;
use crate::zmtp::ProtocolError;
use crate::zmtp::mechanism::ZapReply;
use crate::zmtp::mechanism::zap::HANDLER_ENDPOINT;
use crate::{Context, POLLIN, PollItem, SocketType};
use bytes::Bytes;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// What a request's answer goes to: the reply, or why there is none.
pub(crate) type ZapCallback = Box<dyn FnOnce(Result<ZapReply, ProtocolError>) + Send>;

/// Requests waiting for their reply beyond this many are answered at once with an error
/// (a handler that never answers cannot make memory grow).
const MAX_PENDING: usize = 4096;
/// A request unanswered this long is dropped (its handshake timed out long before).
const GIVE_UP_AFTER: Duration = Duration::from_secs(120);
/// How often the thread looks whether the handler or the context went away.
const CHECK_EVERY: Duration = Duration::from_millis(100);

struct Queued {
    frames: Vec<Bytes>,
    callback: ZapCallback,
}

#[derive(Default)]
struct State {
    /// Requests not yet handed to the thread.
    queued: Vec<(u64, Queued)>,
    next_id: u64,
    running: bool,
    /// The write end of the running thread's wake-up pair.
    wake: Option<UnixStream>,
}

/// One context's ZAP client.
pub(crate) struct ZapClient {
    ctx: Weak<ContextInner>,
    state: Mutex<State>,
}

impl ZapClient {
    pub fn new(ctx: Weak<ContextInner>) -> ZapClient {
        ZapClient {
            ctx,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a handler is bound in the context.
    pub fn handler_bound(&self) -> bool {
        let name = &HANDLER_ENDPOINT["inproc://".len()..];
        self.ctx.upgrade().is_some_and(|ctx| ctx.inproc.is_bound(name))
    }

    /// Sends a request whose frames follow the request id (`frames(id)` builds them) and
    /// hands the reply to `callback`, on the client's thread.
    pub fn request(self: &Arc<Self>, frames: impl FnOnce(&[u8]) -> Vec<Bytes>, callback: ZapCallback) {
        let mut st = self.lock();
        st.next_id += 1;
        let id = st.next_id;
        let frames = frames(id.to_string().as_bytes());
        st.queued.push((id, Queued { frames, callback }));
        if st.running {
            if let Some(wake) = &st.wake {
                let _ = (&*wake).write(&[1]);
            }
            return;
        }
        let (wake_tx, wake_rx) = match UnixStream::pair().and_then(|(a, b)| {
            a.set_nonblocking(true)?;
            b.set_nonblocking(true)?;
            Ok((a, b))
        }) {
            Ok(pair) => pair,
            Err(e) => return fail_all(&mut st, &format!("no wake-up pair: {e}")),
        };
        let me = Arc::clone(self);
        let started = std::thread::Builder::new()
            .name("zocket-zap".into())
            .spawn(move || me.run(wake_rx));
        match started {
            Ok(_) => {
                st.running = true;
                st.wake = Some(wake_tx);
            }
            Err(e) => fail_all(&mut st, &format!("no ZAP thread: {e}")),
        }
    }

    /// The thread: sends what is queued, routes replies, ends when idle and orphaned.
    fn run(self: Arc<Self>, mut wake: UnixStream) {
        let Some(dealer) = self.ctx.upgrade().and_then(|inner| {
            let dealer = Context::from_inner(inner).socket(SocketType::Dealer).ok()?;
            dealer.set_linger(Some(Duration::ZERO)).ok()?;
            dealer.connect(HANDLER_ENDPOINT).ok()?;
            Some(dealer)
        }) else {
            let mut st = self.lock();
            st.running = false;
            st.wake = None;
            return fail_all(&mut st, "cannot connect to the ZAP handler");
        };
        let mut waiting: HashMap<Vec<u8>, (Instant, ZapCallback)> = HashMap::new();
        loop {
            let queued = std::mem::take(&mut self.lock().queued);
            for (id, request) in queued {
                if waiting.len() >= MAX_PENDING {
                    (request.callback)(Err(too_many()));
                    continue;
                }
                let mut parts = vec![Bytes::new()];
                parts.extend(request.frames);
                if dealer.send_multipart(parts.iter().map(|p| &p[..]), 0).is_err() {
                    (request.callback)(Err(lost("the ZAP request could not be sent")));
                    continue;
                }
                waiting.insert(id.to_string().into_bytes(), (Instant::now(), request.callback));
            }
            while let Ok(reply) = dealer.recv_multipart(crate::DONTWAIT) {
                let frames: Vec<Bytes> = reply.into_iter().skip(1).map(Bytes::from).collect();
                let id = frames.get(1).map(|f| f.to_vec()).unwrap_or_default();
                if let Some((_, callback)) = waiting.remove(&id) {
                    callback(ZapReply::parse(&frames).map(|(_, reply)| reply));
                }
            }
            waiting.retain(|_, (since, _)| since.elapsed() < GIVE_UP_AFTER);
            let terminated = self
                .ctx
                .upgrade()
                .is_none_or(|ctx| ctx.terminated.load(std::sync::atomic::Ordering::Acquire));
            let orphaned = terminated || !self.handler_bound();
            let mut st = self.lock();
            if orphaned && (terminated || waiting.is_empty()) && st.queued.is_empty() {
                st.running = false;
                st.wake = None;
                drop(st);
                for (_, (_, callback)) in waiting.drain() {
                    callback(Err(lost("the ZAP handler went away")));
                }
                return;
            }
            drop(st);
            let mut items = [
                dealer.as_poll_item(POLLIN),
                PollItem::from_fd(wake.as_raw_fd(), POLLIN),
            ];
            if crate::poll(&mut items, Some(CHECK_EVERY)).is_err() {
                std::thread::sleep(CHECK_EVERY);
            }
            let mut sink = [0u8; 64];
            while matches!(wake.read(&mut sink), Ok(n) if n > 0) {}
        }
    }
}

fn lost(why: &'static str) -> ProtocolError {
    ProtocolError::Handshake(why)
}

fn too_many() -> ProtocolError {
    ProtocolError::Refused {
        status: 500,
        reason: "too many ZAP requests waiting for the handler".into(),
    }
}

fn fail_all(st: &mut State, why: &str) {
    log::warn!("ZAP: {why}");
    for (_, request) in st.queued.drain(..) {
        (request.callback)(Err(lost("no ZAP client")));
    }
}
