//! Model-based test of inproc: random sends and receives in both directions of a DEALER pair
//! (multipart messages, high-water marks from 1 to 1,000, connect before or after bind),
//! checked against two plain queues. Every message arrives once, whole and in order; a
//! receive finds a message exactly when the model has one; a send is refused only when the
//! direction holds at least half the sum of both marks, and never lets it hold more than the
//! sender's and receiver's marks allow (see `Bounds`).

use proptest::prelude::*;
use std::collections::VecDeque;
use zocket::{Context, DONTWAIT, Error, Socket, SocketType};

#[derive(Clone, Debug)]
enum Op {
    /// Side 0 or 1 sends a message of these frames.
    Send(usize, Vec<Vec<u8>>),
    /// Side 0 or 1 receives.
    Recv(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let frame = prop::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        3 => (0..2usize, prop::collection::vec(frame, 1..4)).prop_map(|(s, m)| Op::Send(s, m)),
        2 => (0..2usize).prop_map(Op::Recv),
    ]
}

fn hwm() -> impl Strategy<Value = usize> {
    prop::sample::select(vec![1usize, 2, 3, 7, 1000])
}

/// One direction's bounds: the sender's SNDHWM and the receiver's RCVHWM.
struct Bounds {
    snd: usize,
    rcv: usize,
}

impl Bounds {
    /// At most this many messages in flight: the pipe holds the sum of both marks; a receiver
    /// that reads also holds up to its mark in its socket's queue, and as many prefetched by
    /// the receiving call.
    fn most(&self) -> usize {
        self.snd + 3 * self.rcv
    }

    /// A refused send means at least this many in flight: a writer that found the pipe full
    /// waits until it is down to about half.
    fn refused_at_least(&self) -> usize {
        (self.snd + self.rcv).div_ceil(2)
    }
}

fn dealer(ctx: &Context, snd: usize, rcv: usize) -> Socket {
    let s = ctx.socket(SocketType::Dealer).unwrap();
    s.set_sndhwm(snd).unwrap();
    s.set_rcvhwm(rcv).unwrap();
    s
}

fn run(hwms: [usize; 4], connect_first: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let ctx = Context::new();
    let name = "inproc://model";
    let sides = [dealer(&ctx, hwms[0], hwms[1]), dealer(&ctx, hwms[2], hwms[3])];
    if connect_first {
        sides[1].connect(name).unwrap();
        sides[0].bind(name).unwrap();
    } else {
        sides[0].bind(name).unwrap();
        sides[1].connect(name).unwrap();
    }
    // Direction d goes from side d to side 1 - d.
    let bounds = [
        Bounds {
            snd: hwms[0],
            rcv: hwms[3],
        },
        Bounds {
            snd: hwms[2],
            rcv: hwms[1],
        },
    ];
    let mut model: [VecDeque<Vec<Vec<u8>>>; 2] = Default::default();
    for op in ops {
        match op {
            Op::Send(from, msg) => {
                let in_flight = model[from].len();
                match sides[from].send_multipart(msg.iter(), DONTWAIT) {
                    Ok(()) => {
                        prop_assert!(
                            in_flight < bounds[from].most(),
                            "direction {from} took a message with {in_flight} in flight"
                        );
                        model[from].push_back(msg);
                    }
                    Err(Error::WouldBlock) => prop_assert!(
                        in_flight >= bounds[from].refused_at_least(),
                        "direction {from} refused with only {in_flight} in flight"
                    ),
                    Err(e) => return Err(TestCaseError::fail(format!("send failed: {e}"))),
                }
            }
            Op::Recv(at) => {
                let from = 1 - at;
                match sides[at].recv_multipart(DONTWAIT) {
                    Ok(got) => {
                        let want = model[from].pop_front();
                        prop_assert_eq!(Some(got), want, "side {} received out of order", at);
                    }
                    Err(Error::WouldBlock) => prop_assert!(
                        model[from].is_empty(),
                        "side {at} found nothing with {} waiting",
                        model[from].len()
                    ),
                    Err(e) => return Err(TestCaseError::fail(format!("recv failed: {e}"))),
                }
            }
        }
    }
    // Everything left arrives, in order.
    for at in 0..2 {
        while let Some(want) = model[1 - at].pop_front() {
            prop_assert_eq!(sides[at].recv_multipart(DONTWAIT).ok(), Some(want));
        }
        prop_assert!(matches!(
            sides[at].recv_multipart(DONTWAIT),
            Err(Error::WouldBlock)
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("ZOCKET_INPROC_MODEL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(500)
    ))]

    #[test]
    fn inproc_matches_two_queues(
        hwms in [hwm(), hwm(), hwm(), hwm()],
        connect_first in any::<bool>(),
        ops in prop::collection::vec(op(), 1..400),
    ) {
        run(hwms, connect_first, ops)?;
    }
}
