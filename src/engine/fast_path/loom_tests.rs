//! loom model of the direct-write token: an application thread queueing in the pipe and
//! writing directly, and the I/O thread writing its own frames (a PING) and draining the pipe
//! to the same stream, which accepts only a few bytes at a time, never interleave their
//! frames, keep the application's order, and lose or repeat none.

use super::*;
use crate::message::Parts;
use crate::pipe::Direct;
use crate::socket_type::SocketType;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering, thread};
use crate::ypipe;
use crate::ypipe::loom_model as model;

/// A byte stream shared by both writers that takes at most `room` more bytes, then would
/// block (as a full socket buffer does).
#[derive(Clone)]
struct ModelStream {
    bytes: Arc<Mutex<Vec<u8>>>,
    room: Arc<AtomicUsize>,
}

impl ModelStream {
    fn new(room: usize) -> ModelStream {
        ModelStream {
            bytes: Arc::new(Mutex::new(Vec::new())),
            room: Arc::new(AtomicUsize::new(room)),
        }
    }
}

impl DirectSink for ModelStream {
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut bytes = self.bytes.lock().unwrap();
        let room = self.room.load(Ordering::SeqCst);
        if room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut written = 0;
        for buf in bufs {
            let take = (room - written).min(buf.len());
            bytes.extend_from_slice(&buf[..take]);
            written += take;
        }
        self.room.fetch_sub(written, Ordering::SeqCst);
        Ok(written)
    }
}

fn message(body: &'static [u8]) -> Parts {
    Parts::from_iter([crate::message::Frame::from(body)])
}

/// Splits the stream into short frames (flags, size, body); panics on anything else.
fn frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "a torn frame header: {bytes:?}");
        let size = bytes[1] as usize;
        assert_eq!(
            bytes[0], 0,
            "interleaved bytes where a frame header belongs: {bytes:?}"
        );
        assert!(bytes.len() >= 2 + size, "a torn frame: {bytes:?}");
        out.push(bytes[2..2 + size].to_vec());
        bytes = &bytes[2 + size..];
    }
    out
}

/// The application queues A in the pipe (no direct-write credit), then sends C with credit,
/// while the I/O thread writes its own frame B, drains the pipe and releases the stream. The
/// stream takes `room` bytes, then blocks until the end, when it drains and the I/O thread
/// writes what is left. Every frame arrives once and whole, and A before C: a release that
/// raced the queueing of A must not let C overtake it.
fn direct_and_io_writes(room: usize) {
    model(move || {
        let encoder = Encoder::for_model(SocketType::Dealer);
        let stream = ModelStream::new(room);
        let fast = Arc::new(FastPath::with_sink(stream.clone(), encoder));
        let (mut tx, mut rx) = ypipe::with_chunk_len::<Parts, 4>(0);
        fast.release_if_drained(&mut rx); // the handshake is done, nothing to write
        let woken = Arc::new(AtomicBool::new(false));

        let app = {
            let (fast, woken) = (fast.clone(), woken.clone());
            thread::spawn(move || {
                // A, queued as `Pipes::push_out` does without credit.
                tx.write(message(b"AAAA"), false).unwrap();
                if tx.flush() == ypipe::Wake::Reader {
                    fast.hand_to_io();
                    woken.store(true, Ordering::SeqCst);
                }
                // C, with credit: directly if the stream is released, else queued.
                match fast.try_write(&message(b"CC")) {
                    Direct::Written => {}
                    Direct::Handed => woken.store(true, Ordering::SeqCst),
                    Direct::Busy => {
                        tx.write(message(b"CC"), false).unwrap();
                        if tx.flush() == ypipe::Wake::Reader {
                            fast.hand_to_io();
                            woken.store(true, Ordering::SeqCst);
                        }
                    }
                }
                tx
            })
        };
        let mut io_stream = stream.clone();
        let mut out = OutBuf::new();
        let drain = |rx: &mut ypipe::Reader<Parts, 4>, out: &mut OutBuf| {
            while let ypipe::Read::Frame { item, .. } = rx.read() {
                encoder.encode_message(&item, out);
            }
        };
        // One write event of the I/O thread: its own frame, then the pipe.
        fast.claim(&mut out);
        encoder.encode_message(&message(b"B"), &mut out);
        drain(&mut rx, &mut out);
        let _ = out.write_with(|bufs| io_stream.write_vectored(bufs));
        if out.is_empty() {
            fast.release_if_drained(&mut rx);
        }
        let _tx = app.join().unwrap();

        // The socket buffer drains; the I/O thread, woken or not, finishes: it claims first,
        // as it always does. Anything left in the pipe must have come with a wake-up.
        stream.room.store(usize::MAX, Ordering::SeqCst);
        let left = rx.peek();
        assert!(
            !left || woken.load(Ordering::SeqCst),
            "a queued message nobody will write"
        );
        fast.claim(&mut out);
        drain(&mut rx, &mut out);
        out.write_with(|bufs| io_stream.write_vectored(bufs)).unwrap();
        assert!(out.is_empty() && !fast.has_leftover());

        let got = frames(&stream.bytes.lock().unwrap());
        let position = |body: &[u8]| got.iter().position(|f| f == body);
        assert_eq!(got.len(), 3, "each frame once: {got:?}");
        let (a, c) = (position(b"AAAA"), position(b"CC"));
        assert!(position(b"B").is_some() && a.is_some() && c.is_some(), "{got:?}");
        assert!(a < c, "C overtook A: {got:?}");
    });
}

#[test]
fn loom_direct_write_and_io_write_never_interleave() {
    direct_and_io_writes(usize::MAX);
}

#[test]
fn loom_partial_direct_write_is_finished_first_by_the_io_thread() {
    direct_and_io_writes(3); // a frame is cut after 3 bytes
}
