//! Bytes waiting to be written: small frames are copied into one staging buffer, large bodies
//! are kept as their own chunks (no copy), so one vectored write sends many frames.

use crate::message::Frame;
use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::IoSlice;

/// At most this many buffers in one vectored write.
const MAX_IOVECS: usize = 64;

/// Bodies at least this large are queued by reference instead of copied.
const COPY_LIMIT: usize = 4096;

/// An ordered queue of bytes to write.
#[derive(Default)]
pub struct OutBuf {
    chunks: VecDeque<Bytes>,
    staging: BytesMut,
    len: usize,
}

impl OutBuf {
    /// An empty buffer.
    pub fn new() -> OutBuf {
        OutBuf::default()
    }

    /// Number of bytes queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The staging buffer, for encoders that write small pieces in place. Call
    /// [`OutBuf::staged`] afterwards with the number of bytes added.
    pub(crate) fn staging(&mut self) -> &mut BytesMut {
        &mut self.staging
    }

    /// Accounts for `n` bytes written into [`OutBuf::staging`].
    pub(crate) fn staged(&mut self, n: usize) {
        self.len += n;
    }

    /// Appends a copy of `bytes`.
    pub fn push_slice(&mut self, bytes: &[u8]) {
        self.staging.extend_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends a message frame's payload, by reference when large.
    pub(crate) fn push_frame(&mut self, frame: &Frame) {
        match frame.as_shared() {
            Some(bytes) if bytes.len() >= COPY_LIMIT => self.push_bytes(bytes),
            _ => self.push_slice(frame),
        }
    }

    /// Appends `bytes`, by reference when large.
    pub fn push_bytes(&mut self, bytes: &Bytes) {
        if bytes.len() < COPY_LIMIT {
            self.push_slice(bytes);
            return;
        }
        if !self.staging.is_empty() {
            self.chunks.push_back(self.staging.split().freeze());
        }
        self.chunks.push_back(bytes.clone());
        self.len += bytes.len();
    }

    /// Fills `slices` with the queued bytes in order; returns how many were filled.
    pub fn io_slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for chunk in &self.chunks {
            if n == slices.len() {
                return n;
            }
            slices[n] = IoSlice::new(chunk);
            n += 1;
        }
        if n < slices.len() && !self.staging.is_empty() {
            slices[n] = IoSlice::new(&self.staging);
            n += 1;
        }
        n
    }

    /// Drops the first `n` bytes (they were written).
    pub fn advance(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            if let Some(front) = self.chunks.front_mut() {
                if n >= front.len() {
                    n -= front.len();
                    self.chunks.pop_front();
                } else {
                    front.advance(n);
                    return;
                }
            } else {
                self.staging.advance(n);
                return;
            }
        }
    }

    /// Puts `front` before everything queued.
    pub fn prepend(&mut self, mut front: OutBuf) {
        if front.is_empty() {
            return;
        }
        if !front.staging.is_empty() {
            front.chunks.push_back(front.staging.split().freeze());
        }
        self.len += front.len;
        while let Some(chunk) = front.chunks.pop_back() {
            self.chunks.push_front(chunk);
        }
    }

    /// Writes with `write` (a vectored write) until everything is written or it would block.
    /// Returns the number of bytes written; other errors are returned as they are.
    pub fn write_with(
        &mut self,
        mut write: impl FnMut(&[IoSlice<'_>]) -> std::io::Result<usize>,
    ) -> std::io::Result<usize> {
        let mut total = 0;
        while !self.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let n = self.io_slices(&mut slices);
            match write(&slices[..n]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    self.advance(written);
                    total += written;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(buf: &OutBuf) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 64];
        let n = buf.io_slices(&mut slices);
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn order_is_kept_across_small_and_large() {
        let mut buf = OutBuf::new();
        buf.push_slice(b"ab");
        let big = Bytes::from(vec![9u8; COPY_LIMIT]);
        buf.push_bytes(&big);
        buf.push_slice(b"cd");
        let all = collect(&buf);
        assert_eq!(all.len(), buf.len());
        assert_eq!(&all[..2], b"ab");
        assert_eq!(&all[all.len() - 2..], b"cd");
        buf.advance(3);
        assert_eq!(collect(&buf).len(), buf.len());
        buf.advance(buf.len());
        assert!(buf.is_empty());
    }

    #[test]
    fn prepend_keeps_both_orders() {
        let mut back = OutBuf::new();
        back.push_slice(b"cd");
        let mut front = OutBuf::new();
        front.push_slice(b"a");
        front.push_bytes(&Bytes::from(vec![b'b'; COPY_LIMIT]));
        back.prepend(front);
        let all = collect(&back);
        assert_eq!(all.len(), back.len());
        assert_eq!(all[0], b'a');
        assert_eq!(&all[all.len() - 3..], b"bcd");
        let mut sink = Vec::new();
        let n = back
            .write_with(|bufs| std::io::Write::write_vectored(&mut sink, bufs))
            .unwrap();
        assert_eq!(n, all.len());
        assert_eq!(sink, all);
    }
}
