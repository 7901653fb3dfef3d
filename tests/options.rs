//! Options take effect at `bind` and `connect`, as in libzmq: a connection made later by the
//! same connect (a reconnection) keeps the options the connect was made with, and a later
//! connect takes the options as they are then.

use std::time::{Duration, Instant};
use zocket::{Context, Socket, SocketType};

const TIMEOUT: Duration = Duration::from_secs(10);

fn router(ctx: &Context, endpoint: &str) -> Socket {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let router = ctx.socket(SocketType::Router).unwrap();
        router.set_rcvtimeo(Some(Duration::from_millis(100))).unwrap();
        match router.bind(endpoint) {
            Ok(()) => return router,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("bind {endpoint}: {e}"),
        }
    }
}

/// Sends probes until one reaches `router`; returns the routing id it came with.
fn identity_seen(dealer: &Socket, router: &Socket) -> Vec<u8> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        dealer.send("probe", 0).unwrap();
        if let Ok(frames) = router.recv_multipart(0) {
            return frames[0].to_vec();
        }
        assert!(Instant::now() < deadline, "the dealer never reached the router");
    }
}

#[test]
fn a_reconnection_keeps_the_options_of_its_connect() {
    let ctx = Context::new();
    let first = router(&ctx, "tcp://127.0.0.1:0");
    let endpoint = first.last_endpoint().unwrap();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
    dealer.set_routing_id(b"before").unwrap();
    dealer.connect(&endpoint).unwrap();
    assert_eq!(identity_seen(&dealer, &first), b"before");

    dealer.set_routing_id(b"after").unwrap();
    drop(first);
    let second = router(&ctx, &endpoint);
    assert_eq!(
        identity_seen(&dealer, &second),
        b"before",
        "the reconnection announced an option set after its connect"
    );

    // A new connect takes the options as they are now.
    let other = router(&ctx, "tcp://127.0.0.1:0");
    let dealer2 = ctx.socket(SocketType::Dealer).unwrap();
    dealer2.set_routing_id(b"one").unwrap();
    dealer2.connect(&other.last_endpoint().unwrap()).unwrap();
    dealer2.set_routing_id(b"two").unwrap();
    let third = router(&ctx, "tcp://127.0.0.1:0");
    dealer2.connect(&third.last_endpoint().unwrap()).unwrap();
    assert_eq!(identity_seen(&dealer2, &other), b"one");
    assert_eq!(identity_seen(&dealer2, &third), b"two");
}
