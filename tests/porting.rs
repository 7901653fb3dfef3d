//! What code ported from rust-zmq or libzmq relies on: libzmq's errno numbers from real
//! failures, `io::Error` conversion, `version` and `has`, a getter per option, `recv_into`,
//! polling plain descriptors, and the readiness descriptor (`AsFd`).

use std::io::ErrorKind;
use zocket::{Context, DONTWAIT, Error, SocketType};

#[test]
fn real_failures_carry_libzmq_errno_numbers_and_io_kinds() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let again = pull.recv_bytes(DONTWAIT).unwrap_err();
    let os = std::io::Error::from_raw_os_error(again.errno());
    assert_eq!(os.kind(), ErrorKind::WouldBlock, "EAGAIN: {again}");
    assert_eq!(std::io::Error::from(again).kind(), ErrorKind::WouldBlock);

    let req = ctx.socket(SocketType::Req).unwrap();
    req.set_linger(Some(std::time::Duration::ZERO)).unwrap();
    req.connect("tcp://127.0.0.1:9").unwrap(); // never answers: the request waits in the pipe
    req.send("one", DONTWAIT).unwrap();
    let fsm = req.send("two", DONTWAIT).unwrap_err();
    assert_eq!(fsm.errno(), zocket::EFSM, "{fsm}");

    pull.bind("tcp://127.0.0.1:*").unwrap();
    let taken = pull.last_endpoint().unwrap();
    let other = ctx.socket(SocketType::Pull).unwrap();
    let in_use = other.bind(&taken).unwrap_err();
    let os = std::io::Error::from_raw_os_error(in_use.errno());
    assert_eq!(os.kind(), ErrorKind::AddrInUse, "{in_use}");
    assert_eq!(std::io::Error::from(in_use).kind(), ErrorKind::AddrInUse);

    let bad = other.connect("tcp://nowhere").unwrap_err();
    assert_eq!(
        std::io::Error::from_raw_os_error(bad.errno()).kind(),
        ErrorKind::InvalidInput
    );

    let io = std::io::Error::from(Error::Io(std::io::Error::from_raw_os_error(13)));
    assert_eq!(io.raw_os_error(), Some(13), "an OS error comes back as it was");

    drop((req, other));
    let handle = pull;
    ctx.shutdown();
    let term = handle.recv_bytes(0).unwrap_err();
    assert_eq!(term.errno(), zocket::ETERM, "{term}");
}

#[test]
fn version_and_capabilities() {
    let (major, minor, patch) = zocket::version();
    assert_eq!(format!("{major}.{minor}.{patch}"), env!("CARGO_PKG_VERSION"));
    for name in ["ipc", "tcp", "inproc", "curve"] {
        assert!(zocket::has(name), "{name}");
    }
    for name in ["pgm", "gssapi", "draft", ""] {
        assert!(!zocket::has(name), "{name}");
    }
}

/// Every option set is read back by its getter.
#[test]
fn every_option_has_a_getter() {
    use std::time::Duration;
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Router).unwrap();
    let ms = Duration::from_millis;
    s.set_sndhwm(7).unwrap();
    s.set_rcvhwm(8).unwrap();
    s.set_linger(Some(ms(9))).unwrap();
    s.set_sndtimeo(Some(ms(10))).unwrap();
    s.set_rcvtimeo(None).unwrap();
    s.set_reconnect_ivl(ms(11)).unwrap();
    s.set_reconnect_ivl_max(ms(12)).unwrap();
    s.set_handshake_ivl(Some(ms(13))).unwrap();
    s.set_maxmsgsize(Some(14)).unwrap();
    s.set_routing_id(b"me").unwrap();
    s.set_metadata("X-A:b").unwrap();
    s.set_immediate(true).unwrap();
    s.set_heartbeat_ivl(Some(ms(15))).unwrap();
    s.set_heartbeat_timeout(Some(ms(16))).unwrap();
    s.set_heartbeat_ttl(Some(ms(1700))).unwrap();
    s.set_router_mandatory(true).unwrap();
    s.set_router_handover(true).unwrap();
    assert_eq!((s.sndhwm(), s.rcvhwm(), s.linger()), (7, 8, Some(ms(9))));
    assert_eq!((s.sndtimeo(), s.rcvtimeo()), (Some(ms(10)), None));
    assert_eq!((s.reconnect_ivl(), s.reconnect_ivl_max()), (ms(11), ms(12)));
    assert_eq!((s.handshake_ivl(), s.maxmsgsize()), (Some(ms(13)), Some(14)));
    assert_eq!(
        (s.routing_id(), s.metadata()),
        (b"me".to_vec(), vec!["X-A:b".to_string()])
    );
    assert!(s.immediate());
    assert_eq!(
        (s.heartbeat_ivl(), s.heartbeat_timeout(), s.heartbeat_ttl()),
        (Some(ms(15)), Some(ms(16)), Some(ms(1700)))
    );
    assert!(s.router_mandatory() && s.router_handover());
    let req = ctx.socket(SocketType::Req).unwrap();
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    assert!(req.req_relaxed() && req.req_correlate());
    assert!(req.set_router_mandatory(true).is_err());
    assert!(!req.router_mandatory(), "a refused option is not recorded");
    let xpub = ctx.socket(SocketType::XPub).unwrap();
    xpub.set_xpub_verbose(true).unwrap();
    xpub.set_xpub_verboser(true).unwrap();
    xpub.set_xpub_manual(true).unwrap();
    xpub.set_xpub_welcome_msg(Some(b"hi")).unwrap();
    assert!(xpub.xpub_verbose() && xpub.xpub_verboser() && xpub.xpub_manual());
    assert_eq!(xpub.xpub_welcome_msg(), Some(b"hi".to_vec()));
}

#[test]
fn recv_into_cuts_a_frame_and_reports_its_size() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://into").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://into").unwrap();
    push.send_multipart(["a long first frame", "two"], 0).unwrap();
    let mut buf = [0u8; 6];
    assert_eq!(pull.recv_into(&mut buf, 0).unwrap(), 18);
    assert_eq!(&buf, b"a long");
    assert!(pull.get_rcvmore().unwrap());
    let mut big = [0u8; 16];
    assert_eq!(pull.recv_into(&mut big, 0).unwrap(), 3);
    assert_eq!(&big[..3], b"two");
    assert!(!pull.get_rcvmore().unwrap());
}

/// `PollItem::from_fd` polls a descriptor that is not a socket (a pipe here, stdin in a
/// program) alongside sockets; a blocked poll wakes for either.
#[test]
fn poll_waits_on_sockets_and_plain_descriptors_together() {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};
    use zocket::{POLLIN, PollItem};
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let (reader, mut writer) = std::io::pipe().unwrap();
    {
        let mut items = [
            pull.as_poll_item(POLLIN),
            PollItem::from_fd(reader.as_raw_fd(), POLLIN),
        ];
        assert_eq!(
            zocket::poll(&mut items, Some(Duration::from_millis(20))).unwrap(),
            0
        );
    }
    // The descriptor wakes a blocked poll.
    let poke = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        writer.write_all(b"x").unwrap();
        writer
    });
    let started = Instant::now();
    let mut items = [
        pull.as_poll_item(POLLIN),
        PollItem::from_fd(reader.as_raw_fd(), POLLIN),
    ];
    assert_eq!(zocket::poll(&mut items, Some(Duration::from_secs(5))).unwrap(), 1);
    assert!(items[1].is_readable() && !items[0].is_readable());
    assert!(started.elapsed() < Duration::from_secs(5));
    let _writer = poke.join().unwrap();
    // So does a message on the socket, while the pipe stays readable (it was not read):
    // both are reported.
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    push.send("m", 0).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut items = [
            pull.as_poll_item(POLLIN),
            PollItem::from_fd(reader.as_raw_fd(), POLLIN),
        ];
        zocket::poll(&mut items, Some(Duration::from_secs(5))).unwrap();
        if items[0].is_readable() {
            assert!(items[1].is_readable());
            break;
        }
        assert!(Instant::now() < deadline, "the socket never became readable");
    }
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"m");
}

/// A message that arrived before anyone watched wakes `poll(2)` on the readiness descriptor
/// at once (libzmq's contract: the descriptor is readable right after it is first asked for).
#[test]
fn the_readiness_fd_wakes_for_a_message_sent_before_the_first_events_call() {
    use std::os::fd::AsFd;
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    push.send("early", 0).unwrap();
    // Arrived at the socket (counted as it is handed over), with no call that reads it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while pull.stats().messages_in == 0 {
        assert!(Instant::now() < deadline, "the message never arrived");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut fds = [libc::pollfd {
        fd: pull.as_fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 5000) };
    assert_eq!(n, 1, "readable at once");
    assert_ne!(pull.events() & zocket::POLLIN, 0);
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"early");
}

/// Review regression: a closed descriptor in `poll` is an error, not a wait that spins.
#[test]
fn polling_a_closed_descriptor_is_an_error() {
    use std::os::fd::AsRawFd;
    // A number near the descriptor limit, closed: other tests' threads open the lowest free
    // numbers, so it stays closed (a low one could be reused before `poll` looks at it).
    let (reader, writer) = std::io::pipe().unwrap();
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and fcntl(F_DUPFD) on a descriptor we own; the copy is closed below.
    let fd = unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        let high = (limit.rlim_cur.min(1 << 20) as i32 - 8).max(64);
        let fd = libc::fcntl(reader.as_raw_fd(), libc::F_DUPFD, high);
        assert!(fd >= 0, "no descriptor free near the limit");
        libc::close(fd);
        fd
    };
    drop((reader, writer));
    let mut items = [zocket::PollItem::from_fd(fd, zocket::POLLIN)];
    let started = std::time::Instant::now();
    assert!(zocket::poll(&mut items, Some(std::time::Duration::from_secs(5))).is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}
