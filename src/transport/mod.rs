//! Transports: parsing endpoints, binding listeners and opening streams for `tcp://` and
//! `ipc://`. Everything here runs on the caller's thread so that errors reach the caller.

mod ipc;
mod tcp;
mod tuning;

pub(crate) use tuning::TcpTuning;

use crate::error::{Error, Result};
use std::io::{self, IoSlice, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

/// A parsed endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `tcp://host:port`; host may be `*`, an IPv4 address, `[IPv6]`, an interface (bind)
    /// or a host name. A connect may name its source first: `tcp://source;host:port`.
    Tcp {
        host: String,
        port: u16,
        source: Option<String>,
    },
    /// `ipc://path`; `*` asks for a fresh path.
    Ipc(PathBuf),
}

impl Endpoint {
    /// Parses an endpoint string, naming the problem when it is not valid.
    pub fn parse(endpoint: &str) -> Result<Endpoint> {
        let invalid = |reason: &str| Error::InvalidEndpoint {
            endpoint: endpoint.to_string(),
            reason: reason.to_string(),
        };
        let Some((scheme, rest)) = endpoint.split_once("://") else {
            return Err(invalid("expected transport://address"));
        };
        match scheme {
            "tcp" => {
                let (source, rest) = match rest.split_once(';') {
                    Some((source, rest)) if !source.is_empty() => (Some(source.to_string()), rest),
                    Some(_) => return Err(invalid("empty source address before `;`")),
                    None => (None, rest),
                };
                let Some((host, port)) = rest.rsplit_once(':') else {
                    return Err(invalid("a tcp endpoint needs host:port"));
                };
                let host = host
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .unwrap_or(host);
                if host.is_empty() {
                    return Err(invalid("empty host"));
                }
                let port = match port {
                    "*" => 0,
                    p => p
                        .parse::<u16>()
                        .map_err(|_| invalid("the port is not a number from 0 to 65535"))?,
                };
                Ok(Endpoint::Tcp {
                    host: host.to_string(),
                    port,
                    source,
                })
            }
            "ipc" => {
                if rest.is_empty() {
                    return Err(invalid("empty ipc path"));
                }
                Ok(Endpoint::Ipc(PathBuf::from(rest)))
            }
            _ => Err(Error::UnsupportedTransport(endpoint.to_string())),
        }
    }
}

/// Where a connector connects to. A host name is looked up at each attempt, off the I/O
/// thread (see `engine::connector`), as libzmq does: a peer may come back on a new address,
/// and a name need not resolve yet at `connect`.
#[derive(Clone, Debug)]
pub(crate) enum PeerAddr {
    Tcp {
        target: tcp::Target,
        source: Option<SocketAddr>,
    },
    Ipc(PathBuf),
}

impl PeerAddr {
    /// Checks an endpoint for connecting; names are not looked up here.
    pub fn for_connect(endpoint: &str, parsed: &Endpoint) -> Result<PeerAddr> {
        match parsed {
            Endpoint::Tcp { host, port, source } => {
                let (target, source) = tcp::peer(endpoint, host, *port, source.as_deref())?;
                Ok(PeerAddr::Tcp { target, source })
            }
            Endpoint::Ipc(path) => Ok(PeerAddr::Ipc(path.clone())),
        }
    }

    /// The host name to look up before each attempt, if the peer is named.
    pub fn name(&self) -> Option<(&str, u16)> {
        match self {
            PeerAddr::Tcp {
                target: tcp::Target::Name(host, port),
                ..
            } => Some((host, *port)),
            _ => None,
        }
    }

    /// Starts a non-blocking connection; a named peer needs its address, `looked_up`. A TCP
    /// socket gets `tuning` before it connects.
    pub fn connect(&self, looked_up: Option<SocketAddr>, tuning: &TcpTuning) -> io::Result<Stream> {
        match self {
            PeerAddr::Tcp { target, source } => {
                let to = match (target, looked_up) {
                    (tcp::Target::Addr(addr), _) => *addr,
                    (tcp::Target::Name(..), Some(addr)) => addr,
                    (tcp::Target::Name(host, _), None) => {
                        let e = format!("{host} was not looked up");
                        return Err(io::Error::new(io::ErrorKind::NotFound, e));
                    }
                };
                tcp::connect(to, *source, tuning).map(Stream::Tcp)
            }
            PeerAddr::Ipc(path) => ipc::connect(path).map(Stream::Unix),
        }
    }
}

/// Looks up a host name (blocking).
pub(crate) use tcp::lookup;
#[cfg(test)]
pub(crate) use tcp::test_names;

/// A bound listener.
pub(crate) enum Listener {
    Tcp(mio::net::TcpListener),
    Ipc(ipc::IpcListener),
}

impl Listener {
    /// Binds `parsed`; returns the listener and the real endpoint (with the port chosen by the
    /// system for port 0, or the generated path for `ipc://*`).
    pub fn bind(endpoint: &str, parsed: &Endpoint, tuning: &TcpTuning) -> Result<(Listener, String)> {
        match parsed {
            Endpoint::Tcp { source: Some(_), .. } => Err(Error::InvalidEndpoint {
                endpoint: endpoint.to_string(),
                reason: "a source address (`source;`) is for connecting, not binding".into(),
            }),
            Endpoint::Tcp { host, port, .. } => {
                let (l, resolved) = tcp::bind(endpoint, host, *port, tuning)?;
                Ok((Listener::Tcp(l), resolved))
            }
            Endpoint::Ipc(path) => {
                let (l, resolved) = ipc::IpcListener::bind(endpoint, path)?;
                Ok((Listener::Ipc(l), resolved))
            }
        }
    }

    /// Accepts one pending connection; a TCP one gets `tuning`.
    pub fn accept(&self, tuning: &TcpTuning) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                let _ = s.set_nodelay(true);
                if let Err(e) = tuning.apply(socket2::SockRef::from(&s)) {
                    log::debug!("cannot apply TCP options to an accepted connection: {e}");
                }
                Ok(Stream::Tcp(s))
            }
            Listener::Ipc(l) => l.accept().map(Stream::Unix),
        }
    }

    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Listener::Tcp(l) => l,
            Listener::Ipc(l) => l.source(),
        }
    }

    /// The descriptor, as monitor events report it.
    pub fn raw_fd(&mut self) -> u64 {
        use std::os::fd::AsRawFd;
        match self {
            Listener::Tcp(l) => l.as_raw_fd() as u64,
            Listener::Ipc(l) => l.raw_fd(),
        }
    }
}

/// A connected (or connecting) byte stream.
pub(crate) enum Stream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

impl Stream {
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }

    /// The descriptor, as monitor events report it.
    pub fn raw_fd(&self) -> u64 {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Tcp(s) => s.as_raw_fd() as u64,
            Stream::Unix(s) => s.as_raw_fd() as u64,
        }
    }

    /// The peer's address as an endpoint (`tcp://a.b.c.d:port`, `ipc://path`), when known:
    /// a Unix-domain client is usually unnamed.
    pub fn peer_endpoint(&self) -> Option<String> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok().map(|a| format!("tcp://{a}")),
            Stream::Unix(s) => {
                let addr = s.peer_addr().ok()?;
                addr.as_pathname().map(|p| format!("ipc://{}", p.display()))
            }
        }
    }

    /// The peer's IP address, for TCP (libzmq's `Peer-Address` property).
    pub fn peer_ip(&self) -> Option<String> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok().map(|a| a.ip().to_string()),
            Stream::Unix(_) => None,
        }
    }

    /// After a writable event on a connecting stream: `Ok(true)` once connected.
    pub fn finish_connect(&mut self) -> io::Result<bool> {
        match self {
            Stream::Tcp(s) => {
                if let Some(err) = s.take_error()? {
                    return Err(err);
                }
                match s.peer_addr() {
                    Ok(_) => {
                        let _ = s.set_nodelay(true);
                        Ok(true)
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Stream::Unix(s) => {
                if let Some(err) = s.take_error()? {
                    return Err(err);
                }
                Ok(true)
            }
        }
    }

    /// Reads into the spare capacity of `buf` (reserving `chunk` bytes when less than a
    /// quarter of that is left), without zeroing it first and without an intermediate copy.
    /// Returns the bytes read and the bytes asked for.
    pub fn read_into(&mut self, buf: &mut bytes::BytesMut, chunk: usize) -> io::Result<(usize, usize)> {
        if buf.capacity() - buf.len() < chunk / 4 {
            buf.reserve(chunk);
        }
        let spare = buf.spare_capacity_mut();
        let asked = spare.len();
        let n = match self {
            Stream::Tcp(s) => socket2::SockRef::from(&*s).recv(spare)?,
            Stream::Unix(s) => socket2::SockRef::from(&*s).recv(spare)?,
        };
        // SAFETY: recv initialised the first `n` bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n) };
        Ok((n, asked))
    }

    /// Shuts down the writing half: the peer reads what was sent, then end-of-stream.
    pub fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
        }
    }

    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints() {
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:5555").unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 5555,
                source: None
            }
        );
        assert_eq!(
            Endpoint::parse("tcp://[::1]:0").unwrap(),
            Endpoint::Tcp {
                host: "::1".into(),
                port: 0,
                source: None
            }
        );
        assert_eq!(
            Endpoint::parse("tcp://*:*").unwrap(),
            Endpoint::Tcp {
                host: "*".into(),
                port: 0,
                source: None
            }
        );
        assert_eq!(
            Endpoint::parse("tcp://eth0:7;host.example:5555").unwrap(),
            Endpoint::Tcp {
                host: "host.example".into(),
                port: 5555,
                source: Some("eth0:7".into())
            }
        );
        assert!(Endpoint::parse("tcp://;h:1").is_err(), "an empty source");
        assert_eq!(
            Endpoint::parse("ipc:///tmp/x").unwrap(),
            Endpoint::Ipc("/tmp/x".into())
        );
        assert!(matches!(
            Endpoint::parse("tcp://nohost"),
            Err(Error::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            Endpoint::parse("tcp://h:99999"),
            Err(Error::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            Endpoint::parse("foo://x"),
            Err(Error::UnsupportedTransport(_))
        ));
        assert!(matches!(
            Endpoint::parse("nonsense"),
            Err(Error::InvalidEndpoint { .. })
        ));
    }
}
