//! Context termination: `shutdown` wakes every blocked call with `Terminated`, `term` waits
//! for the sockets, and dropping the last context handle leaves live sockets working.

#[path = "common/sleeping.rs"]
mod sleeping;

use std::sync::mpsc;
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, POLLIN, PollItem, SocketType};

/// How long a blocked call may take to return after `shutdown`. The wake-up itself takes
/// microseconds; the margin absorbs scheduling on a loaded 2-core machine.
const WAKE_BOUND: Duration = Duration::from_millis(100);
const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `blocked` on a thread, waits until it is blocked (`is_blocked`), shuts the context
/// down, and returns what the call returned and how long after `shutdown` it did.
fn shutdown_wakes<T: Send + 'static>(
    ctx: &Context,
    blocked: impl FnOnce() -> zocket::Result<T> + Send + 'static,
) -> (zocket::Result<T>, Duration) {
    let (task_tx, task_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        task_tx.send(sleeping::this_task()).unwrap();
        let result = blocked();
        tx.send(Instant::now()).unwrap();
        result
    });
    // Wait until the call sleeps in the kernel (blocked on its wait), read from /proc.
    sleeping::wait_until_sleeping(&task_rx.recv().unwrap(), TIMEOUT);
    let shut_at = Instant::now();
    ctx.shutdown();
    let returned_at = rx.recv_timeout(TIMEOUT).expect("the blocked call returns");
    let result = thread.join().unwrap();
    (result, returned_at.saturating_duration_since(shut_at))
}

#[test]
fn shutdown_wakes_a_blocked_recv() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let (result, took) = shutdown_wakes(&ctx, move || pull.recv_bytes(0));
    assert!(matches!(result, Err(Error::Terminated)), "{result:?}");
    assert!(took < WAKE_BOUND, "recv returned {took:?} after shutdown");
}

#[test]
fn shutdown_wakes_a_blocked_send() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_sndhwm(1).unwrap();
    push.connect("tcp://127.0.0.1:1").unwrap(); // nobody there: sends fill the pipe
    let (result, took) = shutdown_wakes(&ctx, move || {
        for _ in 0..1000 {
            push.send("x", 0)?;
        }
        Ok(())
    });
    assert!(matches!(result, Err(Error::Terminated)), "{result:?}");
    assert!(took < WAKE_BOUND, "send returned {took:?} after shutdown");
}

#[test]
fn shutdown_wakes_a_blocked_poll() {
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.bind("tcp://127.0.0.1:0").unwrap();
    let (result, took) = shutdown_wakes(&ctx, move || {
        let mut items = [PollItem::new(&sub, POLLIN)];
        zocket::poll(&mut items, None)
    });
    assert!(matches!(result, Err(Error::Terminated)), "{result:?}");
    assert!(took < WAKE_BOUND, "poll returned {took:?} after shutdown");
}

#[test]
fn shutdown_wakes_a_blocked_proxy() {
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::Router).unwrap();
    frontend.bind("tcp://127.0.0.1:0").unwrap();
    let backend = ctx.socket(SocketType::Dealer).unwrap();
    backend.bind("tcp://127.0.0.1:0").unwrap();
    let (result, took) = shutdown_wakes(&ctx, move || zocket::proxy(&frontend, &backend, None));
    assert!(matches!(result, Err(Error::Terminated)), "{result:?}");
    assert!(took < WAKE_BOUND, "proxy returned {took:?} after shutdown");
}

#[test]
fn after_shutdown_every_call_fails_and_term_waits_for_the_sockets() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    ctx.shutdown();
    assert!(matches!(push.send("x", DONTWAIT), Err(Error::Terminated)));
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::Terminated)));
    assert!(matches!(pull.bind("tcp://127.0.0.1:0"), Err(Error::Terminated)));
    assert!(matches!(
        push.connect("tcp://127.0.0.1:1"),
        Err(Error::Terminated)
    ));
    assert!(matches!(ctx.socket(SocketType::Pair), Err(Error::Terminated)));
    ctx.shutdown(); // a second time does nothing

    // term returns only once the last socket is dropped.
    let (dropped_tx, dropped_rx) = mpsc::channel::<Instant>();
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        drop(push);
        drop(pull);
        dropped_tx.send(Instant::now()).unwrap();
    });
    ctx.term();
    let returned = Instant::now();
    let dropped = dropped_rx.recv_timeout(TIMEOUT).unwrap();
    assert!(
        returned >= dropped,
        "term returned before the sockets were dropped"
    );
    holder.join().unwrap();
}

#[test]
fn term_delivers_what_sockets_queued_before_returning() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let sender = Context::new();
    let push = sender.socket(SocketType::Push).unwrap();
    push.connect(&endpoint).unwrap();
    for i in 0..100u32 {
        push.send(i.to_be_bytes(), 0).unwrap();
    }
    drop(push);
    sender.term(); // lingers until everything is written
    for i in 0..100u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_be_bytes());
    }
}

#[test]
fn sockets_outlive_the_last_context_handle() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    drop(ctx);
    push.send("still here", 0).unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"still here");
}
