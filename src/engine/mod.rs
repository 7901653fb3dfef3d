//! The I/O threads: one mio `Poll` loop each (one per context unless
//! `Context::with_io_threads` asks for more), driven by commands from application threads and
//! by socket readiness. A socket's listeners, connectors and connections are spread over the
//! threads; each connection lives on one thread for its whole life.

pub(crate) mod acks;
pub(crate) mod config;
mod connection;
mod connector;
pub(crate) mod fast_path;
mod heartbeat;
mod io_threads;
mod reactor;

pub(crate) use io_threads::{IoThreads, MAX_IO_THREADS, conn_id, split_conn_id};

use crate::pipe::{IoWake, PipeId};
use crate::socket::shared::SocketShared;
use crate::transport::{Listener, PeerAddr, Stream};
use std::sync::Arc;

/// The waker's token; other tokens are handed out from 1 upwards and never reused.
const WAKER: mio::Token = mio::Token(0);

/// What application threads ask of the I/O thread.
pub(crate) enum Command {
    Bind {
        socket: Arc<SocketShared>,
        listener: Listener,
        endpoint: String,
        /// The socket's options at `bind`, for the connections it accepts.
        config: Arc<config::ConnConfig>,
    },
    Connect {
        /// The connector's key (`IoThreads::new_connector`), which names this thread.
        key: crate::pipe::ConnId,
        socket: Arc<SocketShared>,
        endpoint: String,
        addr: PeerAddr,
        /// The pipe created at `connect`, kept across reconnects (None: one per connection).
        pipe: Option<PipeId>,
        /// That pipe's outbound reading end, which its connections take in turn.
        out_reader: Option<Box<crate::ypipe::Reader<crate::pipe::Outgoing>>>,
        /// CONNECT_ROUTING_ID: the routing id to give this peer.
        routing_id: Option<bytes::Bytes>,
        /// The socket's options at `connect`.
        config: Arc<config::ConnConfig>,
    },
    /// Stop listening; `done` is signalled once the listener is closed (the address is free).
    Unbind {
        socket_id: u64,
        endpoint: String,
        done: Done,
    },
    Disconnect {
        socket_id: u64,
        endpoint: String,
    },
    /// A connection accepted by another thread's listener, handed to this one.
    Adopt {
        socket: Arc<SocketShared>,
        stream: Stream,
        /// The listener's endpoint and options, as in [`Command::Bind`].
        endpoint: Arc<str>,
        config: Arc<config::ConnConfig>,
    },
    Wake(IoWake),
    /// A named peer's address was looked up (or not) for connector `id` of this thread.
    LookedUp {
        id: u64,
        result: Result<std::net::SocketAddr, String>,
    },
    /// The ZAP handler answered (or failed to) a question of connection `conn`.
    ZapReply {
        conn: crate::pipe::ConnId,
        ticket: u64,
        reply: Result<crate::zmtp::mechanism::ZapReply, crate::zmtp::ProtocolError>,
    },
    /// The application closed the socket: flush per linger, then forget it.
    Close {
        socket_id: u64,
        /// How long to keep delivering (the socket's linger at close; None: no limit).
        linger: Option<std::time::Duration>,
        /// Signalled once the socket's listeners are closed (lingering goes on after).
        done: Done,
    },
    /// The context is gone: finish lingering sockets and exit.
    Shutdown,
    /// Makes the I/O thread panic, to test what callers see when it dies.
    #[cfg(test)]
    Crash,
}

/// A one-shot reply from the I/O thread.
pub(crate) type Done = Option<std::sync::mpsc::SyncSender<()>>;

/// Creates a reply channel for a command whose completion the caller waits for.
pub(crate) fn done_channel() -> (Done, std::sync::mpsc::Receiver<()>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    (Some(tx), rx)
}

/// Waits for a command's completion; the I/O thread answers within microseconds, the bound
/// only guards against a thread that died.
pub(crate) fn wait_done(rx: std::sync::mpsc::Receiver<()>) {
    let _ = rx.recv_timeout(std::time::Duration::from_secs(5));
}

/// Sends the command `make` builds to every I/O thread and waits until each has done it.
pub(crate) fn broadcast_and_wait(io: &IoThreads, mut make: impl FnMut(Done) -> Command) {
    let mut replies = Vec::with_capacity(io.len());
    io.broadcast(|_| {
        let (done, finished) = done_channel();
        replies.push(finished);
        make(done)
    });
    for finished in replies {
        wait_done(finished);
    }
}

#[cfg(test)]
mod tests {
    use crate::{Context, DONTWAIT, Error, POLLIN, PollItem, SocketType};
    use std::time::{Duration, Instant};

    fn is_io_failure(result: crate::Result<impl std::fmt::Debug>) -> bool {
        matches!(result, Err(Error::Io(e)) if e.to_string().contains("I/O thread failed"))
    }

    /// A dead I/O thread leaves no caller hanging: blocked `recv` and `poll` return an
    /// error, and so does every later call.
    #[test]
    fn a_dead_io_thread_fails_blocked_and_later_calls() {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let other = ctx.socket(SocketType::Pull).unwrap();
        std::thread::scope(|scope| {
            let blocked_recv = scope.spawn(|| {
                let started = Instant::now();
                (pull.recv_bytes(0), started.elapsed())
            });
            let blocked_poll = scope.spawn(|| {
                let mut items = [PollItem::new(&other, POLLIN)];
                crate::poll(&mut items, None)
            });
            let deadline = Instant::now() + Duration::from_secs(5);
            while !pull.shared().sleepers.any() || !other.shared().has_watchers() {
                assert!(Instant::now() < deadline, "both calls block");
                std::thread::yield_now();
            }
            pull.io().crash();
            let (result, _) = blocked_recv.join().unwrap();
            assert!(is_io_failure(result), "a blocked recv fails");
            assert!(
                is_io_failure(blocked_poll.join().unwrap()),
                "a blocked poll fails"
            );
        });
        assert!(is_io_failure(pull.recv_bytes(DONTWAIT)));
        let push = ctx.socket(SocketType::Push);
        assert!(is_io_failure(push.map(|_| ())), "a new socket fails");
        assert!(is_io_failure(pull.bind("tcp://127.0.0.1:0")));
    }
}
