//! Shared by the integration tests that talk ZMTP by hand (bad_input, wire_traps): a raw ZMTP
//! 3.x peer over a plain `std::net::TcpStream` (encoding, parsing, handshake, reading until EOF),
//! a raw listener for zocket sockets to connect to, and the zocket socket they face.
//!
//! Each test binary uses a different subset of this module. Submodules: `child` (a test
//! binary re-executed as a child process, for hostile and soak tests) and `fault_proxy`.
#![allow(dead_code)]

pub mod child;
pub mod fault_proxy;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use zocket::{Context, Socket, SocketType};

/// The next monitor event of kind `kind`, skipping others; fails the test after
/// [`DEADLINE`].
pub fn next_event(monitor: &zocket::Monitor, kind: zocket::SocketEvent) -> zocket::MonitorEvent {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Ok(event) if event.event == kind => return event,
            Ok(_) => {}
            Err(e) => panic!("no {kind:?} event within {DEADLINE:?}: {e}"),
        }
    }
}

/// How long anything may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(5);
/// Read timeout of the raw streams: each blocking read returns after at most this.
pub const READ_SLICE: Duration = Duration::from_millis(10);

pub const FLAG_MORE: u8 = 0x01;
pub const FLAG_LONG: u8 = 0x02;
pub const FLAG_COMMAND: u8 = 0x04;

// ---------------------------------------------------------------------------------------------
// A raw ZMTP peer.

/// A 64-byte ZMTP 3.x greeting for the NULL mechanism.
pub fn greeting(minor: u8, padding: [u8; 8]) -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xFF;
    g[1..9].copy_from_slice(&padding);
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = minor;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// A whole frame: short size form up to 255 bytes, long form above (as libzmq does).
pub fn encode_frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 9);
    if body.len() <= 255 {
        out.push(flags);
        out.push(body.len() as u8);
    } else {
        out.push(flags | FLAG_LONG);
        out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// A whole message: its parts as frames, MORE set on all but the last.
pub fn encode_message(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let flags = if i + 1 < parts.len() { FLAG_MORE } else { 0 };
        out.extend(encode_frame(flags, part));
    }
    out
}

/// A frame header in the long (8-byte size) form, whatever the size.
pub fn long_header(flags: u8, size: u64) -> Vec<u8> {
    let mut out = vec![flags | FLAG_LONG];
    out.extend_from_slice(&size.to_be_bytes());
    out
}

/// A command body: name length, name, data.
pub fn command_body(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    body
}

/// A READY command body with the given properties, in the order given.
pub fn ready_body(props: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = command_body("READY", b"");
    for (name, value) in props {
        body.push(name.len() as u8);
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(&(value.len() as u32).to_be_bytes());
        body.extend_from_slice(value);
    }
    body
}

/// A PING body: TTL in deciseconds, then the context.
pub fn ping_body(ttl: u16, context: &[u8]) -> Vec<u8> {
    let mut data = ttl.to_be_bytes().to_vec();
    data.extend_from_slice(context);
    command_body("PING", &data)
}

/// One frame as read off the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub flags: u8,
    pub body: Vec<u8>,
    /// The frame exactly as it was on the wire, header included.
    pub wire: Vec<u8>,
}

impl Frame {
    pub fn is_command(&self) -> bool {
        self.flags & FLAG_COMMAND != 0
    }

    pub fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }

    pub fn command_name(&self) -> Option<&[u8]> {
        let len = usize::from(*self.body.first()?);
        self.is_command().then(|| self.body.get(1..1 + len)).flatten()
    }

    /// The command's data after its name.
    pub fn command_data(&self) -> &[u8] {
        let len = usize::from(self.body.first().copied().unwrap_or(0));
        self.body.get(1 + len..).unwrap_or(&[])
    }
}

/// Parses one frame from the front of `buf`: the frame and the bytes it took, or `None` if
/// `buf` does not hold all of it yet.
pub fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    let &flags = buf.first()?;
    let (header, size) = if flags & FLAG_LONG != 0 {
        let size: [u8; 8] = buf.get(1..9)?.try_into().expect("8 bytes");
        (9, u64::from_be_bytes(size))
    } else {
        (2, u64::from(*buf.get(1)?))
    };
    assert!(size < 64 << 20, "zocket announced a frame of {size} bytes");
    let end = header + size as usize;
    let body = buf.get(header..end)?.to_vec();
    let wire = buf[..end].to_vec();
    Some((Frame { flags, body, wire }, end))
}

/// The properties of a READY body, in wire order.
pub fn ready_props(body: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    assert!(body.starts_with(b"\x05READY"), "not a READY body: {body:02x?}");
    let mut rest = &body[6..];
    let mut props = Vec::new();
    while let Some((&name_len, tail)) = rest.split_first() {
        let name_len = usize::from(name_len);
        let name = tail[..name_len].to_vec();
        let value_len = u32::from_be_bytes(tail[name_len..name_len + 4].try_into().unwrap()) as usize;
        let value = tail[name_len + 4..name_len + 4 + value_len].to_vec();
        rest = &tail[name_len + 4 + value_len..];
        props.push((name, value));
    }
    props
}

/// One read from `stream` (a socket with a read timeout) into `inbuf`; returns the bytes read.
/// `TimedOut` once `deadline` passed, `UnexpectedEof` when the peer closed.
pub fn read_some(stream: &mut TcpStream, inbuf: &mut Vec<u8>, deadline: Instant) -> io::Result<usize> {
    let mut chunk = [0u8; 64 * 1024];
    loop {
        if Instant::now() >= deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                inbuf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if is_retry(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// A hand-driven ZMTP peer over a plain TCP stream with read timeouts.
pub struct RawPeer {
    stream: TcpStream,
    pub inbuf: Vec<u8>,
    /// The zocket side's greeting, once read.
    pub peer_greeting: Option<[u8; 64]>,
    /// The zocket side's READY frame, once read.
    pub peer_ready: Option<Frame>,
    /// Command frames skipped while reading data messages, in arrival order.
    pub commands: Vec<Frame>,
}

impl RawPeer {
    /// Wraps a connected stream: blocking, with `READ_SLICE` read timeouts.
    pub fn new(stream: TcpStream) -> RawPeer {
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(READ_SLICE)).unwrap();
        stream.set_write_timeout(Some(DEADLINE)).unwrap();
        stream.set_nodelay(true).unwrap();
        RawPeer {
            stream,
            inbuf: Vec::new(),
            peer_greeting: None,
            peer_ready: None,
            commands: Vec::new(),
        }
    }

    pub fn connect(endpoint: &str) -> RawPeer {
        let addr = endpoint.strip_prefix("tcp://").expect("a tcp:// endpoint");
        RawPeer::new(TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}")))
    }

    /// Connects, sends a ZMTP 3.`minor` greeting and a READY announcing `socket_type`, and reads
    /// zocket's greeting and READY.
    pub fn handshaken(endpoint: &str, socket_type: &str, minor: u8) -> RawPeer {
        let mut raw = RawPeer::connect(endpoint);
        raw.handshake(minor, &[("Socket-Type", socket_type.as_bytes())]);
        raw
    }

    /// Sends our greeting (ZMTP 3.`minor`, zero padding) and READY; reads zocket's.
    pub fn handshake(&mut self, minor: u8, props: &[(&str, &[u8])]) {
        self.handshake_with(greeting(minor, [0; 8]), props);
    }

    /// Sends `greeting` and a READY with `props`; reads zocket's greeting and READY.
    pub fn handshake_with(&mut self, greeting: [u8; 64], props: &[(&str, &[u8])]) {
        let mut out = greeting.to_vec();
        out.extend(encode_frame(FLAG_COMMAND, &ready_body(props)));
        self.send_raw(&out);
        self.read_peer_handshake();
    }

    fn read_peer_handshake(&mut self) {
        let deadline = Instant::now() + DEADLINE;
        while self.inbuf.len() < 64 {
            self.read_some(deadline)
                .unwrap_or_else(|e| panic!("reading zocket's greeting: {e}"));
        }
        let g: Vec<u8> = self.inbuf.drain(..64).collect();
        self.peer_greeting = Some(g.try_into().expect("64 bytes"));
        let ready = self
            .read_frame_until(deadline)
            .unwrap_or_else(|e| panic!("reading zocket's READY: {e}"));
        assert_eq!(
            ready.command_name(),
            Some(&b"READY"[..]),
            "zocket's first frame is not READY: {ready:?}"
        );
        self.peer_ready = Some(ready);
    }

    /// Sends `bytes`; fails the test if zocket does not take them.
    /// This end's address, as the zocket side sees the peer.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.stream.local_addr().unwrap()
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.try_send_raw(bytes)
            .unwrap_or_else(|e| panic!("writing to zocket: {e}"));
    }

    pub fn send_command(&mut self, name: &str, data: &[u8]) {
        self.send_raw(&encode_frame(FLAG_COMMAND, &command_body(name, data)));
    }

    /// Sends a PING with a TTL of `ttl` deciseconds and `context`.
    pub fn send_ping(&mut self, ttl: u16, context: &[u8]) {
        self.send_raw(&encode_frame(FLAG_COMMAND, &ping_body(ttl, context)));
    }

    pub fn send_message(&mut self, parts: &[&[u8]]) {
        self.send_raw(&encode_message(parts));
    }

    /// Sends `bytes`, reporting a failure (zocket may have closed the connection already).
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub fn try_send_frame(&mut self, flags: u8, body: &[u8]) -> io::Result<()> {
        self.try_send_raw(&encode_frame(flags, body))
    }

    pub fn try_send_message(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        self.try_send_raw(&encode_message(parts))
    }

    fn read_some(&mut self, deadline: Instant) -> io::Result<()> {
        read_some(&mut self.stream, &mut self.inbuf, deadline).map(drop)
    }

    pub fn read_frame_until(&mut self, deadline: Instant) -> io::Result<Frame> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.inbuf) {
                self.inbuf.drain(..used);
                return Ok(frame);
            }
            self.read_some(deadline)?;
        }
    }

    /// The next frame, within the test deadline.
    pub fn read_frame(&mut self) -> Frame {
        self.read_frame_until(Instant::now() + DEADLINE)
            .unwrap_or_else(|e| panic!("reading a frame from zocket: {e}"))
    }

    /// The next whole data message; command frames before it go to `self.commands`.
    pub fn read_message_until(&mut self, deadline: Instant) -> io::Result<Vec<Vec<u8>>> {
        loop {
            let mut offset = 0;
            let mut parts = Vec::new();
            while let Some((frame, used)) = parse_frame(&self.inbuf[offset..]) {
                offset += used;
                if frame.is_command() {
                    assert!(
                        parts.is_empty(),
                        "a command frame inside a multipart message: {frame:?}"
                    );
                    self.inbuf.drain(..offset);
                    offset = 0;
                    self.commands.push(frame);
                    continue;
                }
                let more = frame.more();
                parts.push(frame.body);
                if !more {
                    self.inbuf.drain(..offset);
                    return Ok(parts);
                }
            }
            self.read_some(deadline)?;
        }
    }

    pub fn read_message(&mut self) -> Vec<Vec<u8>> {
        self.read_message_until(Instant::now() + DEADLINE)
            .unwrap_or_else(|e| panic!("reading a message from zocket: {e}"))
    }

    /// Reads frames until a command named `name` arrives (or one was already skipped); data
    /// frames met on the way fail the test.
    pub fn read_command(&mut self, name: &str) -> Frame {
        if let Some(pos) = self
            .commands
            .iter()
            .position(|c| c.command_name() == Some(name.as_bytes()))
        {
            return self.commands.remove(pos);
        }
        let frame = self.read_frame();
        assert_eq!(
            frame.command_name(),
            Some(name.as_bytes()),
            "expected a {name} command, zocket sent {frame:?}"
        );
        frame
    }

    /// The underlying stream (to clone it, or to write without blocking).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Closes our sending side (the peer reads EOF); reading still works.
    pub fn shutdown_write(&self) {
        self.stream.shutdown(std::net::Shutdown::Write).unwrap();
    }

    /// Reads (and keeps) whatever arrives until the peer closes the connection: true if it
    /// did (EOF or reset) within `within`.
    pub fn wait_closed(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            match self.read_some(deadline) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return false,
                Err(_) => return true,
            }
        }
    }
}

/// A raw TCP listener that zocket sockets connect to.
pub struct RawListener {
    listener: TcpListener,
    pub endpoint: String,
}

impl RawListener {
    pub fn bind() -> RawListener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
        RawListener { listener, endpoint }
    }

    /// Waits (up to the deadline) for zocket to connect.
    pub fn accept(&self) -> RawPeer {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => return RawPeer::new(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(
                        Instant::now() < deadline,
                        "zocket did not connect within {DEADLINE:?}"
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }
}

/// Asserts that zocket closes the raw connection within the deadline.
pub fn assert_closed(raw: &mut RawPeer, what: &str) {
    assert!(
        raw.wait_closed(DEADLINE),
        "{what}: zocket kept the connection open for {DEADLINE:?} (it sent {} bytes after the handshake)",
        raw.inbuf.len()
    );
}

/// Deterministic pseudo-random bytes (xorshift64).
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// zocket sockets under test.

/// A socket that never blocks a test for long and never lingers at exit.
pub fn socket(ctx: &Context, socket_type: SocketType) -> Socket {
    let s = ctx.socket(socket_type).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s.set_rcvtimeo(Some(DEADLINE)).unwrap();
    s.set_sndtimeo(Some(DEADLINE)).unwrap();
    s
}

/// A socket bound on loopback (see [`socket`]) and its endpoint.
pub fn bound(ctx: &Context, socket_type: SocketType) -> (Socket, String) {
    let s = socket(ctx, socket_type);
    s.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = s.last_endpoint().unwrap();
    (s, endpoint)
}

/// Bytes waiting in the kernel's receive queue of a loopback TCP connection whose remote port
/// is `remote_port` (and local port `local_port`, if given), from /proc/net/tcp; `None` while
/// the kernel does not list it. Empty once the receiving side has read everything sent.
#[allow(dead_code)]
pub fn tcp_receive_queue(local_port: Option<u16>, remote_port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port_of = |address: &str| {
        let (host, port) = address.split_once(':')?;
        (host == "0100007F").then(|| u16::from_str_radix(port, 16).ok())?
    };
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local = port_of(fields.get(1)?)?;
        let remote = port_of(fields.get(2)?)?;
        if remote != remote_port || local_port.is_some_and(|p| p != local) {
            return None;
        }
        let (_, queued) = fields.get(4)?.split_once(':')?;
        u64::from_str_radix(queued, 16).ok()
    })
}
