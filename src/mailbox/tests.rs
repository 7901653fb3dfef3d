//! The mailbox on real descriptors: edges on the readiness fd, blocking with a timeout,
//! several senders, and the signal count.

use super::*;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::Instant;

/// An outside event loop watching the mailbox's readiness fd, as a user of ZMQ_FD would.
struct Watcher {
    poll: Poll,
    events: Events,
}

impl Watcher {
    fn new<C>(mailbox: &Mailbox<C>) -> Watcher {
        let poll = Poll::new().unwrap();
        let fd = mailbox.readiness_fd().as_raw_fd();
        poll.registry()
            .register(&mut SourceFd(&fd), Token(7), Interest::READABLE)
            .unwrap();
        Watcher {
            poll,
            events: Events::with_capacity(4),
        }
    }

    /// Whether the fd turned readable within `timeout`.
    fn readable_within(&mut self, timeout: Duration) -> bool {
        self.poll.poll(&mut self.events, Some(timeout)).unwrap();
        self.events.iter().any(|event| event.is_readable())
    }
}

#[test]
fn the_readiness_fd_signals_only_when_the_mailbox_slept() {
    let (sender, mut mailbox) = mailbox::<u32>().unwrap();
    let mut watcher = Watcher::new(&mailbox);
    assert!(!watcher.readable_within(Duration::ZERO));

    sender.send(1).unwrap();
    assert!(
        watcher.readable_within(Duration::from_secs(5)),
        "the first command signals"
    );
    assert_eq!(mailbox.try_recv().unwrap(), Some(1));

    sender.send(2).unwrap();
    assert!(
        !watcher.readable_within(Duration::ZERO),
        "no signal while the receiver is awake"
    );
    assert_eq!(mailbox.try_recv().unwrap(), Some(2));
    assert_eq!(mailbox.try_recv().unwrap(), None, "drained: asleep again");

    sender.send(3).unwrap();
    assert!(
        watcher.readable_within(Duration::from_secs(5)),
        "a new edge after the sleep"
    );
    assert_eq!(mailbox.try_recv().unwrap(), Some(3));
    assert_eq!(mailbox.signal_counts(), (2, 0, 2), "one signal per sleep");
}

#[test]
fn recv_waits_up_to_the_timeout() {
    let (_sender, mut mailbox) = mailbox::<u32>().unwrap();
    let start = Instant::now();
    assert_eq!(mailbox.recv(Some(Duration::from_millis(50))).unwrap(), None);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(50), "returned after {waited:?}");
    assert!(waited < Duration::from_secs(5), "returned after {waited:?}");
}

#[test]
fn a_blocked_recv_wakes_on_a_send_from_another_thread() {
    let (sender, mut mailbox) = mailbox::<&'static str>().unwrap();
    let start = Instant::now();
    let sending = thread::spawn(move || sender.send("attach").unwrap());
    assert_eq!(mailbox.recv(None).unwrap(), Some("attach"));
    sending.join().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn four_senders_keep_their_order_and_signal_once_per_sleep() {
    const PER_SENDER: u32 = 20_000;
    let (sender, mut mailbox) = mailbox::<(u32, u32)>().unwrap();
    let senders: Vec<_> = (0..4)
        .map(|id| {
            let sender = sender.clone();
            thread::spawn(move || {
                for n in 0..PER_SENDER {
                    sender.send((id, n)).unwrap();
                }
            })
        })
        .collect();
    let mut next = [0u32; 4];
    for _ in 0..4 * PER_SENDER {
        let (id, n) = match mailbox.try_recv().unwrap() {
            Some(command) => command,
            None => mailbox
                .recv(Some(Duration::from_secs(10)))
                .unwrap()
                .expect("a command"),
        };
        assert_eq!(n, next[id as usize], "sender {id}'s commands in order");
        next[id as usize] += 1;
    }
    for sending in senders {
        sending.join().unwrap();
    }
    assert_eq!(mailbox.try_recv().unwrap(), None);
    let (raised, unconsumed, sleeps) = mailbox.signal_counts();
    assert_eq!(unconsumed, 0);
    // Every sleep but the last (after the last command) was ended by one signal.
    assert!(sleeps > 1, "the receiver never slept: the test checked nothing");
    assert_eq!(raised, sleeps - 1, "one signal per sleep");
}

#[test]
fn a_dropped_receiver_refuses_commands_and_queued_ones_are_freed() {
    let (sender, mut mailbox) = mailbox::<Arc<()>>().unwrap();
    let token = Arc::new(());
    sender.send(token.clone()).unwrap();
    sender.send(token.clone()).unwrap();
    assert!(mailbox.try_recv().unwrap().is_some());
    drop(mailbox);
    match sender.send(token.clone()) {
        Err(SendError::Closed(back)) => assert!(Arc::ptr_eq(&back, &token)),
        other => panic!("sent to a dropped mailbox: {:?}", other.is_ok()),
    }
    drop(sender);
    assert_eq!(Arc::strong_count(&token), 1, "the queued command was freed");
}
