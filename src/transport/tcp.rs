//! TCP: binding with `*`, port 0 or an interface name; connecting to host names, which are
//! resolved at each connection attempt (off the I/O thread), from an optional source
//! address (`tcp://source;host:port`).

use crate::error::{Error, Result};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

fn invalid(endpoint: &str, reason: String) -> Error {
    Error::InvalidEndpoint {
        endpoint: endpoint.to_string(),
        reason,
    }
}

/// Where a TCP connector connects to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Addr(SocketAddr),
    /// A host name, looked up at each attempt.
    Name(String, u16),
}

/// Looks `host` up (IPv4 preferred, as libzmq does without ZMQ_IPV6). Blocking: never on an
/// I/O thread.
pub(crate) fn lookup(host: &str, port: u16) -> io::Result<SocketAddr> {
    #[cfg(test)]
    if let Some(addr) = test_names::lookup(host, port) {
        return addr;
    }
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address")))
}

/// The address of the network interface named `name` (IPv4 preferred), if there is one.
fn interface_addr(name: &str, port: u16) -> Option<SocketAddr> {
    let mut found: Option<IpAddr> = None;
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we only read, then free once.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return None;
    }
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned, not yet freed.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let ifname = unsafe { std::ffi::CStr::from_ptr(entry.ifa_name) };
        if ifname.to_bytes() != name.as_bytes() || entry.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr points to a sockaddr whose family says which struct it is.
        let ip = unsafe {
            match i32::from((*entry.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let sin = &*(entry.ifa_addr as *const libc::sockaddr_in);
                    Some(IpAddr::from(u32::from_be(sin.sin_addr.s_addr).to_be_bytes()))
                }
                libc::AF_INET6 => {
                    let sin6 = &*(entry.ifa_addr as *const libc::sockaddr_in6);
                    Some(IpAddr::from(sin6.sin6_addr.s6_addr))
                }
                _ => None,
            }
        };
        match (ip, found) {
            (Some(ip), None) => found = Some(ip),
            (Some(ip @ IpAddr::V4(_)), Some(IpAddr::V6(_))) => found = Some(ip),
            _ => {}
        }
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    found.map(|ip| SocketAddr::new(ip, port))
}

/// A local address to bind: `*`, an IP address, an interface name (`lo`, `eth0`) or a host
/// name, in that order, as libzmq does.
fn local_addr(endpoint: &str, host: &str, port: u16) -> Result<SocketAddr> {
    if host == "*" {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if let Some(addr) = interface_addr(host, port) {
        return Ok(addr);
    }
    lookup(host, port).map_err(|e| invalid(endpoint, format!("no interface or host `{host}`: {e}")))
}

/// What a connector needs: the peer (an address, or a name to look up at each attempt) and
/// the optional source address (`tcp://source;host:port`).
pub(super) fn peer(
    endpoint: &str,
    host: &str,
    port: u16,
    source: Option<&str>,
) -> Result<(Target, Option<SocketAddr>)> {
    if host == "*" {
        return Err(invalid(
            endpoint,
            "cannot connect to the wildcard host `*`".into(),
        ));
    }
    if port == 0 {
        return Err(invalid(endpoint, "cannot connect to port 0".into()));
    }
    let target = match host.parse::<IpAddr>() {
        Ok(ip) => Target::Addr(SocketAddr::new(ip, port)),
        Err(_) if valid_name(host) => Target::Name(host.to_string(), port),
        Err(_) => return Err(invalid(endpoint, format!("`{host}` is not a host name"))),
    };
    let source = source.map(|s| source_addr(endpoint, s)).transpose()?;
    Ok((target, source))
}

/// A host name as DNS allows it: letters, digits, `-`, `_` and dots, at most 253 bytes.
fn valid_name(host: &str) -> bool {
    host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// The source part of `tcp://source;host:port`: `address`, `interface` or either with
/// `:port`.
fn source_addr(endpoint: &str, source: &str) -> Result<SocketAddr> {
    let (host, port) = match source.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.ends_with(':') => {
            let port = match port {
                "*" | "" => 0,
                p => p
                    .parse()
                    .map_err(|_| invalid(endpoint, "bad source port".into()))?,
            };
            (host, port)
        }
        _ => (source, 0),
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    local_addr(endpoint, host, port)
}

pub(super) fn bind(
    endpoint: &str,
    host: &str,
    port: u16,
    tuning: &super::TcpTuning,
) -> Result<(mio::net::TcpListener, String)> {
    let mut addr = local_addr(endpoint, host, port)?;
    let dual_stack = tuning.ipv6 && host == "*";
    if dual_stack {
        addr = SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), port);
    }
    let io_error = |e: io::Error| match e.kind() {
        io::ErrorKind::AddrInUse => Error::AddrInUse(endpoint.to_string()),
        io::ErrorKind::AddrNotAvailable => Error::AddrNotAvailable(endpoint.to_string()),
        _ => Error::Io(e),
    };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM.cloexec(),
        Some(socket2::Protocol::TCP),
    )?;
    if dual_stack {
        socket.set_only_v6(false)?;
    }
    // As std's listeners do: rebinding right after a close does not wait for TIME_WAIT.
    socket.set_reuse_address(true)?;
    tuning.apply(socket2::SockRef::from(&socket))?;
    socket.bind(&addr.into()).map_err(io_error)?;
    socket.listen(tuning.backlog).map_err(io_error)?;
    socket.set_nonblocking(true)?;
    let listener: std::net::TcpListener = socket.into();
    let local = listener.local_addr()?;
    let resolved = format!("tcp://{local}");
    Ok((mio::net::TcpListener::from_std(listener), resolved))
}

/// Starts a non-blocking connect to `to`, from `from` if given, with `tuning` applied first.
pub(super) fn connect(
    to: SocketAddr,
    from: Option<SocketAddr>,
    tuning: &super::TcpTuning,
) -> io::Result<mio::net::TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(to),
        socket2::Type::STREAM.cloexec(),
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    tuning.apply(socket2::SockRef::from(&socket))?;
    if let Some(from) = from {
        socket.set_reuse_address(true)?;
        socket.bind(&from.into())?;
    }
    match socket.connect(&to.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(socket.into()))
}

/// Names the unit tests resolve without DNS, and can move to another address meanwhile.
#[cfg(test)]
pub(crate) mod test_names {
    use std::collections::HashMap;
    use std::net::{IpAddr, SocketAddr};
    use std::sync::Mutex;

    static NAMES: Mutex<Option<HashMap<String, Option<IpAddr>>>> = Mutex::new(None);

    /// Makes `name` resolve to `ip` (`None`: not resolvable) from the next attempt on.
    pub fn set(name: &str, ip: Option<IpAddr>) {
        let mut names = NAMES.lock().unwrap();
        names
            .get_or_insert_with(HashMap::new)
            .insert(name.to_string(), ip);
    }

    pub(super) fn lookup(host: &str, port: u16) -> Option<std::io::Result<SocketAddr>> {
        let names = NAMES.lock().unwrap();
        let ip = names.as_ref()?.get(host)?;
        Some(match ip {
            Some(ip) => Ok(SocketAddr::new(*ip, port)),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not resolvable (test)",
            )),
        })
    }
}
