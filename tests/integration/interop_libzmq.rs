//! Interoperability with libzmq itself (through the `zmq` crate, which builds libzmq 4.3).
//!
//! Every scenario runs over tcp and ipc, once with zocket binding and libzmq connecting and
//! once the other way round; scenarios exist for each direction of traffic. Every blocking
//! call has a timeout, and nothing sleeps: waits are on a condition with a deadline.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use zocket::SocketType as Z;

/// The longest any single send or receive may block before the test fails.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a subscription may take to reach a publisher that gives no sign of it.
const SUBSCRIPTION_DEADLINE: Duration = Duration::from_secs(10);
/// How long a subscriber waits for each probe while a subscription is on its way.
const PROBE_WAIT: Duration = Duration::from_millis(20);

type Frames = Vec<Vec<u8>>;

#[derive(Clone, Copy, Debug)]
enum Transport {
    Tcp,
    Ipc,
}

/// Which library binds; the other connects.
#[derive(Clone, Copy, Debug)]
enum Binder {
    Zocket,
    Libzmq,
}

// ---------------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------------

/// Removes an ipc socket file when the test ends (whichever library bound it).
struct IpcFile(Option<PathBuf>);

impl Drop for IpcFile {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// An address to bind: tcp on an ephemeral port, or a fresh ipc path unique to this test.
fn bind_address(transport: Transport) -> (String, IpcFile) {
    match transport {
        Transport::Tcp => ("tcp://127.0.0.1:0".to_string(), IpcFile(None)),
        Transport::Ipc => {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("zocket-interop-{}-{n}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            (format!("ipc://{}", path.display()), IpcFile(Some(path)))
        }
    }
}

/// A zocket socket and a libzmq socket connected to each other.
struct Link {
    z: zocket::Socket,
    l: zmq::Socket,
    // Last, so that the file goes after both sockets closed.
    _ipc: IpcFile,
}

fn ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).expect("timeout fits in i32 milliseconds")
}

/// Creates both sockets (with timeouts, no linger), lets each be configured before any
/// bind/connect, then binds one and connects the other to the endpoint actually bound.
fn link(
    transport: Transport,
    binder: Binder,
    ztype: zocket::SocketType,
    ltype: zmq::SocketType,
    zsetup: impl FnOnce(&zocket::Socket),
    lsetup: impl FnOnce(&zmq::Socket),
) -> Link {
    let z = zocket::Context::new().socket(ztype).expect("zocket socket");
    z.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    z.set_sndtimeo(Some(TIMEOUT)).unwrap();
    z.set_linger(Some(Duration::ZERO)).unwrap();
    zsetup(&z);

    let l = zmq::Context::new().socket(ltype).expect("libzmq socket");
    l.set_rcvtimeo(ms(TIMEOUT)).unwrap();
    l.set_sndtimeo(ms(TIMEOUT)).unwrap();
    l.set_linger(0).unwrap();
    lsetup(&l);

    let (address, ipc) = bind_address(transport);
    match binder {
        Binder::Zocket => {
            z.bind(&address)
                .unwrap_or_else(|e| panic!("zocket bind {address}: {e}"));
            let endpoint = z.last_endpoint().expect("zocket last_endpoint");
            l.connect(&endpoint)
                .unwrap_or_else(|e| panic!("libzmq connect {endpoint}: {e}"));
        }
        Binder::Libzmq => {
            l.bind(&address)
                .unwrap_or_else(|e| panic!("libzmq bind {address}: {e}"));
            let endpoint = l.get_last_endpoint().unwrap().expect("utf-8 endpoint");
            z.connect(&endpoint)
                .unwrap_or_else(|e| panic!("zocket connect {endpoint}: {e}"));
        }
    }
    Link { z, l, _ipc: ipc }
}

// ---------------------------------------------------------------------------------------------
// One interface over both libraries, so that each scenario is written once
// ---------------------------------------------------------------------------------------------

trait End {
    /// "zocket" or "libzmq", for failure messages.
    fn lib(&self) -> &'static str;
    /// Sends one whole message; fails the test if it cannot within `TIMEOUT`.
    fn send_frames(&self, frames: &[&[u8]]);
    /// Receives one whole message, or `None` if none came within `timeout`.
    fn recv_within(&self, timeout: Duration) -> Option<Frames>;
    fn subscribe(&self, prefix: &[u8]);
    fn unsubscribe(&self, prefix: &[u8]);
    /// Lets the socket act on what its I/O thread did meanwhile. Both libraries attach a
    /// newly accepted connection to its socket (and a SUB then sends it the subscriptions)
    /// only when the application next calls into that socket.
    fn process_commands(&self);

    /// Receives one whole message; fails the test if none comes within `TIMEOUT`.
    fn recv_frames(&self, what: &str) -> Frames {
        self.recv_within(TIMEOUT)
            .unwrap_or_else(|| panic!("{}: timed out after {TIMEOUT:?} waiting for {what}", self.lib()))
    }
}

/// `End` for a library's socket type. The two APIs mirror each other but for how a receive
/// timeout is given (`rcvtimeo`) and which error means that it expired (`timed_out`).
macro_rules! impl_end {
    (
        $socket:ty, $lib:literal, rcvtimeo: $rcvtimeo:expr, timed_out: $timed_out:pat
        $(, $($extra:tt)*)?
    ) => {
        impl End for $socket {
            fn lib(&self) -> &'static str {
                $lib
            }

            fn send_frames(&self, frames: &[&[u8]]) {
                if let Err(e) = self.send_multipart(frames.iter().copied(), 0) {
                    panic!("{}: sending {}: {e}", $lib, show(frames));
                }
            }

            fn recv_within(&self, timeout: Duration) -> Option<Frames> {
                self.set_rcvtimeo($rcvtimeo(timeout)).unwrap();
                let got = self.recv_multipart(0);
                self.set_rcvtimeo($rcvtimeo(TIMEOUT)).unwrap();
                match got {
                    Ok(frames) => Some(frames),
                    Err($timed_out) => None,
                    Err(e) => panic!("{}: recv failed: {e}", $lib),
                }
            }

            fn subscribe(&self, prefix: &[u8]) {
                self.set_subscribe(prefix).expect(concat!($lib, " subscribe"));
            }

            fn unsubscribe(&self, prefix: &[u8]) {
                self.set_unsubscribe(prefix).expect(concat!($lib, " unsubscribe"));
            }

            $($($extra)*)?
        }
    };
}

impl_end!(zocket::Socket, "zocket", rcvtimeo: Some, timed_out: zocket::Error::WouldBlock,
    fn process_commands(&self) {
        // Any call does; this one has no other effect.
        self.events();
    }
);
impl_end!(zmq::Socket, "libzmq", rcvtimeo: ms, timed_out: zmq::Error::EAGAIN,
    fn process_commands(&self) {
        // Reading ZMQ_EVENTS makes libzmq process the socket's pending commands.
        self.get_events().expect("libzmq ZMQ_EVENTS");
    }
);

/// A readable rendering of a message: each frame's length and (the start of) its bytes.
fn show<F: AsRef<[u8]>>(frames: &[F]) -> String {
    let parts: Vec<String> = frames
        .iter()
        .map(|f| {
            let f = f.as_ref();
            let head = &f[..f.len().min(40)];
            let dots = if f.len() > head.len() { "..." } else { "" };
            format!("{}B {:?}{dots}", f.len(), String::from_utf8_lossy(head))
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

fn same<F: AsRef<[u8]>>(got: &[Vec<u8>], want: &[F]) -> bool {
    got.len() == want.len() && got.iter().zip(want).all(|(g, w)| g[..] == *w.as_ref())
}

/// Checks that the message `end` received is exactly `want`, frame by frame.
fn assert_message<F: AsRef<[u8]>>(end: &dyn End, got: &[Vec<u8>], want: &[F], what: &str) {
    assert!(
        same(got, want),
        "{} received the wrong {what}:\n  got  {}\n  want {}",
        end.lib(),
        show(got),
        show(want)
    );
}

/// Receives one message on `end` and checks it is exactly `want`, frame by frame.
fn expect<F: AsRef<[u8]>>(end: &dyn End, want: &[F], what: &str) {
    assert_message(end, &end.recv_frames(what), want, what);
}

/// Like [`expect`], for a message `peer` may not have sent yet because (being libzmq) it has
/// not attached the connection yet: prods `peer` while waiting, until `TIMEOUT`.
fn expect_from_idle_peer(end: &dyn End, peer: &dyn End, want: &[&[u8]], what: &str) {
    let deadline = Instant::now() + TIMEOUT;
    let got = loop {
        peer.process_commands();
        if let Some(got) = end.recv_within(PROBE_WAIT) {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "{}: timed out after {TIMEOUT:?} waiting for {what} from {}",
            end.lib(),
            peer.lib()
        );
    };
    assert_message(end, &got, want, what);
}

/// Sends on `from`, receives on `to`, and checks the message came through unchanged.
fn relay(from: &dyn End, to: &dyn End, frames: &[&[u8]], what: &str) {
    from.send_frames(frames);
    expect(to, frames, what);
}

/// A payload whose every byte depends on its position, so that misplaced bytes show.
fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// How a subscriber subscribes: with the socket option (SUB), or by sending the subscription
/// message itself (XSUB).
#[derive(Clone, Copy)]
enum SubscribeVia {
    Option,
    Message,
}

fn subscription_message(subscribe: bool, prefix: &[u8]) -> Vec<u8> {
    let mut msg = vec![u8::from(subscribe)];
    msg.extend_from_slice(prefix);
    msg
}

fn set_subscription(sub: &dyn End, via: SubscribeVia, subscribe: bool, prefix: &[u8]) {
    match (via, subscribe) {
        (SubscribeVia::Option, true) => sub.subscribe(prefix),
        (SubscribeVia::Option, false) => sub.unsubscribe(prefix),
        (SubscribeVia::Message, _) => sub.send_frames(&[&subscription_message(subscribe, prefix)]),
    }
}

/// Publishes `probe` until the subscriber gets it (its subscription has then reached the
/// publisher). Probes still on their way are skipped later by [`expect_filtered`].
fn await_subscription(publisher: &dyn End, subscriber: &dyn End, probe: &[u8]) {
    let deadline = Instant::now() + SUBSCRIPTION_DEADLINE;
    let mut sent = 0u32;
    loop {
        publisher.send_frames(&[probe]);
        sent += 1;
        if let Some(got) = subscriber.recv_within(PROBE_WAIT) {
            assert!(
                same(&got, &[probe]),
                "expected probe {probe:?}, got {}",
                show(&got)
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} subscriber never received any of {sent} probes {:?} from the {} publisher \
             within {SUBSCRIPTION_DEADLINE:?}",
            subscriber.lib(),
            String::from_utf8_lossy(probe),
            publisher.lib()
        );
    }
}

/// Receives until a message equal to the last of `want`, skipping leading leftover `probe`s,
/// and checks that what came (besides those) is exactly `want`, in order.
fn expect_filtered(subscriber: &dyn End, probe: Option<&[u8]>, want: &[&[&[u8]]]) {
    let last = want.last().expect("at least one wanted message");
    let mut got: Vec<Frames> = Vec::new();
    loop {
        let msg = subscriber.recv_frames("a subscribed message");
        if got.is_empty() && probe.is_some_and(|p| same(&msg, &[p])) {
            continue;
        }
        let done = same(&msg, last);
        got.push(msg);
        if done {
            break;
        }
        assert!(
            got.len() <= want.len(),
            "{} subscriber got more than expected: {:?}",
            subscriber.lib(),
            got.iter().map(|m| show(m)).collect::<Vec<_>>()
        );
    }
    let ok = got.len() == want.len() && got.iter().zip(want).all(|(g, w)| same(g, w));
    assert!(
        ok,
        "{} subscriber received the wrong messages:\n  got  {:?}\n  want {:?}",
        subscriber.lib(),
        got.iter().map(|m| show(m)).collect::<Vec<_>>(),
        want.iter().map(|m| show(m)).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------------
// Scenarios, each written once over `End`
// ---------------------------------------------------------------------------------------------

/// PUSH to PULL: 1000 numbered messages in order, multipart messages, and frames of the short
/// (<= 255 bytes) and long (> 255 bytes) wire forms up to 1 MiB.
fn push_to_pull(push: &dyn End, pull: &dyn End) {
    let numbered: Vec<String> = (0..1000).map(|i| format!("message #{i:04}")).collect();
    for m in &numbered {
        push.send_frames(&[m.as_bytes()]);
    }
    for m in &numbered {
        expect(pull, &[m.as_bytes()], m);
    }

    relay(push, pull, &[b"first", b"second", b"third"], "3-frame message");
    relay(
        push,
        pull,
        &[b"", b"empty frames around me", b""],
        "3-frame message with empty frames",
    );
    relay(push, pull, &[b""], "empty message");

    for len in [255, 256, 300, 1 << 20] {
        let big = patterned(len);
        relay(push, pull, &[&big], &format!("{len}-byte message"));
    }
    let (short, long) = (patterned(10), patterned(70_000));
    relay(
        push,
        pull,
        &[&short, &long, &short],
        "multipart mixing short and long frames",
    );
}

/// PAIR: `a` speaks first, then `b` answers, several times; sizes of both wire forms.
fn pair_exchange(a: &dyn End, b: &dyn End) {
    for i in 0..10 {
        let ping = format!("ping {i}");
        relay(a, b, &[ping.as_bytes()], "ping");
        let pong = format!("pong {i}");
        relay(b, a, &[pong.as_bytes(), b"second frame"], "pong");
    }
    let big = patterned(300_000);
    relay(a, b, &[&big], "300 kB message");
    relay(b, a, &[&big[..300]], "300-byte message");
}

/// REQ/REP round trips; the REP sees exactly the request frames (the envelope is stripped),
/// and the REQ sees exactly the reply frames.
fn req_rep(req: &dyn End, rep: &dyn End) {
    for i in 0..10 {
        let n = i.to_string();
        let request: Vec<&[u8]> = match i % 3 {
            0 => vec![b"request", n.as_bytes()],
            1 => vec![b"request", n.as_bytes(), b"third frame"],
            _ => vec![b"request", b"", n.as_bytes()], // an empty frame inside the body
        };
        relay(req, rep, &request, "request");
        relay(rep, req, &[b"reply", n.as_bytes()], "reply");
    }
    let big = patterned(100_000);
    relay(req, rep, &[&big], "100 kB request");
    relay(rep, req, &[&big[..256]], "256-byte reply");
}

/// DEALER/ROUTER: the ROUTER sees the DEALER's routing id (`id`, or one the ROUTER made up
/// when the DEALER set none) as first frame and routes replies back with it (with
/// ROUTER_MANDATORY set, so a wrong id is an error, not a silent drop).
fn dealer_router(dealer: &dyn End, router: &dyn End, id: Option<&[u8]>) {
    dealer.send_frames(&[b"first"]);
    let first = router.recv_frames("first routed request");
    assert_eq!(first.len(), 2, "{} ROUTER got {}", router.lib(), show(&first));
    assert_eq!(first[1], b"first");
    let generated = first[0].clone();
    match id {
        Some(id) => assert_eq!(generated, id, "routing id seen by the {} ROUTER", router.lib()),
        None => assert!(
            !generated.is_empty(),
            "{} ROUTER gave an anonymous peer an empty routing id",
            router.lib()
        ),
    }
    let id = &generated[..];
    router.send_frames(&[id, b"first reply"]);
    expect(dealer, &[b"first reply"], "first routed reply");

    for i in 0..5 {
        let n = i.to_string();
        dealer.send_frames(&[b"hello", n.as_bytes()]);
        expect(router, &[id, b"hello", n.as_bytes()], "routed request");
        router.send_frames(&[id, b"reply", n.as_bytes()]);
        expect(dealer, &[b"reply", n.as_bytes()], "routed reply");
    }
    dealer.send_frames(&[b"", b"req-style envelope"]);
    expect(
        router,
        &[id, b"", b"req-style envelope"],
        "request with empty delimiter",
    );
    router.send_frames(&[id, b"", b"req-style reply"]);
    expect(
        dealer,
        &[&b""[..], b"req-style reply"],
        "reply with empty delimiter",
    );
}

/// PUB/SUB: subscribe to "a"; topics not starting with "a" never arrive; then move the
/// subscription from "a" to "c".
fn pub_sub(publisher: &dyn End, subscriber: &dyn End, via: SubscribeVia) {
    set_subscription(subscriber, via, true, b"a");
    await_subscription(publisher, subscriber, b"a-probe");
    for msg in [
        &[&b"b-filtered"[..]][..],
        &[b"a-1"],
        &[b""],
        &[b"A-uppercase"],
        &[b"ba"],
        &[b"ab", b"second frame"],
        &[b"b-filtered", b"a-in-second-frame"],
        &[b"a-last"],
    ] {
        publisher.send_frames(msg);
    }
    expect_filtered(
        subscriber,
        Some(b"a-probe"),
        &[&[b"a-1"], &[b"ab", b"second frame"], &[b"a-last"]],
    );

    // Subscriptions travel in order: once "c" arrived, so did the cancellation of "a".
    set_subscription(subscriber, via, false, b"a");
    set_subscription(subscriber, via, true, b"c");
    await_subscription(publisher, subscriber, b"c-probe");
    publisher.send_frames(&[b"a-after-unsubscribe"]);
    let long = patterned(300);
    publisher.send_frames(&[b"b-long", &long]);
    publisher.send_frames(&[b"c-long", &long]);
    publisher.send_frames(&[b"c-last"]);
    expect_filtered(subscriber, Some(b"c-probe"), &[&[b"c-long", &long], &[b"c-last"]]);
}

/// XPUB: the application reads each new subscription (b"\x01topic") and cancellation
/// (b"\x00topic"); data flows to the subscriber only for its topic.
fn xpub_sees_subscriptions(xpub: &dyn End, subscriber: &dyn End, via: SubscribeVia) {
    set_subscription(subscriber, via, true, b"topic");
    expect_from_idle_peer(xpub, subscriber, &[b"\x01topic"], "subscription message");
    publisher_sends_topic(xpub, subscriber);
    set_subscription(subscriber, via, false, b"topic");
    expect_from_idle_peer(xpub, subscriber, &[b"\x00topic"], "unsubscription message");
}

/// XPUB with or without XPUB_VERBOSE: the subscriber subscribes to "topic" twice, then to
/// "zzz"; only a verbose XPUB passes the duplicate to the application.
fn xpub_verbose(xpub: &dyn End, subscriber: &dyn End, verbose: bool) {
    // Until the connection is attached, both libraries merge duplicate subscriptions (a new
    // peer gets each prefix once), so first wait until one subscription went through.
    subscriber.subscribe(b"warm-up");
    expect_from_idle_peer(xpub, subscriber, &[b"\x01warm-up"], "first subscription");
    subscriber.subscribe(b"topic");
    subscriber.subscribe(b"topic");
    subscriber.subscribe(b"zzz");
    expect(xpub, &[b"\x01topic"], "subscription message");
    if verbose {
        expect(xpub, &[b"\x01topic"], "duplicate subscription (XPUB_VERBOSE)");
    }
    expect(xpub, &[b"\x01zzz"], "second topic's subscription");
    publisher_sends_topic(xpub, subscriber);
}

/// Once the XPUB read the subscription, what it publishes is filtered by it.
fn publisher_sends_topic(xpub: &dyn End, subscriber: &dyn End) {
    xpub.send_frames(&[b"other topic"]);
    xpub.send_frames(&[b"topic data", b"body"]);
    xpub.send_frames(&[b"tOpic"]);
    xpub.send_frames(&[b"topic-last"]);
    expect_filtered(subscriber, None, &[&[b"topic data", b"body"], &[b"topic-last"]]);
}

// ---------------------------------------------------------------------------------------------
// Each scenario with the socket types of each library
// ---------------------------------------------------------------------------------------------

/// Frames given one at a time with SNDMORE leave zocket as one message.
fn sndmore_frames_are_one_message(s: &Link) {
    for round in 0..3 {
        let n = round.to_string();
        s.z.send("one", zocket::SNDMORE).unwrap();
        s.z.send(n.as_bytes(), zocket::SNDMORE).unwrap();
        s.z.send(&b""[..], zocket::SNDMORE).unwrap();
        s.z.send(patterned(1000), 0).unwrap();
        expect(
            &s.l,
            &[&b"one"[..], n.as_bytes(), b"", &patterned(1000)],
            "message sent frame by frame",
        );
        assert!(!s.l.get_rcvmore().unwrap());
    }
}

/// Frame by frame, zocket reports that more frames follow exactly as libzmq sent them.
fn zocket_reports_libzmq_more_flags(s: &Link) {
    s.l.send_multipart([&b"one"[..], b"two", b"three"], 0).unwrap();
    for (frame, more) in [(&b"one"[..], true), (b"two", true), (b"three", false)] {
        let msg = s.z.recv_msg(0).expect("zocket recv_msg");
        assert_eq!(&msg[..], frame);
        assert_eq!(msg.more(), more, "more flag of frame {frame:?}");
    }
}

/// A module per scenario, with a test per transport and binding side, e.g.
/// `pair_both_ways::ipc_libzmq_binds`. Each test [`link`]s a zocket socket of the first type to
/// a libzmq socket of the second (each set up first by its `zocket:` / `libzmq:` closure, if
/// any) and runs the scenario's body on the link `s`.
macro_rules! scenarios {
    (@setup) => { |_| {} };
    (@setup |$x:ident| $setup:expr) => { |$x| $setup };
    (@tests $($test:ident: $transport:ident, $binder:ident;)*) => {$(
        #[test]
        fn $test() {
            run(Transport::$transport, Binder::$binder);
        }
    )*};
    ($(
        $scenario:ident(
            $ztype:expr, $ltype:expr
            $(, zocket: |$z:ident| $zsetup:expr)? $(, libzmq: |$l:ident| $lsetup:expr)? $(,)?
        ) => |$s:ident| $body:expr;
    )*) => {$(
        mod $scenario {
            use super::*;

            fn run(t: Transport, b: Binder) {
                let $s = link(
                    t,
                    b,
                    $ztype,
                    $ltype,
                    scenarios!(@setup $(|$z| $zsetup)?),
                    scenarios!(@setup $(|$l| $lsetup)?),
                );
                $body;
            }

            scenarios!(@tests
                tcp_zocket_binds: Tcp, Zocket;
                tcp_libzmq_binds: Tcp, Libzmq;
                ipc_zocket_binds: Ipc, Zocket;
                ipc_libzmq_binds: Ipc, Libzmq;
            );
        }
    )*};
}

scenarios! {
    push_pull_zocket_to_libzmq(Z::Push, zmq::PULL) => |s| push_to_pull(&s.z, &s.l);
    push_pull_zocket_to_libzmq_sndmore(Z::Push, zmq::PULL) => |s| sndmore_frames_are_one_message(&s);
    push_pull_libzmq_to_zocket(Z::Pull, zmq::PUSH) => |s| {
        push_to_pull(&s.l, &s.z);
        zocket_reports_libzmq_more_flags(&s);
    };
    pair_both_ways(Z::Pair, zmq::PAIR) => |s| {
        pair_exchange(&s.z, &s.l);
        pair_exchange(&s.l, &s.z);
    };
    req_zocket_rep_libzmq(Z::Req, zmq::REP) => |s| req_rep(&s.z, &s.l);
    req_libzmq_rep_zocket(Z::Rep, zmq::REQ) => |s| req_rep(&s.l, &s.z);

    // With ROUTER_MANDATORY set, a wrong routing id is an error, not a silent drop.
    dealer_zocket_router_libzmq(
        Z::Dealer, zmq::ROUTER,
        zocket: |z| z.set_routing_id(b"zocket-dealer").unwrap(),
        libzmq: |l| l.set_router_mandatory(true).unwrap(),
    ) => |s| dealer_router(&s.z, &s.l, Some(b"zocket-dealer"));
    dealer_libzmq_router_zocket(
        Z::Router, zmq::DEALER,
        zocket: |z| z.set_router_mandatory(true).unwrap(),
        libzmq: |l| l.set_identity(b"libzmq-dealer").unwrap(),
    ) => |s| dealer_router(&s.l, &s.z, Some(b"libzmq-dealer"));
    anonymous_dealer_zocket_router_libzmq(
        Z::Dealer, zmq::ROUTER,
        libzmq: |l| l.set_router_mandatory(true).unwrap(),
    ) => |s| dealer_router(&s.z, &s.l, None);
    anonymous_dealer_libzmq_router_zocket(
        Z::Router, zmq::DEALER,
        zocket: |z| z.set_router_mandatory(true).unwrap(),
    ) => |s| dealer_router(&s.l, &s.z, None);

    pub_zocket_sub_libzmq(Z::Pub, zmq::SUB) => |s| pub_sub(&s.z, &s.l, SubscribeVia::Option);
    pub_libzmq_sub_zocket(Z::Sub, zmq::PUB) => |s| pub_sub(&s.l, &s.z, SubscribeVia::Option);
    xsub_zocket_pub_libzmq(Z::XSub, zmq::PUB) => |s| pub_sub(&s.l, &s.z, SubscribeVia::Message);
    pub_zocket_xsub_libzmq(Z::Pub, zmq::XSUB) => |s| pub_sub(&s.z, &s.l, SubscribeVia::Message);

    xpub_zocket_sub_libzmq(Z::XPub, zmq::SUB)
        => |s| xpub_sees_subscriptions(&s.z, &s.l, SubscribeVia::Option);
    xpub_zocket_xsub_libzmq(Z::XPub, zmq::XSUB)
        => |s| xpub_sees_subscriptions(&s.z, &s.l, SubscribeVia::Message);
    xpub_libzmq_sub_zocket(Z::Sub, zmq::XPUB)
        => |s| xpub_sees_subscriptions(&s.l, &s.z, SubscribeVia::Option);
    xpub_libzmq_xsub_zocket(Z::XSub, zmq::XPUB)
        => |s| xpub_sees_subscriptions(&s.l, &s.z, SubscribeVia::Message);

    xpub_zocket_verbose_sub_libzmq(Z::XPub, zmq::SUB, zocket: |z| z.set_xpub_verbose(true).unwrap())
        => |s| xpub_verbose(&s.z, &s.l, true);
    xpub_zocket_quiet_sub_libzmq(Z::XPub, zmq::SUB) => |s| xpub_verbose(&s.z, &s.l, false);
    xpub_libzmq_verbose_sub_zocket(Z::Sub, zmq::XPUB, libzmq: |l| l.set_xpub_verbose(true).unwrap())
        => |s| xpub_verbose(&s.l, &s.z, true);
    xpub_libzmq_quiet_sub_zocket(Z::Sub, zmq::XPUB) => |s| xpub_verbose(&s.l, &s.z, false);
}

/// `ipc://@name` is a name in Linux's abstract namespace, as in libzmq: a zocket binder and a
/// libzmq connecter (and the reverse) meet there, and no file named `@name` appears.
#[cfg(target_os = "linux")]
#[test]
fn abstract_ipc_interoperates_both_ways_and_creates_no_file() {
    let timeout = Duration::from_secs(10);
    for zocket_binds in [true, false] {
        let name = format!("@zocket-abstract-{}-{zocket_binds}", std::process::id());
        let endpoint = format!("ipc://{name}");
        let ctx = zocket::Context::new();
        let zpull = ctx.socket(zocket::SocketType::Pull).unwrap();
        zpull.set_rcvtimeo(Some(timeout)).unwrap();
        let lctx = zmq::Context::new();
        let lpush = lctx.socket(zmq::PUSH).unwrap();
        lpush.set_sndtimeo(ms(timeout)).unwrap();
        lpush.set_linger(ms(timeout)).unwrap();
        if zocket_binds {
            zpull.bind(&endpoint).unwrap();
            lpush.connect(&endpoint).unwrap();
        } else {
            lpush.bind(&endpoint).unwrap();
            zpull.connect(&endpoint).unwrap();
        }
        lpush.send("over the abstract namespace", 0).unwrap();
        let got = zpull.recv_bytes(0).unwrap();
        assert_eq!(
            got, b"over the abstract namespace",
            "zocket binds: {zocket_binds}"
        );
        assert!(
            !std::path::Path::new(&name).exists(),
            "no file named {name} in the working directory"
        );
    }
}
