//! The raw-socket baseline: blocking std `TcpStream` / `UnixStream` with no framing at all.
//!
//! Latency: the client writes `size` bytes and reads `size` bytes back; the server echoes.
//! Throughput: the sender makes one `write()` call per message of `size` bytes (so small
//! messages cost a system call each); the receiver reads in 64 KiB chunks and times from its
//! first read to the last byte. `TCP_NODELAY` is on for TCP.

use super::Peer;
use crate::peer::{self, PeerError, PeerResult};
use crate::spec::{Job, Measured};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Instant;

/// The raw-socket peer roles.
pub struct Raw;

/// A connected stream of either transport.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Splits `tcp://host:port` or `ipc:///path` into its transport and address.
fn parse_endpoint(endpoint: &str) -> Result<(bool, &str), PeerError> {
    if let Some(addr) = endpoint.strip_prefix("tcp://") {
        Ok((true, addr))
    } else if let Some(path) = endpoint.strip_prefix("ipc://") {
        Ok((false, path))
    } else {
        Err(format!("unsupported endpoint {endpoint}").into())
    }
}

/// Binds, announces the endpoint, and accepts the one client.
fn accept(job: &Job) -> Result<Stream, PeerError> {
    match parse_endpoint(&job.endpoint)? {
        (true, addr) => {
            let listener = TcpListener::bind(addr)?;
            peer::announce(&format!("tcp://{}", listener.local_addr()?));
            let (stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            Ok(Stream::Tcp(stream))
        }
        (false, path) => {
            let _ = std::fs::remove_file(path);
            let listener = UnixListener::bind(path)?;
            peer::announce(&job.endpoint);
            let (stream, _) = listener.accept()?;
            let _ = std::fs::remove_file(path);
            Ok(Stream::Unix(stream))
        }
    }
}

/// Connects to the server's endpoint.
fn connect(job: &Job) -> Result<Stream, PeerError> {
    match parse_endpoint(&job.endpoint)? {
        (true, addr) => {
            let stream = TcpStream::connect(addr)?;
            stream.set_nodelay(true)?;
            Ok(Stream::Tcp(stream))
        }
        (false, path) => Ok(Stream::Unix(UnixStream::connect(path)?)),
    }
}

impl Peer for Raw {
    fn lat_server(&self, job: &Job) -> PeerResult {
        let mut stream = accept(job)?;
        let mut buf = vec![0u8; job.size];
        for _ in 0..job.warmup + job.count {
            stream.read_exact(&mut buf)?;
            stream.write_all(&buf)?;
        }
        peer::finish();
        Ok(())
    }

    fn lat_client(&self, job: &Job) -> PeerResult {
        let mut stream = connect(job)?;
        let payload = vec![0xA5u8; job.size];
        let mut reply = vec![0u8; job.size];
        peer::time_round_trips(job, || {
            stream.write_all(&payload)?;
            stream.read_exact(&mut reply)?;
            Ok(())
        })?;
        peer::finish();
        Ok(())
    }

    fn thr_receiver(&self, job: &Job) -> PeerResult {
        let mut stream = accept(job)?;
        let total = job.count * job.size as u64;
        let mut buf = vec![0u8; 64 * 1024];
        let first = stream.read(&mut buf)? as u64;
        let start = Instant::now();
        let mut received = first;
        while received < total {
            match stream.read(&mut buf)? {
                0 => return Err(format!("stream closed after {received} of {total} bytes").into()),
                n => received += n as u64,
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let units = (total - first) as f64 / job.size as f64;
        if units < 1.0 {
            return Err("the first read took every byte: too few messages to time".into());
        }
        peer::report(Measured { secs, units });
        peer::finish();
        Ok(())
    }

    fn thr_sender(&self, job: &Job) -> PeerResult {
        let mut stream = connect(job)?;
        let payload = vec![0xA5u8; job.size];
        for _ in 0..job.count {
            stream.write_all(&payload)?;
        }
        peer::finish();
        Ok(())
    }
}
