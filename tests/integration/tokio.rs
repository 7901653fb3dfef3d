//! zocket with tokio (`zocket::tokio::AsyncSocket`, on the socket's readiness descriptor):
//! tasks wake for messages sent by blocking threads and by other tasks, sends wait for room
//! without blocking the runtime, and a socket cannot be wrapped outside a runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use zocket::tokio::AsyncSocket;
use zocket::{Context, SocketType};

const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_receives_what_a_blocking_thread_sends() {
    let ctx = Context::new();
    let pull = AsyncSocket::new(ctx.socket(SocketType::Pull).unwrap()).unwrap();
    pull.get_ref().bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.get_ref().last_endpoint().unwrap();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        for n in 0..5_000u32 {
            // Pauses now and then, so that the task also waits on an empty socket.
            if n % 500 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            push.send_multipart([&n.to_be_bytes()[..], b"tail"], 0).unwrap();
        }
    });
    for n in 0..5_000u32 {
        let parts = tokio::time::timeout(DEADLINE, pull.recv_multipart())
            .await
            .expect("a message within the deadline")
            .unwrap();
        assert_eq!(parts, [n.to_be_bytes().to_vec(), b"tail".to_vec()]);
    }
    sender.join().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn request_reply_between_tasks_on_one_thread() {
    let ctx = Context::new();
    let rep = AsyncSocket::new(ctx.socket(SocketType::Rep).unwrap()).unwrap();
    rep.get_ref().bind("tcp://127.0.0.1:0").unwrap();
    let req = AsyncSocket::new(ctx.socket(SocketType::Req).unwrap()).unwrap();
    req.get_ref()
        .connect(&rep.get_ref().last_endpoint().unwrap())
        .unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..500 {
            let msg = rep.recv().await.unwrap();
            rep.send(msg).await.unwrap();
        }
    });
    for n in 0..500u32 {
        req.send(&n.to_le_bytes()[..]).await.unwrap();
        let reply = tokio::time::timeout(DEADLINE, req.recv()).await.unwrap().unwrap();
        assert_eq!(&reply[..], n.to_le_bytes());
    }
    server.await.unwrap();
}

/// A send that finds no room waits on the reactor (other tasks run) and goes through once
/// the receiver reads.
#[tokio::test(flavor = "current_thread")]
async fn a_full_socket_waits_without_blocking_the_runtime() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvhwm(10).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = AsyncSocket::new(ctx.socket(SocketType::Push).unwrap()).unwrap();
    push.get_ref().set_sndhwm(10).unwrap();
    push.get_ref().connect(&pull.last_endpoint().unwrap()).unwrap();
    let big = vec![1u8; 256 * 1024];
    let ran = Arc::new(AtomicBool::new(false));
    let other = tokio::spawn({
        let ran = Arc::clone(&ran);
        async move { ran.store(true, Ordering::Relaxed) }
    });
    // Enough to fill both queues and the kernel's buffers: some sends must wait.
    let reader = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        for _ in 0..200 {
            pull.recv_bytes(0).unwrap();
        }
    });
    for _ in 0..200 {
        tokio::time::timeout(DEADLINE, push.send(&big[..]))
            .await
            .unwrap()
            .unwrap();
    }
    other.await.unwrap();
    assert!(ran.load(Ordering::Relaxed));
    reader.join().unwrap();
}

#[test]
fn wrapping_outside_a_runtime_is_an_error_not_a_panic() {
    let ctx = Context::new();
    let socket = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(AsyncSocket::new(socket), Err(zocket::Error::Io(_))));
}
