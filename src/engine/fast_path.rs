//! The application thread's direct write: when a connection's I/O thread has nothing pending,
//! the thread that sends a message encodes and writes it itself, instead of waking the I/O
//! thread to do it. On a request/reply exchange this removes a thread hop from each send.
//!
//! Ownership of the byte stream is explicit, so frames from the two threads never interleave:
//! the I/O thread *claims* the stream before it writes anything, and *releases* it (under the
//! socket lock) only when its write buffer, its batch and the pipe are all empty. The
//! application writes only while the stream is released; what it cannot finish (the socket
//! would block) it leaves as `leftover`, takes the stream, and wakes the I/O thread, whose claim
//! puts the leftover first.

use crate::pipe::{DirectWrite, Pipe};
use crate::transport::Stream;
use crate::zmtp::outbuf::OutBuf;
use crate::zmtp::protocol::Encoder;
use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard};

pub(crate) struct FastPath {
    state: Mutex<State>,
}

struct State {
    /// A duplicate of the connection's socket descriptor.
    socket: socket2::Socket,
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
    pub fn new(stream: &Stream, encoder: Encoder) -> io::Result<FastPath> {
        let socket = match stream {
            Stream::Tcp(s) => socket2::SockRef::from(s).try_clone()?,
            Stream::Unix(s) => socket2::SockRef::from(s).try_clone()?,
        };
        Ok(FastPath {
            state: Mutex::new(State {
                socket,
                encoder,
                io_owns: true,
                leftover: OutBuf::new(),
                scratch: OutBuf::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
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

    /// I/O thread side, under the socket lock, with nothing left to write: the application
    /// may write directly again.
    pub fn release(&self) {
        let mut st = self.lock();
        if st.leftover.is_empty() {
            st.io_owns = false;
        }
    }

    /// Whether the application left bytes for the I/O thread.
    pub fn has_leftover(&self) -> bool {
        !self.lock().leftover.is_empty()
    }
}

impl DirectWrite for FastPath {
    /// Application side, under the socket lock: writes the pipe's queued messages directly.
    /// Returns false when the I/O thread must be woken instead (it owns the stream, or the
    /// socket would block; then it owns the stream and the leftover).
    fn try_send(&self, pipe: &mut Pipe) -> bool {
        let mut guard = self.lock();
        let st = &mut *guard;
        if st.io_owns || pipe.outbound.iter().any(|(seq, _)| *seq != 0) {
            return false;
        }
        while let Some((_, msg)) = pipe.outbound.pop_front() {
            st.encoder.encode_message(&msg, &mut st.scratch);
        }
        let socket = &st.socket;
        let written = st.scratch.write_with(|bufs| (&*socket).write_vectored(bufs));
        if written.is_ok() && st.scratch.is_empty() {
            return true;
        }
        // Would block, or failed (the I/O thread will see the error itself): hand over.
        st.leftover = std::mem::take(&mut st.scratch);
        st.io_owns = true;
        false
    }
}
