//! loom model of the direct-write token: an application thread writing directly and the I/O
//! thread writing its own frames (a PING) to the same stream, which accepts only a few bytes
//! at a time, never interleave their frames, and lose or repeat none.

use super::*;
use crate::message::Parts;
use crate::socket_type::SocketType;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering, thread};
use crate::ypipe::loom_model as model;
use bytes::Bytes;

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
    Parts::from_iter([Bytes::from_static(body)])
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

/// The application sends A directly while the I/O thread, having just released the stream,
/// claims it again to write its own frame B; the stream takes `room` bytes, then blocks
/// until the end, when it drains and the I/O thread writes what is left.
fn direct_and_io_writes(room: usize) {
    model(move || {
        let encoder = Encoder::for_model(SocketType::Dealer);
        let stream = ModelStream::new(room);
        let fast = Arc::new(FastPath::with_sink(stream.clone(), encoder));
        // The socket lock, with the pipe it protects.
        let socket = Arc::new(Mutex::new(Pipe::new(0, 0)));
        fast.release(); // the handshake is done and the I/O thread has nothing to write
        let woken = Arc::new(AtomicBool::new(false));

        let app = {
            let (fast, socket, woken) = (fast.clone(), socket.clone(), woken.clone());
            thread::spawn(move || {
                let mut pipe = socket.lock().unwrap();
                pipe.outbound.push_back((0, message(b"AAAA")));
                if !fast.try_send(&mut pipe) {
                    woken.store(true, Ordering::SeqCst); // the I/O thread must write it
                }
            })
        };
        let mut io_stream = stream.clone();
        let mut out = OutBuf::new();
        encoder.encode_message(&message(b"BB"), &mut out);
        fast.claim(&mut out);
        out.write_with(|bufs| io_stream.write_vectored(bufs)).unwrap();
        app.join().unwrap();

        // The socket buffer drains; the I/O thread finishes its writes and the messages
        // the application left to it, claiming first as it always does.
        stream.room.store(usize::MAX, Ordering::SeqCst);
        fast.claim(&mut out);
        {
            let mut pipe = socket.lock().unwrap();
            let woken = woken.load(Ordering::SeqCst);
            assert!(
                woken || pipe.outbound.is_empty(),
                "a queued message nobody will write"
            );
            while let Some((_, msg)) = pipe.outbound.pop_front() {
                encoder.encode_message(&msg, &mut out);
            }
        }
        out.write_with(|bufs| io_stream.write_vectored(bufs)).unwrap();
        assert!(out.is_empty() && !fast.has_leftover());

        let mut got = frames(&stream.bytes.lock().unwrap());
        got.sort();
        assert_eq!(got, [b"AAAA".to_vec(), b"BB".to_vec()], "each frame once, whole");
    });
}

#[test]
fn loom_direct_write_and_io_write_never_interleave() {
    direct_and_io_writes(usize::MAX);
}

#[test]
fn loom_partial_direct_write_is_finished_first_by_the_io_thread() {
    direct_and_io_writes(3); // the application's frame (6 bytes) is cut after 3
}
