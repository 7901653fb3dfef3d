//! What code ported from rust-zmq or libzmq relies on: libzmq's errno numbers from real
//! failures, `io::Error` conversion, `version` and `has`.

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
    for name in ["ipc", "tcp", "inproc"] {
        assert!(zocket::has(name), "{name}");
    }
    for name in ["curve", "pgm", "gssapi", "draft", ""] {
        assert!(!zocket::has(name), "{name}");
    }
}
