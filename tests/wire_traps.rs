//! The "wire traps" of DESIGN.md, one test each: places where other ZMTP implementations broke
//! interoperability with libzmq. Each test drives a zocket socket against a raw peer written by
//! hand over `std::net::TcpStream`, and checks the bytes on the wire.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, Socket, SocketType};

/// How long anything may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(5);
/// Read timeout of the raw streams: each blocking read returns after at most this.
const READ_SLICE: Duration = Duration::from_millis(10);

const FLAG_MORE: u8 = 0x01;
const FLAG_LONG: u8 = 0x02;
const FLAG_COMMAND: u8 = 0x04;

// ---------------------------------------------------------------------------------------------
// A raw ZMTP peer.

/// A 64-byte ZMTP 3.x greeting for the NULL mechanism.
fn greeting(minor: u8, padding: [u8; 8]) -> [u8; 64] {
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
fn encode_frame(flags: u8, body: &[u8]) -> Vec<u8> {
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

/// A frame header in the long (8-byte size) form, whatever the size.
fn long_header(flags: u8, size: u64) -> Vec<u8> {
    let mut out = vec![flags | FLAG_LONG];
    out.extend_from_slice(&size.to_be_bytes());
    out
}

/// A command body: name length, name, data.
fn command_body(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    body
}

/// A READY command body with the given properties, in the order given.
fn ready_body(props: &[(&str, &[u8])]) -> Vec<u8> {
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
fn ping_body(ttl: u16, context: &[u8]) -> Vec<u8> {
    let mut data = ttl.to_be_bytes().to_vec();
    data.extend_from_slice(context);
    command_body("PING", &data)
}

/// One frame as read off the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Frame {
    flags: u8,
    body: Vec<u8>,
    /// The frame exactly as it was on the wire, header included.
    wire: Vec<u8>,
}

impl Frame {
    fn is_command(&self) -> bool {
        self.flags & FLAG_COMMAND != 0
    }

    fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }

    fn command_name(&self) -> Option<&[u8]> {
        let len = usize::from(*self.body.first()?);
        self.is_command().then(|| self.body.get(1..1 + len)).flatten()
    }

    /// The command's data after its name.
    fn command_data(&self) -> &[u8] {
        let len = usize::from(self.body.first().copied().unwrap_or(0));
        self.body.get(1 + len..).unwrap_or(&[])
    }
}

/// Parses one frame from the front of `buf`: the frame and the bytes it took, or `None` if
/// `buf` does not hold all of it yet.
fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
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
fn ready_props(body: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
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

fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// A hand-driven ZMTP peer over a plain TCP stream with read timeouts.
struct RawPeer {
    stream: TcpStream,
    inbuf: Vec<u8>,
    /// The zocket side's greeting, once read.
    peer_greeting: Option<[u8; 64]>,
    /// The zocket side's READY frame, once read.
    peer_ready: Option<Frame>,
    /// Command frames skipped while reading data messages, in arrival order.
    commands: Vec<Frame>,
}

impl RawPeer {
    fn new(stream: TcpStream) -> RawPeer {
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

    fn connect(endpoint: &str) -> RawPeer {
        let addr = endpoint.strip_prefix("tcp://").expect("a tcp:// endpoint");
        RawPeer::new(TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}")))
    }

    /// Connects, sends a ZMTP 3.`minor` greeting and a READY announcing `socket_type`, and reads
    /// zocket's greeting and READY.
    fn handshaken(endpoint: &str, socket_type: &str, minor: u8) -> RawPeer {
        let mut raw = RawPeer::connect(endpoint);
        raw.handshake(minor, &[("Socket-Type", socket_type.as_bytes())]);
        raw
    }

    /// Sends our greeting (ZMTP 3.`minor`, zero padding) and READY; reads zocket's.
    fn handshake(&mut self, minor: u8, props: &[(&str, &[u8])]) {
        self.handshake_with(greeting(minor, [0; 8]), props);
    }

    fn handshake_with(&mut self, greeting: [u8; 64], props: &[(&str, &[u8])]) {
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

    fn send_raw(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("writing to zocket: {e}"));
    }

    fn send_command(&mut self, name: &str, data: &[u8]) {
        self.send_raw(&encode_frame(FLAG_COMMAND, &command_body(name, data)));
    }

    fn send_message(&mut self, parts: &[&[u8]]) {
        let mut out = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let flags = if i + 1 < parts.len() { FLAG_MORE } else { 0 };
            out.extend(encode_frame(flags, part));
        }
        self.send_raw(&out);
    }

    /// One read into the input buffer. `TimedOut` once `deadline` passed, `UnexpectedEof` when
    /// the peer closed.
    fn read_some(&mut self, deadline: Instant) -> io::Result<()> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if Instant::now() >= deadline {
                return Err(io::ErrorKind::TimedOut.into());
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    self.inbuf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn read_frame_until(&mut self, deadline: Instant) -> io::Result<Frame> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.inbuf) {
                self.inbuf.drain(..used);
                return Ok(frame);
            }
            self.read_some(deadline)?;
        }
    }

    /// The next frame, within the test deadline.
    fn read_frame(&mut self) -> Frame {
        self.read_frame_until(Instant::now() + DEADLINE)
            .unwrap_or_else(|e| panic!("reading a frame from zocket: {e}"))
    }

    /// The next whole data message; command frames before it go to `self.commands`.
    fn read_message_until(&mut self, deadline: Instant) -> io::Result<Vec<Vec<u8>>> {
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

    fn read_message(&mut self) -> Vec<Vec<u8>> {
        self.read_message_until(Instant::now() + DEADLINE)
            .unwrap_or_else(|e| panic!("reading a message from zocket: {e}"))
    }

    /// Reads frames until a command named `name` arrives (or one was already skipped); data
    /// frames met on the way fail the test.
    fn read_command(&mut self, name: &str) -> Frame {
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

    /// Reads (and keeps) whatever arrives until the peer closes the connection: true if it
    /// did (EOF or reset) within `within`.
    fn wait_closed(&mut self, within: Duration) -> bool {
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
struct RawListener {
    listener: TcpListener,
    endpoint: String,
}

impl RawListener {
    fn bind() -> RawListener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
        RawListener { listener, endpoint }
    }

    /// Waits (up to the deadline) for zocket to connect.
    fn accept(&self) -> RawPeer {
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

fn assert_closed(raw: &mut RawPeer, what: &str) {
    assert!(
        raw.wait_closed(DEADLINE),
        "{what}: zocket kept the connection open for {DEADLINE:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// zocket sockets under test.

/// A socket that never blocks a test for long and never lingers at exit.
fn socket(ctx: &Context, socket_type: SocketType) -> Socket {
    let s = ctx.socket(socket_type).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s.set_rcvtimeo(Some(DEADLINE)).unwrap();
    s.set_sndtimeo(Some(DEADLINE)).unwrap();
    s
}

/// A bound socket and its endpoint.
fn bound(ctx: &Context, socket_type: SocketType) -> (Socket, String) {
    let s = socket(ctx, socket_type);
    s.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = s.last_endpoint().unwrap();
    (s, endpoint)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn parts_text(parts: &[Vec<u8>]) -> Vec<String> {
    parts.iter().map(|p| text(p)).collect()
}

/// Deterministic pseudo-random bytes (xorshift64).
fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
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
// Trap 1: libzmq fills the greeting's padding with its identity length + 1.

#[test]
fn greeting_padding_need_not_be_zero() {
    let ctx = Context::new();
    let (pull, endpoint) = bound(&ctx, SocketType::Pull);
    let random: [u8; 8] = pseudo_random(42, 8).try_into().unwrap();
    let paddings: [[u8; 8]; 5] = [
        [0, 0, 0, 0, 0, 0, 0, 1], // libzmq, no identity
        [0, 0, 0, 0, 0, 0, 0, 6], // libzmq, 5-byte identity
        [0xFF; 8],
        random,
        [0; 8],
    ];
    for (i, padding) in paddings.into_iter().enumerate() {
        let mut raw = RawPeer::connect(&endpoint);
        raw.handshake_with(greeting(1, padding), &[("Socket-Type", b"PUSH")]);
        let msg = format!("padding {padding:02x?}");
        raw.send_message(&[msg.as_bytes()]);
        match pull.recv_bytes(0) {
            Ok(got) => assert_eq!(text(&got), msg, "case {i}"),
            Err(e) => panic!("a greeting with padding {padding:02x?} was not accepted: {e}"),
        }

        // zocket's own greeting: 0xFF, padding (ignored), 0x7F, 3.1, NULL, as-server 0, zeros.
        let g = raw.peer_greeting.unwrap();
        assert_eq!(g[0], 0xFF, "greeting {g:02x?}");
        assert_eq!(g[9], 0x7F, "greeting {g:02x?}");
        assert_eq!((g[10], g[11]), (3, 1), "zocket must announce ZMTP 3.1: {g:02x?}");
        assert_eq!(&g[12..32], b"NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(g[32], 0, "as-server must be 0 for NULL");
        assert!(g[33..].iter().all(|&b| b == 0), "filler must be zero: {g:02x?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Trap 2: libzmq sends PING to peers that announced 3.0 too.

#[test]
fn ping_on_a_3_0_connection_is_answered_with_pong() {
    let ctx = Context::new();
    let (pull, endpoint) = bound(&ctx, SocketType::Pull);
    for minor in [0u8, 1] {
        let mut raw = RawPeer::handshaken(&endpoint, "PUSH", minor);
        let contexts: [(u16, &[u8]); 4] = [
            (0, b""),
            (0, b"ctx-1"),
            (300, b"0123456789abcdef"), // 16 bytes, the maximum
            (1, &[0, 0xFF, 0x04]),
        ];
        for (ttl, context) in contexts {
            raw.send_raw(&encode_frame(FLAG_COMMAND, &ping_body(ttl, context)));
            let pong = raw.read_frame();
            let expected = encode_frame(FLAG_COMMAND, &command_body("PONG", context));
            assert_eq!(
                pong.wire, expected,
                "ZMTP 3.{minor} peer, PING ttl {ttl} context {context:02x?}: expected PONG {expected:02x?}"
            );
        }
        let msg = format!("data after PINGs on 3.{minor}");
        raw.send_message(&[msg.as_bytes()]);
        assert_eq!(text(&pull.recv_bytes(0).unwrap()), msg);
        assert!(
            matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
            "a PING or PONG reached the PULL application"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Trap 3: commands never reach the REQ/REP state machine or the application.

#[test]
fn ping_and_pong_never_reach_a_pull_application() {
    let ctx = Context::new();
    let (pull, endpoint) = bound(&ctx, SocketType::Pull);
    let mut raw = RawPeer::handshaken(&endpoint, "PUSH", 1);
    raw.send_raw(&encode_frame(FLAG_COMMAND, &ping_body(0, b"a")));
    raw.send_command("PONG", b"unsolicited");
    raw.send_message(&[b"first"]);
    raw.send_raw(&encode_frame(FLAG_COMMAND, &ping_body(10, b"b")));
    raw.send_message(&[b"second", b"part"]);
    assert_eq!(pull.recv_bytes(0).unwrap(), b"first");
    assert_eq!(
        pull.recv_multipart(0).unwrap(),
        vec![b"second".to_vec(), b"part".to_vec()]
    );
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    assert_eq!(raw.read_command("PONG").command_data(), b"a");
    assert_eq!(raw.read_command("PONG").command_data(), b"b");
}

#[test]
fn ping_never_reaches_the_rep_state_machine() {
    let ctx = Context::new();
    let (rep, endpoint) = bound(&ctx, SocketType::Rep);
    let mut raw = RawPeer::handshaken(&endpoint, "REQ", 1);
    raw.send_raw(&encode_frame(FLAG_COMMAND, &ping_body(0, b"p1")));
    raw.send_message(&[b"", b"hello"]);
    raw.send_raw(&encode_frame(FLAG_COMMAND, &ping_body(0, b"p2")));
    assert_eq!(rep.recv_multipart(0).unwrap(), vec![b"hello".to_vec()]);
    rep.send("world", 0).unwrap();
    assert_eq!(parts_text(&raw.read_message()), ["", "world"]);
    // A second round trip: the PINGs did not leave REP waiting for something else.
    raw.send_message(&[b"", b"again"]);
    assert_eq!(rep.recv_multipart(0).unwrap(), vec![b"again".to_vec()]);
    rep.send("again-reply", 0).unwrap();
    assert_eq!(parts_text(&raw.read_message()), ["", "again-reply"]);
    assert_eq!(raw.read_command("PONG").command_data(), b"p1");
    assert_eq!(raw.read_command("PONG").command_data(), b"p2");
}

#[test]
fn ping_never_reaches_the_req_state_machine() {
    let ctx = Context::new();
    let listener = RawListener::bind();
    let req = socket(&ctx, SocketType::Req);
    req.connect(&listener.endpoint).unwrap();
    req.send("q1", 0).unwrap();
    let mut raw = listener.accept();
    raw.handshake(1, &[("Socket-Type", b"REP")]);
    assert_eq!(parts_text(&raw.read_message()), ["", "q1"]);
    raw.send_raw(&encode_frame(FLAG_COMMAND, &ping_body(0, b"r1")));
    raw.send_message(&[b"", b"a1"]);
    assert_eq!(req.recv_multipart(0).unwrap(), vec![b"a1".to_vec()]);
    req.send("q2", 0).unwrap();
    assert_eq!(parts_text(&raw.read_message()), ["", "q2"]);
    raw.send_command("PONG", b"stray");
    raw.send_message(&[b"", b"a2"]);
    assert_eq!(req.recv_multipart(0).unwrap(), vec![b"a2".to_vec()]);
    assert_eq!(raw.read_command("PONG").command_data(), b"r1");
}

#[test]
fn subscribe_and_cancel_commands_never_reach_non_publishers() {
    // SUBSCRIBE/CANCEL mean something only to PUB/XPUB. Sent to any other socket type they must
    // not surface as data (ignoring them, or dropping the connection, are both acceptable).
    const D1: &[u8] = b"d1";
    const EMPTY: &[u8] = b"";
    /// (socket under test, the raw peer's type, message the peer sends, what the app gets)
    type Case = (
        SocketType,
        &'static str,
        &'static [&'static [u8]],
        &'static [&'static [u8]],
    );
    let cases: [Case; 6] = [
        (SocketType::Pull, "PUSH", &[D1], &[D1]),
        (SocketType::Pair, "PAIR", &[D1], &[D1]),
        (SocketType::Dealer, "DEALER", &[D1], &[D1]),
        (SocketType::Router, "DEALER", &[D1], &[EMPTY, D1]),
        (SocketType::Rep, "REQ", &[EMPTY, D1], &[D1]),
        (SocketType::Sub, "PUB", &[D1], &[D1]),
    ];
    let mut leaks = Vec::new();
    for (socket_type, peer_type, sent, expected) in cases {
        let ctx = Context::new();
        let (s, endpoint) = bound(&ctx, socket_type);
        if socket_type == SocketType::Sub {
            s.set_subscribe(b"").unwrap();
        }
        let mut raw = RawPeer::connect(&endpoint);
        // An empty Identity: a ROUTER generates the routing id, which is blanked below.
        raw.handshake(1, &[("Socket-Type", peer_type.as_bytes()), ("Identity", b"")]);
        raw.send_command("SUBSCRIBE", b"topic");
        raw.send_command("CANCEL", b"topic");
        raw.send_command("SUBSCRIBE", b"");
        raw.send_message(sent);
        let want: Vec<Vec<u8>> = expected.iter().map(|p| p.to_vec()).collect();
        let deadline = Instant::now() + DEADLINE;
        // Everything the application receives up to the data message (or the connection's end).
        loop {
            match s.recv_multipart(DONTWAIT) {
                Ok(mut got) => {
                    if socket_type == SocketType::Router {
                        got[0].clear();
                    }
                    if got == want {
                        break;
                    }
                    leaks.push(format!("{socket_type} received {got:?}"));
                    continue;
                }
                Err(Error::WouldBlock) => {}
                Err(e) => panic!("{socket_type}: recv failed: {e}"),
            }
            if raw.wait_closed(READ_SLICE) {
                break; // refusing the peer outright is acceptable too
            }
            assert!(
                Instant::now() < deadline,
                "{socket_type}: neither the data nor a closed connection"
            );
        }
        if socket_type == SocketType::Rep {
            s.send("reply", 0).unwrap(); // REP must answer before it may receive again
        }
        let rest = s.recv_multipart(DONTWAIT);
        if !matches!(rest, Err(Error::WouldBlock)) {
            leaks.push(format!("{socket_type} then received {rest:?}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "SUBSCRIBE/CANCEL commands reached the application as data:\n{}",
        leaks.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Trap 4: property names compare case-insensitively; zocket sends them in canonical casing.

#[test]
fn property_names_compare_case_insensitively() {
    let ctx = Context::new();
    let (pull, endpoint) = bound(&ctx, SocketType::Pull);
    for name in ["socket-type", "SOCKET-TYPE", "sOcKeT-tYpE", "Socket-Type"] {
        let mut raw = RawPeer::connect(&endpoint);
        raw.handshake(1, &[(name, b"PUSH")]);
        raw.send_message(&[name.as_bytes()]);
        match pull.recv_bytes(0) {
            Ok(got) => assert_eq!(text(&got), name),
            Err(e) => panic!("a READY with property {name:?} was not accepted: {e}"),
        }
    }

    let (router, endpoint) = bound(&ctx, SocketType::Router);
    for (i, name) in ["identity", "IDENTITY", "Identity"].into_iter().enumerate() {
        let id = format!("peer-{i}");
        let mut raw = RawPeer::connect(&endpoint);
        raw.handshake(1, &[("socket-type", b"DEALER"), (name, id.as_bytes())]);
        raw.send_message(&[b"hello"]);
        let got = router.recv_multipart(0).unwrap();
        assert_eq!(
            parts_text(&got),
            [id.as_str(), "hello"],
            "property {name:?} was not taken as the routing id"
        );
        router.send_multipart([id.as_str(), "back"], 0).unwrap();
        assert_eq!(parts_text(&raw.read_message()), ["back"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Trap 5: REQ, DEALER and ROUTER send Identity in READY (possibly empty); others do not.

#[test]
fn identity_property_is_sent_by_req_dealer_and_router_only() {
    // The RFC 37 / libzmq example: a DEALER with an empty identity, 41-byte body.
    let dealer_example: &[u8] =
        b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00";
    let cases: [(SocketType, &str, &str, bool); 11] = [
        (SocketType::Req, "REQ", "REP", true),
        (SocketType::Dealer, "DEALER", "ROUTER", true),
        (SocketType::Router, "ROUTER", "DEALER", true),
        (SocketType::Rep, "REP", "REQ", false),
        (SocketType::Push, "PUSH", "PULL", false),
        (SocketType::Pull, "PULL", "PUSH", false),
        (SocketType::Pub, "PUB", "SUB", false),
        (SocketType::Sub, "SUB", "PUB", false),
        (SocketType::XPub, "XPUB", "SUB", false),
        (SocketType::XSub, "XSUB", "PUB", false),
        (SocketType::Pair, "PAIR", "PAIR", false),
    ];
    let ctx = Context::new();
    for (socket_type, name, peer, sends_identity) in cases {
        let (_s, endpoint) = bound(&ctx, socket_type);
        let raw = RawPeer::handshaken(&endpoint, peer, 1);
        let ready = raw.peer_ready.unwrap();
        let mut props: Vec<(&str, &[u8])> = vec![("Socket-Type", name.as_bytes())];
        if sends_identity {
            props.push(("Identity", b""));
        }
        // Types that can receive from a spooled zocket sender announce, as an application
        // (X-) property, that they acknowledge delivery; libzmq ignores it.
        if matches!(name, "PULL" | "DEALER" | "ROUTER" | "REP" | "PAIR") {
            props.push(("X-Zocket-Ack", b"1"));
        }
        let expected = encode_frame(FLAG_COMMAND, &ready_body(&props));
        assert_eq!(
            ready.wire,
            expected,
            "{name}'s READY: got {:?}, expected {:?}",
            ready_props(&ready.body),
            props
        );
        if socket_type == SocketType::Dealer {
            // The RFC example's properties, then zocket's own.
            assert_eq!(
                &ready.wire[2..],
                &[&dealer_example[2..], b"\x0cX-Zocket-Ack\x00\x00\x00\x011"].concat()[..]
            );
        }
    }

    // With a routing id, on the connecting side too.
    let listener = RawListener::bind();
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.set_routing_id(b"client-7").unwrap();
    dealer.connect(&listener.endpoint).unwrap();
    let mut raw = listener.accept();
    raw.handshake(1, &[("Socket-Type", b"ROUTER"), ("Identity", b"")]);
    let ready = raw.peer_ready.clone().unwrap();
    assert_eq!(
        ready.wire,
        encode_frame(
            FLAG_COMMAND,
            &ready_body(&[
                ("Socket-Type", b"DEALER"),
                ("Identity", b"client-7"),
                ("X-Zocket-Ack", b"1")
            ])
        ),
        "DEALER with routing id: {:?}",
        ready_props(&ready.body)
    );
}

// ---------------------------------------------------------------------------------------------
// Trap 6: a frame's 64-bit length is checked against the maximum message size first.

#[test]
fn long_frame_sizes_are_checked_against_maxmsgsize_before_allocating() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_maxmsgsize(Some(1024)).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let good = socket(&ctx, SocketType::Push);
    good.connect(&endpoint).unwrap();
    let mut served = 0;
    let mut good_peer_is_served = |when: &str| {
        served += 1;
        let msg = format!("good {served}");
        good.send(msg.as_str(), 0).unwrap();
        match pull.recv_bytes(0) {
            Ok(got) => assert_eq!(text(&got), msg, "{when}"),
            Err(e) => panic!("{when}: the good peer was not served: {e}"),
        }
    };
    good_peer_is_served("before");

    // Decoders must accept the long form for small bodies, up to the limit itself.
    let mut raw = RawPeer::handshaken(&endpoint, "PUSH", 1);
    let mut out = long_header(0, 2);
    out.extend_from_slice(b"hi");
    out.extend(long_header(0, 1024));
    out.extend_from_slice(&[7; 1024]);
    raw.send_raw(&out);
    assert_eq!(
        pull.recv_bytes(0).expect("a 2-byte body in a long-form frame"),
        b"hi"
    );
    assert_eq!(
        pull.recv_bytes(0)
            .expect("a long-form frame of exactly MAXMSGSIZE"),
        vec![7; 1024]
    );
    good_peer_is_served("after long-form frames within the limit");

    let sizes: [(&str, u8, u64); 6] = [
        ("1025 bytes", 0, 1025),
        ("2^40 bytes", 0, 1 << 40),
        ("2^62 bytes", 0, 1 << 62),
        ("2^63-1 bytes", 0, i64::MAX as u64),
        ("2^64-1 bytes", 0, u64::MAX),
        ("a 2^40-byte command", FLAG_COMMAND, 1 << 40),
    ];
    for (what, flags, size) in sizes {
        let mut raw = RawPeer::handshaken(&endpoint, "PUSH", 1);
        raw.send_raw(&long_header(flags, size));
        assert_closed(
            &mut raw,
            &format!("a long frame announcing {what} (MAXMSGSIZE 1024)"),
        );
        good_peer_is_served(&format!("after a long frame announcing {what}"));
    }
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));

    // Without MAXMSGSIZE, sizes beyond the spec's 2^63-1 are still refused.
    let (pull2, endpoint2) = bound(&ctx, SocketType::Pull);
    let mut raw = RawPeer::handshaken(&endpoint2, "PUSH", 1);
    raw.send_raw(&long_header(0, u64::MAX));
    assert_closed(&mut raw, "a long frame announcing 2^64-1 bytes (no MAXMSGSIZE)");
    drop(pull2);
}

// ---------------------------------------------------------------------------------------------
// Trap 7: subscriptions travel as 1/0 messages to 3.0 peers, as commands to 3.1 peers, and
// both forms are accepted from anyone.

fn expected_subscription(minor: u8, subscribe: bool, topic: &[u8]) -> Vec<u8> {
    if minor == 0 {
        let mut body = vec![u8::from(subscribe)];
        body.extend_from_slice(topic);
        encode_frame(0, &body)
    } else {
        let name = if subscribe { "SUBSCRIBE" } else { "CANCEL" };
        encode_frame(FLAG_COMMAND, &command_body(name, topic))
    }
}

#[test]
fn sub_sends_subscriptions_in_the_form_of_the_publishers_version() {
    for minor in [0u8, 1] {
        let ctx = Context::new();
        let listener = RawListener::bind();
        let sub = socket(&ctx, SocketType::Sub);
        sub.set_subscribe(b"topic").unwrap();
        sub.connect(&listener.endpoint).unwrap();
        let mut raw = listener.accept();
        raw.handshake(minor, &[("Socket-Type", b"PUB")]);
        let frame = raw.read_frame();
        assert_eq!(
            frame.wire,
            expected_subscription(minor, true, b"topic"),
            "SUB's subscription to a ZMTP 3.{minor} publisher"
        );
        if minor == 1 {
            assert_eq!(frame.wire, b"\x04\x0f\x09SUBSCRIBEtopic");
        } else {
            assert_eq!(frame.wire, b"\x00\x06\x01topic");
        }

        // Subscriptions made once connected, and cancellations, follow the same rule.
        sub.set_subscribe(b"more").unwrap();
        assert_eq!(raw.read_frame().wire, expected_subscription(minor, true, b"more"));
        sub.set_unsubscribe(b"topic").unwrap();
        assert_eq!(
            raw.read_frame().wire,
            expected_subscription(minor, false, b"topic")
        );

        // And the data flows, filtered.
        raw.send_message(&[b"topic-1"]);
        raw.send_message(&[b"more-1"]);
        assert_eq!(sub.recv_bytes(0).unwrap(), b"more-1", "ZMTP 3.{minor} publisher");
        assert!(matches!(sub.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    }
}

#[derive(Clone, Copy, Debug)]
enum Form {
    Command,
    Message,
}

fn send_subscription(raw: &mut RawPeer, form: Form, subscribe: bool, topic: &[u8]) {
    match form {
        Form::Command => raw.send_command(if subscribe { "SUBSCRIBE" } else { "CANCEL" }, topic),
        Form::Message => {
            let mut body = vec![u8::from(subscribe)];
            body.extend_from_slice(topic);
            raw.send_message(&[&body]);
        }
    }
}

/// The first frame of a message read within a short slice, if any.
fn poll_message(raw: &mut RawPeer, label: &str) -> Option<String> {
    match raw.read_message_until(Instant::now() + READ_SLICE) {
        Ok(parts) => Some(text(&parts[0])),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => None,
        Err(e) => panic!("{label}: reading from the PUB failed: {e}"),
    }
}

#[test]
fn pub_accepts_subscribe_commands_and_subscription_messages() {
    for (minor, form) in [
        (1u8, Form::Command),
        (0, Form::Message),
        (1, Form::Message),
        (0, Form::Command),
    ] {
        let label = format!("a ZMTP 3.{minor} SUB subscribing with a {form:?}");
        let ctx = Context::new();
        let (publ, endpoint) = bound(&ctx, SocketType::Pub);
        let mut raw = RawPeer::handshaken(&endpoint, "SUB", minor);
        send_subscription(&mut raw, form, true, b"topic");

        // Publish until the subscription took effect; non-matching messages never arrive.
        let deadline = Instant::now() + DEADLINE;
        let mut i = 0u32;
        loop {
            assert!(Instant::now() < deadline, "{label}: no matching message arrived");
            i += 1;
            publ.send(format!("other-{i}"), 0).unwrap();
            publ.send(format!("topic-{i}"), 0).unwrap();
            if let Some(first) = poll_message(&mut raw, &label) {
                assert!(first.starts_with("topic-"), "{label}: received {first:?}");
                break;
            }
        }

        // Cancel, then subscribe to a marker: once a marker arrives the cancel took effect, and
        // no topic message published after it may follow.
        send_subscription(&mut raw, form, false, b"topic");
        send_subscription(&mut raw, form, true, b"mark");
        let mut first_mark: Option<u32> = None;
        let mut marks = 0;
        while marks < 5 {
            assert!(
                Instant::now() < deadline,
                "{label}: the marker subscription never took effect"
            );
            i += 1;
            publ.send(format!("topic-{i}"), 0).unwrap();
            publ.send(format!("mark-{i}"), 0).unwrap();
            let Some(msg) = poll_message(&mut raw, &label) else {
                continue;
            };
            if let Some(n) = msg.strip_prefix("mark-") {
                first_mark.get_or_insert(n.parse().unwrap());
                marks += 1;
            } else if let Some(n) = msg.strip_prefix("topic-") {
                let n: u32 = n.parse().unwrap();
                if let Some(mark) = first_mark {
                    assert!(
                        n <= mark,
                        "{label}: topic-{n} arrived after the CANCEL (mark-{mark})"
                    );
                }
            } else {
                panic!("{label}: received {msg:?}");
            }
        }
        assert!(
            raw.commands.is_empty(),
            "{label}: PUB sent commands {:?}",
            raw.commands
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Trap 8: SUB re-sends every subscription on a new connection, after a reconnect too.

/// Reads `n` frames and returns their wire bytes as a set (subscription order is free).
fn read_frame_set(raw: &mut RawPeer, n: usize) -> BTreeSet<Vec<u8>> {
    (0..n).map(|_| raw.read_frame().wire).collect()
}

#[test]
fn sub_resends_subscriptions_after_a_reconnect() {
    let ctx = Context::new();
    let listener = RawListener::bind();
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_reconnect_ivl(Duration::from_millis(10)).unwrap();
    sub.set_subscribe(b"a").unwrap();
    sub.set_subscribe(b"bb").unwrap();
    sub.connect(&listener.endpoint).unwrap();

    let mut first = listener.accept();
    first.handshake(1, &[("Socket-Type", b"PUB")]);
    let expected: BTreeSet<Vec<u8>> = [
        expected_subscription(1, true, b"a"),
        expected_subscription(1, true, b"bb"),
    ]
    .into();
    assert_eq!(read_frame_set(&mut first, 2), expected, "first connection");
    first.send_message(&[b"a-1"]);
    assert_eq!(sub.recv_bytes(0).unwrap(), b"a-1");
    drop(first);

    // The reconnection, this time to a publisher speaking ZMTP 3.1 again.
    let mut second = listener.accept();
    second.handshake(1, &[("Socket-Type", b"PUB")]);
    assert_eq!(read_frame_set(&mut second, 2), expected, "after the reconnect");
    // Nothing else (no duplicate subscription) before the answer to a PING sent now.
    second.send_raw(&encode_frame(FLAG_COMMAND, &ping_body(0, b"sync")));
    let next = second.read_frame();
    assert_eq!(
        next.wire,
        encode_frame(FLAG_COMMAND, &command_body("PONG", b"sync")),
        "after the reconnect"
    );
    second.send_message(&[b"bb-2"]);
    assert_eq!(sub.recv_bytes(0).unwrap(), b"bb-2");
    drop(second);

    // And once more, to a publisher speaking ZMTP 3.0: the same subscriptions, as messages.
    let mut third = listener.accept();
    third.handshake(0, &[("Socket-Type", b"PUB")]);
    let expected_3_0: BTreeSet<Vec<u8>> = [
        expected_subscription(0, true, b"a"),
        expected_subscription(0, true, b"bb"),
    ]
    .into();
    assert_eq!(
        read_frame_set(&mut third, 2),
        expected_3_0,
        "after a reconnect to 3.0"
    );
    third.send_message(&[b"a-3"]);
    third.send_message(&[b"c-3"]);
    third.send_message(&[b"bb-3"]);
    assert_eq!(sub.recv_bytes(0).unwrap(), b"a-3");
    assert_eq!(sub.recv_bytes(0).unwrap(), b"bb-3");
}
