//! The application thread's direct write: when a connection's I/O thread has nothing pending,
//! the thread that sends a message encodes and writes it itself, instead of waking the I/O
//! thread to do it. On a request/reply exchange this removes a thread hop from each send.
//!
//! Ownership of the byte stream is explicit, so frames from the two threads never interleave:
//! the I/O thread *claims* the stream before it writes anything, and *releases* it only when
//! its write buffer and the pipe are both empty, checking the pipe under this path's lock.
//! The application writes only while the stream is released; what it cannot finish (the
//! socket would block) it leaves as `leftover`, takes the stream, and wakes the I/O thread,
//! whose claim puts the leftover first. A message the application queues in the pipe while
//! the I/O thread sleeps on it hands the stream back first (`hand_to_io`), so no later
//! message overtakes it.

use crate::message::Parts;
use crate::pipe::{Direct, DirectWrite};
use crate::sync::{Mutex, MutexGuard};
use crate::transport::Stream;
use crate::ypipe;
use crate::zmtp::outbuf::OutBuf;
use crate::zmtp::protocol::Encoder;
use std::io::{self, IoSlice, Write};
use std::sync::Arc;

/// Where direct writes go: a duplicate of the connection's socket descriptor (a model stream
/// in the loom tests).
pub(crate) trait DirectSink: Send + 'static {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
}

impl DirectSink for socket2::Socket {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }
}

pub(crate) struct FastPath<S = socket2::Socket> {
    state: Mutex<State<S>>,
    /// The connection's counters, for what the application writes itself.
    counters: Option<Arc<crate::monitor::PeerCounters>>,
}

struct State<S> {
    /// None once retired.
    socket: Option<S>,
    encoder: Encoder,
    /// The I/O thread may have bytes to write: the application must not write.
    io_owns: bool,
    /// Bytes the application started writing but could not finish.
    leftover: OutBuf,
    /// The application's encode buffer, kept to reuse its allocation.
    scratch: OutBuf,
}

impl FastPath {
    /// A fast path for a connection whose handshake is done. The I/O thread owns the stream
    /// until it first releases it.
    pub fn new(
        stream: &Stream,
        encoder: Encoder,
        counters: Option<Arc<crate::monitor::PeerCounters>>,
    ) -> io::Result<FastPath> {
        let socket = match stream {
            Stream::Tcp(s) => socket2::SockRef::from(s).try_clone()?,
            Stream::Unix(s) => socket2::SockRef::from(s).try_clone()?,
        };
        let mut fast = FastPath::with_sink(socket, encoder);
        fast.counters = counters;
        Ok(fast)
    }
}

impl<S: DirectSink> FastPath<S> {
    /// A fast path writing to `socket`, owned by the I/O thread until it first releases it.
    pub fn with_sink(socket: S, encoder: Encoder) -> FastPath<S> {
        FastPath {
            state: Mutex::new(State {
                socket: Some(socket),
                encoder,
                io_owns: true,
                leftover: OutBuf::new(),
                scratch: OutBuf::new(),
            }),
            counters: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<S>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// I/O thread side, before it writes: takes the stream, with whatever the application
    /// left unwritten placed first.
    pub fn claim(&self, out: &mut OutBuf) {
        let mut st = self.lock();
        st.io_owns = true;
        if !st.leftover.is_empty() {
            out.prepend(std::mem::take(&mut st.leftover));
        }
    }

    /// I/O thread side, with nothing left to write: if the pipe is still empty, the
    /// application may write directly again. The check and the release are one step under
    /// this lock, so a message the application queues meanwhile is either seen here or
    /// queued after the release, when its flush finds the reader asleep and hands the
    /// stream back (`hand_to_io`) before any later message could be written directly.
    pub fn release_if_drained<T, const N: usize>(&self, pipe: &mut ypipe::Reader<T, N>) {
        let mut st = self.lock();
        if st.leftover.is_empty() && !pipe.check_read() {
            st.io_owns = false;
        }
    }

    /// I/O thread side, as the connection closes: no direct write any more, and the
    /// duplicate descriptor is closed now, not when the application lets go of this path.
    pub fn retire(&self) {
        let mut st = self.lock();
        st.io_owns = true;
        st.socket = None;
        st.leftover = OutBuf::new();
    }

    /// Whether the application left bytes for the I/O thread.
    pub fn has_leftover(&self) -> bool {
        !self.lock().leftover.is_empty()
    }
}

impl<S: DirectSink> DirectWrite for FastPath<S> {
    /// Application side: encodes and writes `msg` if the stream is released. What the
    /// socket does not take is left for the I/O thread, which then owns the stream.
    fn try_write(&self, msg: &Parts) -> Direct {
        let mut guard = self.lock();
        let st = &mut *guard;
        let Some(socket) = st.socket.as_mut().filter(|_| !st.io_owns) else {
            return Direct::Busy;
        };
        st.encoder.encode_message(msg, &mut st.scratch);
        if let Some(counters) = &self.counters {
            counters.add_out(1, msg.iter().map(|f| f.len() as u64).sum());
        }
        let written = st.scratch.write_with(|bufs| socket.write_vectored(bufs));
        if written.is_ok() && st.scratch.is_empty() {
            return Direct::Written;
        }
        // Would block, or failed (the I/O thread will see the error itself): hand over.
        st.leftover = std::mem::take(&mut st.scratch);
        st.io_owns = true;
        Direct::Handed
    }

    fn hand_to_io(&self) {
        self.lock().io_owns = true;
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
