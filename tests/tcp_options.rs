//! libzmq's TCP options reach the kernel: read back with getsockopt on the descriptors the
//! monitor reports (connections and listeners of this process), plus dual-stack binding, the
//! connect timeout against a peer that never answers, and the listen backlog.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};
use zocket::{Context, Socket, SocketEvent, SocketType};

mod common;

use common::{DEADLINE, next_event as next_of};

fn getsockopt(fd: RawFd, level: i32, name: i32) -> i32 {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for an int option.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut i32).cast(), &mut len) };
    assert_eq!(
        rc,
        0,
        "getsockopt({level}, {name}): {}",
        std::io::Error::last_os_error()
    );
    value
}

fn tuned(ctx: &Context, kind: SocketType) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_sndbuf(Some(96 * 1024)).unwrap();
    s.set_rcvbuf(Some(80 * 1024)).unwrap();
    s.set_tcp_keepalive(Some(true)).unwrap();
    s.set_tcp_keepalive_cnt(Some(4)).unwrap();
    s.set_tcp_keepalive_idle(Some(Duration::from_secs(30))).unwrap();
    s.set_tcp_keepalive_intvl(Some(Duration::from_secs(7))).unwrap();
    s.set_tos(Some(0x28)).unwrap();
    s.set_tcp_maxrt(Some(Duration::from_millis(4500))).unwrap();
    s
}

fn assert_tuned(fd: RawFd, what: &str) {
    // The kernel doubles what it is asked for (bookkeeping overhead), as libzmq users see.
    assert!(
        getsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF) >= 96 * 1024,
        "{what}: sndbuf"
    );
    assert!(
        getsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF) >= 80 * 1024,
        "{what}: rcvbuf"
    );
    assert_eq!(getsockopt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1, "{what}");
    assert_eq!(getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT), 4, "{what}");
    assert_eq!(
        getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
        30,
        "{what}"
    );
    assert_eq!(
        getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL),
        7,
        "{what}"
    );
    assert_eq!(getsockopt(fd, libc::IPPROTO_IP, libc::IP_TOS), 0x28, "{what}");
    assert_eq!(
        getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT),
        4500,
        "{what}"
    );
}

#[test]
fn options_reach_connected_and_accepted_sockets() {
    let ctx = Context::new();
    let pull = tuned(&ctx, SocketType::Pull);
    let pull_events = pull.monitor_events().unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = tuned(&ctx, SocketType::Push);
    let push_events = push.monitor_events().unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    next_of(&pull_events, SocketEvent::HandshakeSucceeded);
    let connected = next_of(&push_events, SocketEvent::Connected).value as RawFd;
    assert_tuned(connected, "the connecting side");
    push.send("x", 0).unwrap();
    pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.recv_bytes(0).unwrap();
    // The accepted side: its descriptor from the ACCEPTED event of a second connection.
    let other = ctx.socket(SocketType::Push).unwrap();
    other.connect(&pull.last_endpoint().unwrap()).unwrap();
    let fd = loop {
        let e = next_of(&pull_events, SocketEvent::Accepted);
        if e.peer.is_some() {
            break e.value as RawFd;
        }
    };
    assert_tuned(fd, "the accepting side");
    assert_eq!(push.tos(), Some(0x28));
}

#[test]
fn ipv6_binds_both_families_on_the_wildcard() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_ipv6(true).unwrap();
    if pull.bind("tcp://*:0").is_err() {
        println!("skipped: no IPv6 on this machine");
        return;
    }
    let endpoint = pull.last_endpoint().unwrap();
    assert!(endpoint.starts_with("tcp://[::]:"), "{endpoint}");
    let port = endpoint.rsplit(':').next().unwrap();
    pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
    for (family, target) in [
        ("v4", format!("tcp://127.0.0.1:{port}")),
        ("v6", format!("tcp://[::1]:{port}")),
    ] {
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&target).unwrap();
        push.send(family, 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), family.as_bytes());
    }
    // Without the option, `*` is IPv4 only, as in libzmq.
    let v4 = ctx.socket(SocketType::Pull).unwrap();
    v4.bind("tcp://*:0").unwrap();
    assert!(v4.last_endpoint().unwrap().starts_with("tcp://0.0.0.0:"));
}

/// A listener whose accept queue is full drops new SYNs: a connect to it hangs until the
/// connect timeout abandons it, then is retried.
#[test]
fn a_connect_that_hangs_is_abandoned_at_the_connect_timeout() {
    let full = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    full.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    full.listen(0).unwrap();
    let addr = full.local_addr().unwrap().as_socket().unwrap();
    // Fill the accept queue (never accepted).
    let _fillers: Vec<_> = (0..2)
        .filter_map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
        .collect();
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_connect_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    push.set_reconnect_ivl(Duration::from_millis(50)).unwrap();
    let events = push.monitor_events().unwrap();
    let started = Instant::now();
    push.connect(&format!("tcp://{addr}")).unwrap();
    next_of(&events, SocketEvent::ConnectDelayed);
    let closed = next_of(&events, SocketEvent::Closed);
    let waited = started.elapsed();
    assert!(closed.value > 2);
    assert!(
        waited >= Duration::from_millis(100),
        "not before the timeout: {waited:?}"
    );
    assert_eq!(next_of(&events, SocketEvent::ConnectRetried).value, 50);
    assert!(push.set_connect_timeout(Some(Duration::ZERO)).is_err());
}

#[test]
fn the_backlog_is_taken_at_bind() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    assert_eq!(pull.backlog(), 100, "libzmq's default");
    pull.set_backlog(5).unwrap();
    assert!(pull.set_backlog(-1).is_err());
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    push.send("fine", 0).unwrap();
    pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"fine");
}
