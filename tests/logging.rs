//! What zocket writes to the `log` facade: endpoints and peers by name (never a mio token),
//! protocol failures at INFO, a retrying connector once per back-off step, silent drops
//! rate-limited. A capturing logger collects every record of this test binary; each test
//! looks only at the records naming its own endpoints.

use std::net::{TcpListener, TcpStream};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};
use zocket::{Context, Monitor, SocketEvent, SocketType};

static RECORDS: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if record.target().starts_with("zocket") {
            let line = record.args().to_string();
            RECORDS.lock().unwrap().push((record.level(), line));
        }
    }
    fn flush(&self) {}
}

fn capture() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// The records that mention `needle`.
fn records_with(needle: &str) -> Vec<(log::Level, String)> {
    RECORDS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, line)| line.contains(needle))
        .cloned()
        .collect()
}

fn wait_for(monitor: &Monitor, kind: SocketEvent, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = 0;
    while seen < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Ok(event) if event.event == kind => seen += 1,
            Ok(_) => {}
            Err(e) => panic!("only {seen} of {count} {kind:?} events: {e}"),
        }
    }
}

fn dead_endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("tcp://127.0.0.1:{port}")
}

#[test]
fn a_connector_retrying_forever_logs_once_per_back_off_step() {
    capture();
    let ctx = Context::new();
    let constant = ctx.socket(SocketType::Push).unwrap();
    constant.set_reconnect_ivl(Duration::from_millis(5)).unwrap();
    let events = constant.monitor_events().unwrap();
    let endpoint = dead_endpoint();
    constant.connect(&endpoint).unwrap();
    wait_for(&events, SocketEvent::ConnectRetried, 20);
    let retries = records_with(&format!("{endpoint}: connect"));
    assert_eq!(retries.len(), 1, "a constant interval is one step: {retries:?}");
    assert_eq!(retries[0].0, log::Level::Debug);
    assert!(retries[0].1.contains("retrying every 5ms"), "{retries:?}");

    let growing = ctx.socket(SocketType::Push).unwrap();
    growing.set_reconnect_ivl(Duration::from_millis(5)).unwrap();
    growing.set_reconnect_ivl_max(Duration::from_millis(20)).unwrap();
    let events = growing.monitor_events().unwrap();
    let endpoint = dead_endpoint();
    growing.connect(&endpoint).unwrap();
    wait_for(&events, SocketEvent::ConnectRetried, 8);
    let steps: Vec<String> = records_with(&format!("{endpoint}: connect"))
        .into_iter()
        .map(|(_, line)| line.rsplit(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(
        steps,
        ["5ms", "10ms", "20ms"],
        "one line per step of 5, 10, 20 ms"
    );
}

#[test]
fn lifecycle_logs_name_endpoints_and_peers_never_tokens() {
    capture();
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let events = pull.monitor_events().unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&endpoint).unwrap();
    wait_for(&events, SocketEvent::HandshakeSucceeded, 1);
    drop(push);
    wait_for(&events, SocketEvent::Disconnected, 1);
    // A peer that breaks the protocol is dropped, at INFO, by its address.
    let mut bad = TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    let bad_address = format!("tcp://{}", bad.local_addr().unwrap());
    std::io::Write::write_all(&mut bad, &[0x55; 64]).unwrap();
    wait_for(&events, SocketEvent::Disconnected, 1);
    pull.unbind(&endpoint).unwrap();
    wait_for(&events, SocketEvent::Closed, 1);

    let lines = records_with(&endpoint);
    let at = |level, text: &str| lines.iter().any(|(l, line)| *l == level && line.contains(text));
    assert!(at(log::Level::Info, "PULL socket: listening on"), "{lines:#?}");
    assert!(
        at(log::Level::Debug, "handshake with tcp://127.0.0.1:"),
        "{lines:#?}"
    );
    assert!(
        at(log::Level::Info, &format!("dropped {bad_address}")),
        "{lines:#?}"
    );
    assert!(at(log::Level::Info, "stopped listening"), "{lines:#?}");
    assert!(
        records_with(&format!("connecting to {endpoint}"))
            .iter()
            .any(|(l, _)| *l == log::Level::Info)
    );
    let all = RECORDS.lock().unwrap().clone();
    assert!(
        all.iter().all(|(_, line)| !line.contains("Token(")),
        "no mio token in any line: {all:#?}"
    );
}

#[test]
fn silent_drops_are_logged_rate_limited() {
    capture();
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    let started = Instant::now();
    for _ in 0..10_000 {
        router.send_multipart(["nobody", "x"], 0).unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(router.stats().drops, 10_000);
    let lines = records_with("messages dropped so far");
    let lines: Vec<_> = lines.iter().filter(|(_, l)| l.starts_with("ROUTER")).collect();
    // At most one line per 100 ms (plus the first), whatever the number of drops.
    let allowed = 2 + (elapsed.as_millis() / 100) as usize;
    assert!(
        !lines.is_empty() && lines.len() <= allowed,
        "{} lines in {elapsed:?}",
        lines.len()
    );
    assert!(lines.iter().all(|(level, _)| *level == log::Level::Debug));
}

/// An authentication refusal is logged at INFO with the ZAP handler's status and reason, on
/// the refusing side, naming the endpoint.
#[test]
fn a_refused_handshake_is_logged_with_its_reason() {
    capture();
    let ctx = Context::new();
    let auth = zocket::auth::Authenticator::start(&ctx).unwrap();
    auth.configure_plain("*", [("admin", "secret")]);
    let server = ctx.socket(SocketType::Rep).unwrap();
    server.set_plain_server(true).unwrap();
    let monitor = server.monitor_events().unwrap();
    server.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = server.last_endpoint().unwrap();
    let client = ctx.socket(SocketType::Req).unwrap();
    client.set_plain_username(Some("admin")).unwrap();
    client.set_plain_password(Some("wrong")).unwrap();
    client.connect(&endpoint).unwrap();
    wait_for(&monitor, SocketEvent::HandshakeFailedAuth, 1);
    let lines = records_with(&endpoint);
    assert!(
        lines.iter().any(|(level, line)| *level == log::Level::Info
            && line.contains("authentication refused (400): invalid user name or password")),
        "{lines:?}"
    );
}
