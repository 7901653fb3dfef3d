//! The perf tools in examples/ face libzmq across the wire: zocket's remote_lat/remote_thr
//! against a libzmq echo/sink (what libzmq's local_lat/local_thr do), and zocket's
//! local_lat/local_thr against a libzmq requester/pusher.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// The example binaries, next to the test binaries. A plain `cargo test` builds them; when
/// only this test was asked for, they are built here first.
fn example(name: &str) -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let mut dir = std::env::current_exe().unwrap();
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join("examples").join(name);
    BUILT.call_once(|| {
        let tools = ["local_lat", "remote_lat", "local_thr", "remote_thr"];
        if tools.iter().all(|t| dir.join("examples").join(t).exists()) {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        // The tools are the main package's examples.
        cmd.args(["build", "-p", "zocket"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        for t in tools {
            cmd.args(["--example", t]);
        }
        assert!(cmd.status().unwrap().success(), "building the perf tools failed");
    });
    path
}

fn output_text(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Starts a zocket tool that binds, and reads the endpoint it reports on stderr.
fn spawn_bound(tool: &str, args: [&str; 2]) -> (Child, String) {
    let mut child = Command::new(example(tool))
        .arg("tcp://127.0.0.1:0")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("bound to ")
        .expect("endpoint line")
        .to_string();
    (child, endpoint)
}

fn libzmq_socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_rcvtimeo(10_000).unwrap();
    s.set_sndtimeo(10_000).unwrap();
    s
}

#[test]
fn zocket_remote_lat_against_a_libzmq_echo() {
    let ctx = zmq::Context::new();
    let rep = libzmq_socket(&ctx, zmq::REP);
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = rep.get_last_endpoint().unwrap().unwrap();
    let echo = std::thread::spawn(move || {
        for _ in 0..500 {
            let m = rep.recv_bytes(0).unwrap();
            assert_eq!(m.len(), 64);
            rep.send(m, 0).unwrap();
        }
    });
    let out = Command::new(example("remote_lat"))
        .args([&endpoint, "64", "500"])
        .output()
        .unwrap();
    echo.join().unwrap();
    let text = output_text(&out);
    assert!(text.contains("message size: 64 [B]"), "{text}");
    assert!(text.contains("roundtrip count: 500"), "{text}");
    assert!(
        text.contains("average latency: ") && text.contains(" [us]"),
        "{text}"
    );
}

#[test]
fn zocket_local_lat_against_a_libzmq_requester() {
    let (child, endpoint) = spawn_bound("local_lat", ["100", "300"]);
    let ctx = zmq::Context::new();
    let req = libzmq_socket(&ctx, zmq::REQ);
    req.connect(&endpoint).unwrap();
    for _ in 0..300 {
        req.send(vec![1u8; 100], 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), vec![1u8; 100]);
    }
    assert!(child.wait_with_output().unwrap().status.success());
}

#[test]
fn zocket_remote_thr_into_a_libzmq_sink() {
    let ctx = zmq::Context::new();
    let pull = libzmq_socket(&ctx, zmq::PULL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = pull.get_last_endpoint().unwrap().unwrap();
    let sender = Command::new(example("remote_thr"))
        .args([&endpoint, "1000", "20000"])
        .spawn()
        .unwrap();
    for _ in 0..20_000 {
        assert_eq!(pull.recv_bytes(0).unwrap().len(), 1000);
    }
    assert!(sender.wait_with_output().unwrap().status.success());
}

#[test]
fn zocket_local_thr_from_a_libzmq_pusher() {
    let (child, endpoint) = spawn_bound("local_thr", ["64", "50000"]);
    let ctx = zmq::Context::new();
    let push = libzmq_socket(&ctx, zmq::PUSH);
    push.connect(&endpoint).unwrap();
    for _ in 0..50_000 {
        push.send(vec![0u8; 64], 0).unwrap();
    }
    let text = output_text(&child.wait_with_output().unwrap());
    assert!(text.contains("message count: 50000"), "{text}");
    assert!(text.contains("[msg/s]") && text.contains("[Mb/s]"), "{text}");
}
