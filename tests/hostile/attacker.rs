//! A hostile raw ZMTP peer: a plain TCP stream that speaks ZMTP by hand (with the encoders of
//! `common`) and reports whether the victim took its bytes, stopped reading, or hung up.

use crate::common::{FLAG_COMMAND, encode_frame, greeting, parse_frame, ping_body, ready_body};
use socket2::{Domain, SockRef, Socket as RawSocket, Type};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A write that makes no progress for this long means the victim stopped reading.
const STALL: Duration = Duration::from_millis(500);

/// What became of bytes an attacker sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The victim took them all.
    Sent,
    /// The victim stopped reading (the write made no progress for `STALL`).
    Stalled,
    /// The victim closed or reset the connection.
    Closed,
}

pub struct Attacker {
    stream: TcpStream,
    inbuf: Vec<u8>,
}

fn address(endpoint: &str) -> SocketAddr {
    endpoint
        .strip_prefix("tcp://")
        .expect("a tcp:// endpoint")
        .parse()
        .expect("an address")
}

impl Attacker {
    pub fn connect(endpoint: &str) -> Attacker {
        Attacker::from_stream(TcpStream::connect(address(endpoint)).expect("connect"))
    }

    /// Connects with a receive buffer of about `bytes`: a peer that reads nothing fills it fast.
    pub fn connect_with_rcvbuf(endpoint: &str, bytes: usize) -> Attacker {
        let socket = RawSocket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        socket.connect(&address(endpoint).into()).expect("connect");
        Attacker::from_stream(socket.into())
    }

    fn from_stream(stream: TcpStream) -> Attacker {
        stream.set_nodelay(true).unwrap();
        stream.set_write_timeout(Some(STALL)).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        Attacker {
            stream,
            inbuf: Vec::new(),
        }
    }

    /// Connects and completes a NULL handshake as `socket_type` (ZMTP 3.1).
    pub fn handshaken(endpoint: &str, socket_type: &str) -> Attacker {
        let mut a = Attacker::connect(endpoint);
        a.handshake(greeting(1, [0; 8]), &[("Socket-Type", socket_type.as_bytes())]);
        a
    }

    /// Sends `greeting` and a READY with `props`, then reads the victim's greeting and READY;
    /// fails the test if the victim refuses.
    pub fn handshake(&mut self, greeting: [u8; 64], props: &[(&str, &[u8])]) {
        self.try_handshake(greeting, props)
            .unwrap_or_else(|e| panic!("the victim refused the handshake: {e}"));
    }

    /// Like [`handshake`](Self::handshake), reporting a refusal.
    pub fn try_handshake(&mut self, greeting: [u8; 64], props: &[(&str, &[u8])]) -> io::Result<()> {
        let mut out = greeting.to_vec();
        out.extend(encode_frame(FLAG_COMMAND, &ready_body(props)));
        if self.send(&out) != Outcome::Sent {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        self.read_handshake()
    }

    /// Reads the victim's greeting and READY (its properties' bytes are not checked).
    pub fn read_handshake(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + crate::harness::DEADLINE;
        while self.inbuf.len() < 64 {
            self.read_some(deadline)?;
        }
        self.inbuf.drain(..64);
        loop {
            if let Some((frame, used)) = parse_frame(&self.inbuf) {
                assert!(frame.is_command(), "the victim's READY is not a command");
                self.inbuf.drain(..used);
                return Ok(());
            }
            self.read_some(deadline)?;
        }
    }

    fn read_some(&mut self, deadline: Instant) -> io::Result<usize> {
        crate::common::read_some(&mut self.stream, &mut self.inbuf, deadline)
    }

    /// Sends `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> Outcome {
        match self.stream.write_all(bytes) {
            Ok(()) => Outcome::Sent,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Outcome::Stalled
            }
            Err(_) => Outcome::Closed,
        }
    }

    /// Sends `chunk` over and over, `total` bytes in all, unless the victim stops it first.
    pub fn flood(&mut self, chunk: &[u8], total: usize) -> Outcome {
        let mut sent = 0;
        while sent < total {
            let outcome = self.send(chunk);
            if outcome != Outcome::Sent {
                return outcome;
            }
            sent += chunk.len();
        }
        Outcome::Sent
    }

    /// Sends `bytes` in pieces of `piece` bytes, pausing `pause` after each (a slow peer).
    pub fn trickle(&mut self, bytes: &[u8], piece: usize, pause: Duration) -> Outcome {
        for part in bytes.chunks(piece) {
            let outcome = self.send(part);
            if outcome != Outcome::Sent {
                return outcome;
            }
            std::thread::sleep(pause);
        }
        Outcome::Sent
    }

    /// Reads (and drops) whatever arrives until the victim hangs up: true if it did within
    /// `within`.
    pub fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            self.inbuf.clear();
            match self.read_some(deadline) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return false,
                Err(_) => return true,
            }
        }
    }

    /// The next data message the victim sends (command frames skipped), within `within`.
    pub fn read_message(&mut self, within: Duration) -> io::Result<Vec<Vec<u8>>> {
        let deadline = Instant::now() + within;
        let mut parts = Vec::new();
        loop {
            while let Some((frame, used)) = parse_frame(&self.inbuf) {
                self.inbuf.drain(..used);
                if frame.is_command() {
                    continue;
                }
                let more = frame.more();
                parts.push(frame.body);
                if !more {
                    return Ok(parts);
                }
            }
            self.read_some(deadline)?;
        }
    }

    /// Sends a PING and waits for the PONG: the victim has parsed everything sent before.
    /// Data messages arriving meanwhile are dropped.
    pub fn ping_pong(&mut self, within: Duration) -> io::Result<()> {
        if self.send(&encode_frame(FLAG_COMMAND, &ping_body(100, b"mark"))) != Outcome::Sent {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let deadline = Instant::now() + within;
        loop {
            while let Some((frame, used)) = parse_frame(&self.inbuf) {
                self.inbuf.drain(..used);
                if frame.command_name() == Some(&b"PONG"[..]) {
                    return Ok(());
                }
            }
            self.read_some(deadline)?;
        }
    }

    /// Closes with a TCP reset instead of a FIN.
    pub fn reset(self) {
        let _ = SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
    }
}
