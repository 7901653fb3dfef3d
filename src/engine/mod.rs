//! The I/O thread: one mio `Poll` loop per context, driven by commands from application
//! threads and by socket readiness.

pub(crate) mod acks;
mod connection;
mod connector;
pub(crate) mod fast_path;
mod heartbeat;
mod reactor;

use crate::core::SocketShared;
use crate::pipe::{IoWake, PipeId};
use crate::transport::{Listener, PeerAddr};
use std::io;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The waker's token; other tokens are handed out from 1 upwards and never reused.
const WAKER: mio::Token = mio::Token(0);

/// What application threads ask of the I/O thread.
pub(crate) enum Command {
    Bind {
        socket: Arc<SocketShared>,
        listener: Listener,
        endpoint: String,
    },
    Connect {
        socket: Arc<SocketShared>,
        endpoint: String,
        addr: PeerAddr,
        /// The pipe created at `connect`, kept across reconnects (None: one per connection).
        pipe: Option<PipeId>,
        /// CONNECT_ROUTING_ID: the routing id to give this peer.
        routing_id: Option<bytes::Bytes>,
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
    Wake(IoWake),
    /// The application closed the socket: flush per linger, then forget it.
    Close {
        socket_id: u64,
        /// Signalled once the socket's listeners are closed (lingering goes on after).
        done: Done,
    },
    /// The context is gone: finish lingering sockets and exit.
    Shutdown,
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

/// The application side's handle on the I/O thread.
pub(crate) struct IoThread {
    queue: Mutex<Vec<Command>>,
    waker: mio::Waker,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl IoThread {
    /// Starts the I/O thread.
    pub fn start() -> io::Result<Arc<IoThread>> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let io = Arc::new(IoThread {
            queue: Mutex::new(Vec::new()),
            waker,
            thread: Mutex::new(None),
        });
        let for_thread = Arc::clone(&io);
        let handle = std::thread::Builder::new()
            .name("zocket-io".into())
            .spawn(move || reactor::Reactor::new(poll, for_thread).run())?;
        *io.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(io)
    }

    /// Queues commands; the thread is woken only when the queue was empty.
    pub fn send_all(&self, cmds: impl IntoIterator<Item = Command>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let was_empty = queue.is_empty();
        queue.extend(cmds);
        if was_empty && !queue.is_empty() {
            drop(queue);
            if let Err(e) = self.waker.wake() {
                log::error!("cannot wake the I/O thread: {e}");
            }
        }
    }

    pub fn send(&self, cmd: Command) {
        self.send_all(std::iter::once(cmd));
    }

    pub fn wake_all(&self, wakes: crate::pipe::Wakes) {
        if !wakes.is_empty() {
            self.send_all(wakes.into_iter().map(Command::Wake));
        }
    }

    fn take_commands(&self, into: &mut Vec<Command>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *queue, into);
    }

    /// Asks the thread to finish and waits for it (it lingers per socket options first).
    pub fn shutdown(&self) {
        self.send(Command::Shutdown);
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }
}
