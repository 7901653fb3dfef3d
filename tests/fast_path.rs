//! The direct write: after a receive, the thread that sends to an idle connection writes to it
//! itself, while the I/O thread writes what other threads queued. Frames from the two writers
//! must never interleave on the wire. Here one thread alternates large multipart requests
//! (which the socket often cannot take at once, so the writer hands a half-written message
//! over) with receives, while another thread floods small multipart messages on the same
//! socket; the peer checks that every message arrives whole and in each sender's order.

use std::time::Duration;
use zocket::{Context, SocketType};

const TIMEOUT: Duration = Duration::from_secs(20);
const LARGE: usize = 256 * 1024;
const ROUNDS: u32 = 150;
const SMALL_PER_ROUND: u32 = 20;
const SMALL_BODY: usize = 2000;

/// A message whose three frames can be checked on their own: tag, body, tag again.
fn message(kind: u8, n: u32, body_len: usize) -> [Vec<u8>; 3] {
    let mut tag = vec![kind];
    tag.extend_from_slice(&n.to_be_bytes());
    [tag.clone(), vec![(n % 251) as u8 ^ kind; body_len], tag]
}

/// Checks a received message; returns its kind and number.
fn check(parts: &[Vec<u8>]) -> (u8, u32) {
    assert_eq!(parts.len(), 3, "a message arrives whole");
    assert_eq!(parts[0], parts[2], "tag frames match");
    assert_eq!(parts[0].len(), 5, "tag frame");
    let kind = parts[0][0];
    let n = u32::from_be_bytes(parts[0][1..5].try_into().unwrap());
    let fill = (n % 251) as u8 ^ kind;
    assert!(parts[1].iter().all(|&b| b == fill), "body of {kind}/{n} intact");
    (kind, n)
}

fn frames_never_interleave(endpoint: &str) {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Dealer).unwrap();
    server.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    server.bind(endpoint).unwrap();
    let client = ctx.socket(SocketType::Dealer).unwrap();
    client.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    client.connect(&server.last_endpoint().unwrap()).unwrap();

    std::thread::scope(|scope| {
        // The peer: checks everything, echoes the large requests.
        scope.spawn(|| {
            let (mut next_large, mut next_small) = (0, 0);
            while next_large < ROUNDS || next_small < ROUNDS * SMALL_PER_ROUND {
                let parts = server.recv_multipart(0).expect("the peer receives");
                match check(&parts) {
                    (b'L', n) => {
                        assert_eq!(n, next_large, "large messages in order");
                        next_large += 1;
                        server.send_multipart(&parts, 0).unwrap();
                    }
                    (b's', n) => {
                        assert_eq!(n, next_small, "small messages in order");
                        next_small += 1;
                        if n % 64 == 0 {
                            // A slow reader now and then, so that the kernel's buffers fill
                            // and writes stop halfway.
                            std::thread::sleep(Duration::from_millis(2));
                        }
                    }
                    other => panic!("unexpected message {other:?}"),
                }
            }
        });
        // Small messages from another thread, queued for the I/O thread meanwhile.
        scope.spawn(|| {
            for n in 0..ROUNDS * SMALL_PER_ROUND {
                client.send_multipart(message(b's', n, SMALL_BODY), 0).unwrap();
            }
        });
        // Request/reply: each send after a receive may take the direct write.
        for n in 0..ROUNDS {
            client.send_multipart(message(b'L', n, LARGE), 0).unwrap();
            let reply = client.recv_multipart(0).expect("the echo comes back");
            assert_eq!(check(&reply), (b'L', n));
        }
    });
}

#[test]
fn direct_and_io_thread_writes_never_interleave_over_tcp() {
    frames_never_interleave("tcp://127.0.0.1:0");
}

#[test]
fn direct_and_io_thread_writes_never_interleave_over_ipc() {
    let path = std::env::temp_dir().join(format!("zocket-fastpath-{}.sock", std::process::id()));
    frames_never_interleave(&format!("ipc://{}", path.display()));
}
