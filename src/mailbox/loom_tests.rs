//! loom model of the mailbox (see the ypipe models for the conventions).

use super::*;
use crate::sync::thread;
use crate::ypipe::loom_model as model;

#[test]
fn loom_two_senders_one_signal_per_sleep() {
    model(|| {
        let (sender, mut mailbox) = mailbox::<u32>().unwrap();
        let senders: Vec<_> = (0..2)
            .map(|id| {
                let sender = sender.clone();
                thread::spawn(move || assert!(sender.send(id).is_ok()))
            })
            .collect();
        drop(sender);
        let mut got = [
            mailbox.recv(None).unwrap().unwrap(),
            mailbox.recv(None).unwrap().unwrap(),
        ];
        for sending in senders {
            sending.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
        let (raised, unconsumed, sleeps) = mailbox.signal_counts();
        assert_eq!(unconsumed, 0, "a signal nobody slept for");
        // The receiver is awake at the end: every sleep was ended by exactly one signal.
        assert_eq!(raised, sleeps, "one signal per sleep");
    });
}
