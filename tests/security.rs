//! PLAIN, CURVE and ZAP between zocket peers: the handshakes, the ZAP rules of libzmq (with
//! and without a handler), the Authenticator, and refusals that deliver nothing and are
//! reported. Interop with libzmq is in `security_interop.rs`.

mod common;

use common::{DEADLINE, next_event};
use std::time::Duration;
use zocket::auth::Authenticator;
use zocket::{Context, CurveKeyPair, Error, Socket, SocketEvent, SocketType};

/// How long a refused client is given to (wrongly) get a message through.
const REFUSAL_WAIT: Duration = Duration::from_millis(500);

fn pair(ctx: &Context, server_type: SocketType, client_type: SocketType) -> (Socket, Socket) {
    let server = ctx.socket(server_type).unwrap();
    let client = ctx.socket(client_type).unwrap();
    server.set_rcvtimeo(Some(DEADLINE)).unwrap();
    client.set_rcvtimeo(Some(DEADLINE)).unwrap();
    (server, client)
}

fn connect(server: &Socket, client: &Socket) {
    server.bind("tcp://127.0.0.1:0").unwrap();
    client.connect(&server.last_endpoint().unwrap()).unwrap();
}

/// A request goes through and its reply comes back; returns the request's `User-Id`.
fn round_trip(server: &Socket, client: &Socket) -> Option<String> {
    client.send("ping", 0).unwrap();
    let request = server.recv_msg(0).unwrap();
    assert_eq!(&request[..], b"ping");
    server.send("pong", 0).unwrap();
    assert_eq!(client.recv_bytes(0).unwrap(), b"pong");
    request.gets("User-Id").map(str::to_owned)
}

/// Nothing reaches the server.
fn refused(server: &Socket, client: &Socket) {
    client.send("ping", zocket::DONTWAIT).unwrap();
    server.set_rcvtimeo(Some(REFUSAL_WAIT)).unwrap();
    assert!(matches!(server.recv_bytes(0), Err(Error::WouldBlock)));
}

/// An application's own ZAP handler: a REP at the well-known endpoint.
fn zap_handler(ctx: &Context) -> Socket {
    let handler = ctx.socket(SocketType::Rep).unwrap();
    handler.bind("inproc://zeromq.zap.01").unwrap();
    handler.set_rcvtimeo(Some(DEADLINE)).unwrap();
    handler
}

fn plain_client(client: &Socket, user: &str, password: &str) {
    client.set_plain_username(Some(user)).unwrap();
    client.set_plain_password(Some(password)).unwrap();
}

fn curve_server(server: &Socket) -> CurveKeyPair {
    let keys = CurveKeyPair::new().unwrap();
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(&keys.secret_key).unwrap();
    keys
}

/// A REP server taking PLAIN with an authenticator that knows `admin`/`secret`, and a REQ
/// client connected as that user.
fn admin_over_plain(ctx: &Context) -> (Authenticator, Socket, Socket) {
    let auth = Authenticator::start(ctx).unwrap();
    auth.configure_plain("*", [("admin", "secret")]);
    let (server, client) = pair(ctx, SocketType::Rep, SocketType::Req);
    server.set_plain_server(true).unwrap();
    plain_client(&client, "admin", "secret");
    connect(&server, &client);
    (auth, server, client)
}

#[test]
fn plain_with_the_authenticator_names_the_user() {
    let ctx = Context::new();
    let (_auth, server, client) = admin_over_plain(&ctx); // the handler lives to the end
    assert_eq!(round_trip(&server, &client).as_deref(), Some("admin"));
}

#[test]
fn a_wrong_plain_password_is_refused_and_reported() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_plain("*", [("admin", "secret")]);
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    server.set_plain_server(true).unwrap();
    let monitor = server.monitor_events().unwrap();
    plain_client(&client, "admin", "wrong");
    connect(&server, &client);
    let failed = next_event(&monitor, SocketEvent::HandshakeFailedAuth);
    assert_eq!(failed.value, 400);
    refused(&server, &client);
}

#[test]
fn a_plain_server_without_a_handler_refuses_every_client() {
    let ctx = Context::new();
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    server.set_plain_server(true).unwrap();
    plain_client(&client, "admin", "secret");
    connect(&server, &client);
    refused(&server, &client);
}

#[test]
fn curve_without_a_handler_accepts_any_client_that_knows_the_key() {
    let ctx = Context::new();
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    let keys = curve_server(&server);
    client.set_curve_serverkey(&keys.public_key).unwrap();
    connect(&server, &client);
    assert_eq!(round_trip(&server, &client), None);
}

#[test]
fn curve_with_a_wrong_server_key_is_refused() {
    let ctx = Context::new();
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    curve_server(&server);
    client
        .set_curve_serverkey(&CurveKeyPair::new().unwrap().public_key)
        .unwrap();
    connect(&server, &client);
    refused(&server, &client);
}

#[test]
fn the_authenticator_accepts_listed_curve_clients_only() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    let known = CurveKeyPair::new().unwrap();
    auth.configure_curve("*", [known.public_key]);
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    let keys = curve_server(&server);
    let monitor = server.monitor_events().unwrap();
    client.set_curve_serverkey(&keys.public_key).unwrap();
    client.set_curve_secretkey(&known.secret_key).unwrap();
    connect(&server, &client);
    let user = round_trip(&server, &client);
    assert_eq!(user, Some(zocket::z85_encode(&known.public_key).unwrap()));

    let stranger = ctx.socket(SocketType::Req).unwrap();
    stranger.set_curve_serverkey(&keys.public_key).unwrap();
    stranger.connect(&server.last_endpoint().unwrap()).unwrap();
    assert_eq!(next_event(&monitor, SocketEvent::HandshakeFailedAuth).value, 400);
    refused(&server, &stranger);
}

#[test]
fn a_null_client_meeting_a_curve_server_is_refused() {
    let ctx = Context::new();
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    curve_server(&server);
    connect(&server, &client);
    refused(&server, &client);
}

#[test]
fn an_application_zap_handler_decides_and_gives_metadata() {
    let ctx = Context::new();
    let handler = zap_handler(&ctx);
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    server.set_zap_domain("test-domain").unwrap(); // NULL asks ZAP with a domain
    connect(&server, &client);
    client.send("ping", 0).unwrap();
    let request = handler.recv_multipart(0).unwrap();
    assert_eq!(request[0], b"1.0");
    assert_eq!(request[2], b"test-domain");
    assert_eq!(request[3], b"127.0.0.1");
    assert_eq!(request[5], b"NULL");
    let metadata = b"\x05Color\x00\x00\x00\x04blue";
    let reply: [&[u8]; 6] = [b"1.0", &request[1], b"200", b"OK", b"carol", metadata];
    handler.send_multipart(reply, 0).unwrap();
    let got = server.recv_msg(0).unwrap();
    assert_eq!(got.gets("User-Id"), Some("carol"));
    assert_eq!(got.gets("Color"), Some("blue"));
}

#[test]
fn a_temporary_failure_disconnects_and_the_client_tries_again() {
    let ctx = Context::new();
    let handler = zap_handler(&ctx);
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    server.set_plain_server(true).unwrap();
    plain_client(&client, "admin", "secret");
    connect(&server, &client);
    client.send("ping", 0).unwrap();
    for status in ["300", "200"] {
        let request = handler.recv_multipart(0).unwrap();
        assert_eq!(request[5], b"PLAIN");
        assert_eq!(
            (&request[6][..], &request[7][..]),
            (&b"admin"[..], &b"secret"[..])
        );
        let reply: [&[u8]; 6] = [b"1.0", &request[1], status.as_bytes(), b"", b"", b""];
        handler.send_multipart(reply, 0).unwrap();
    }
    assert_eq!(server.recv_bytes(0).unwrap(), b"ping");
}

#[test]
fn the_authenticator_refuses_denied_addresses() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    auth.configure_curve_any("*");
    auth.deny("127.0.0.1");
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    let keys = curve_server(&server);
    client.set_curve_serverkey(&keys.public_key).unwrap();
    connect(&server, &client);
    refused(&server, &client);
    auth.allow("127.0.0.1");
    server.set_rcvtimeo(Some(DEADLINE)).unwrap();
    assert_eq!(
        server.recv_bytes(0).unwrap(),
        b"ping",
        "the reconnection was not let in"
    );
}

#[test]
fn a_second_handler_cannot_bind_and_a_dropped_one_frees_the_name() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).unwrap();
    assert!(matches!(Authenticator::start(&ctx), Err(Error::AddrInUse(_))));
    drop(auth);
    let again = Authenticator::start(&ctx);
    assert!(again.is_ok(), "{again:?}");
}

#[test]
fn curve_carries_every_pattern_and_large_messages() {
    let ctx = Context::new();
    let (router, dealer) = pair(&ctx, SocketType::Router, SocketType::Dealer);
    let keys = curve_server(&router);
    dealer.set_curve_serverkey(&keys.public_key).unwrap();
    dealer.set_routing_id(b"d1").unwrap();
    connect(&router, &dealer);
    let big = vec![7u8; 300_000];
    for i in 0..200u32 {
        dealer
            .send_multipart([&i.to_be_bytes()[..], &big[..(i as usize * 997) % big.len()]], 0)
            .unwrap();
    }
    for i in 0..200u32 {
        let parts = router.recv_multipart(0).unwrap();
        assert_eq!(parts[0], b"d1");
        assert_eq!(parts[1], i.to_be_bytes());
        assert_eq!(parts[2].len(), (i as usize * 997) % big.len());
    }

    let (publisher, subscriber) = pair(&ctx, SocketType::Pub, SocketType::Sub);
    let keys = curve_server(&publisher);
    subscriber.set_curve_serverkey(&keys.public_key).unwrap();
    subscriber.set_subscribe(b"news").unwrap();
    connect(&publisher, &subscriber);
    let deadline = std::time::Instant::now() + DEADLINE;
    subscriber.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the subscription never arrived"
        );
        publisher.send("sport", 0).unwrap();
        publisher.send("news", 0).unwrap();
        if let Ok(got) = subscriber.recv_bytes(0) {
            assert_eq!(got, b"news");
            break;
        }
    }
}

#[test]
fn curve_heartbeats_keep_an_idle_link_up() {
    let ctx = Context::new();
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    let keys = curve_server(&server);
    for s in [&server, &client] {
        s.set_heartbeat_ivl(Some(Duration::from_millis(20))).unwrap();
        s.set_heartbeat_timeout(Some(Duration::from_millis(200))).unwrap();
    }
    client.set_curve_serverkey(&keys.public_key).unwrap();
    let monitor = client.monitor_events().unwrap();
    connect(&server, &client);
    round_trip(&server, &client);
    // Ten timeouts' worth of idleness: a lost PONG would have dropped the link.
    let idle = monitor.recv_timeout(Duration::from_secs(2));
    assert!(
        !matches!(&idle, Ok(e) if e.event == SocketEvent::Disconnected),
        "the idle CURVE link was dropped: {idle:?}"
    );
    round_trip(&server, &client);
}

#[test]
fn a_handler_that_never_answers_blocks_no_one_else() {
    let ctx = Context::new();
    let handler = zap_handler(&ctx);
    let (server, client) = pair(&ctx, SocketType::Rep, SocketType::Req);
    server.set_plain_server(true).unwrap();
    server
        .set_handshake_ivl(Some(Duration::from_millis(300)))
        .unwrap();
    let monitor = server.monitor_events().unwrap();
    plain_client(&client, "admin", "secret");
    connect(&server, &client);
    client.send("ping", 0).unwrap();
    let _unanswered = handler.recv_multipart(0).unwrap();
    // The same I/O thread carries other connections meanwhile.
    let (pull, push) = pair(&ctx, SocketType::Pull, SocketType::Push);
    connect(&pull, &push);
    push.send("other", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"other");
    // And the waiting handshake gives up at its deadline.
    next_event(&monitor, SocketEvent::HandshakeFailedNoDetail);
}

#[test]
fn a_context_whose_handshakes_asked_zap_still_terminates() {
    let ctx = Context::new();
    let (auth, server, client) = admin_over_plain(&ctx);
    round_trip(&server, &client); // the context's ZAP client thread is running now
    drop((server, client, auth));
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        ctx.term();
        let _ = done.send(());
    });
    assert!(
        finished.recv_timeout(DEADLINE).is_ok(),
        "term() hung on the ZAP client's socket"
    );
}

#[test]
fn every_security_option_reads_back_and_bad_keys_are_refused() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Dealer).unwrap();
    let keys = CurveKeyPair::new().unwrap();
    let text = zocket::z85_encode(&keys.secret_key).unwrap();
    s.set_curve_secretkey(text.as_bytes()).unwrap(); // Z85 text, as libzmq takes it
    assert_eq!(s.curve_secretkey(), Some(keys.secret_key));
    assert_eq!(s.curve_publickey(), Some(keys.public_key));
    let mut with_nul = zocket::z85_encode(&keys.public_key).unwrap().into_bytes();
    with_nul.push(0);
    s.set_curve_serverkey(&with_nul).unwrap();
    assert_eq!(s.curve_serverkey(), Some(keys.public_key));
    assert_eq!(s.mechanism(), zocket::Mechanism::Curve);
    assert!(!s.curve_server());
    for bad in [&b"short"[..], &[0u8; 33][..], &[b'~'; 40][..]] {
        assert!(s.set_curve_serverkey(bad).is_err(), "{bad:?}");
    }
    s.set_curve_publickey(&CurveKeyPair::new().unwrap().public_key)
        .unwrap();
    assert!(matches!(
        s.connect("tcp://127.0.0.1:9"),
        Err(Error::InvalidOption(_))
    ));
    s.set_zap_enforce_domain(true).unwrap();
    assert!(s.zap_enforce_domain());
    assert!(s.set_zap_domain(&"d".repeat(256)).is_err());
    s.set_plain_password(Some("pw")).unwrap();
    assert_eq!(
        (s.mechanism(), s.plain_password().as_deref()),
        (zocket::Mechanism::Plain, Some("pw"))
    );
    assert!(s.set_plain_username(Some(&"u".repeat(256))).is_err());
    s.set_plain_username(None).unwrap();
    assert_eq!(s.mechanism(), zocket::Mechanism::Null);
    let server = ctx.socket(SocketType::Rep).unwrap();
    server.set_curve_server(true).unwrap();
    assert!(
        matches!(server.bind("tcp://127.0.0.1:0"), Err(Error::InvalidOption(_))),
        "no secret key"
    );
}
