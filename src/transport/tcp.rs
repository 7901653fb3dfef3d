//! TCP: binding with `*` and port 0, resolving host names for connecting.

use crate::error::{Error, Result};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

fn invalid(endpoint: &str, reason: String) -> Error {
    Error::InvalidEndpoint {
        endpoint: endpoint.to_string(),
        reason,
    }
}

/// Resolves `host` (IPv4 preferred, as libzmq does without ZMQ_IPV6).
fn resolve(endpoint: &str, host: &str, port: u16) -> Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| invalid(endpoint, format!("cannot resolve host `{host}`: {e}")))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| invalid(endpoint, format!("host `{host}` has no address")))
}

pub(super) fn resolve_peer(endpoint: &str, host: &str, port: u16) -> Result<SocketAddr> {
    if host == "*" {
        return Err(invalid(
            endpoint,
            "cannot connect to the wildcard host `*`".into(),
        ));
    }
    if port == 0 {
        return Err(invalid(endpoint, "cannot connect to port 0".into()));
    }
    resolve(endpoint, host, port)
}

pub(super) fn bind(endpoint: &str, host: &str, port: u16) -> Result<(mio::net::TcpListener, String)> {
    let addr = if host == "*" {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
    } else {
        resolve(endpoint, host, port)?
    };
    let listener = std::net::TcpListener::bind(addr).map_err(|e| match e.kind() {
        io::ErrorKind::AddrInUse => Error::AddrInUse(endpoint.to_string()),
        io::ErrorKind::AddrNotAvailable => Error::AddrNotAvailable(endpoint.to_string()),
        _ => Error::Io(e),
    })?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let resolved = format!("tcp://{local}");
    Ok((mio::net::TcpListener::from_std(listener), resolved))
}
