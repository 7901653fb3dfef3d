//! Peers that come and go at random, against a plain model: connections attach to and detach
//! from their socket while it works (DEALERs reconnecting to a ROUTER, SUBs joining and leaving
//! an XPUB), and nothing is lost, duplicated or left behind. Seeds are fixed; set
//! `ZOCKET_CHURN_SEED` to try another.

mod common;

use common::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Socket, SocketType};

fn seed() -> u64 {
    std::env::var("ZOCKET_CHURN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c0de)
}

/// xorshift64: deterministic choices for a given seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One DEALER of the model: its routing id, the requests it sent and the replies it got.
struct Client {
    socket: Socket,
    id: Vec<u8>,
    sent: u64,
    answered: u64,
}

impl Client {
    fn new(ctx: &Context, endpoint: &str, n: u64) -> Client {
        let socket = socket(ctx, SocketType::Dealer);
        let id = format!("client-{n}").into_bytes();
        socket.set_routing_id(&id).unwrap();
        socket.connect(endpoint).unwrap();
        Client {
            socket,
            id,
            sent: 0,
            answered: 0,
        }
    }

    /// Receives every reply owed, in order, before the deadline, the ROUTER serving meanwhile.
    fn collect_replies(&mut self, router: &Socket) {
        let deadline = Instant::now() + DEADLINE;
        while self.answered < self.sent {
            serve(router);
            match self.socket.recv_bytes(DONTWAIT) {
                Ok(reply) => {
                    assert_eq!(reply, reply_to(&self.id, self.answered), "reply out of order");
                    self.answered += 1;
                }
                Err(_) => {
                    assert!(
                        Instant::now() < deadline,
                        "{:?}: {} of {} replies",
                        self.id,
                        self.answered,
                        self.sent
                    );
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
}

fn request(id: &[u8], n: u64) -> Vec<u8> {
    [id, format!(" request {n}").as_bytes()].concat()
}

fn reply_to(id: &[u8], n: u64) -> Vec<u8> {
    [id, format!(" reply {n}").as_bytes()].concat()
}

/// Answers whatever the ROUTER has, checking each request comes from the id it names.
fn serve(router: &Socket) -> usize {
    let mut served = 0;
    while let Ok(parts) = router.recv_multipart(DONTWAIT) {
        assert_eq!(parts.len(), 2, "routing id and request");
        let (id, body) = (&parts[0], &parts[1]);
        assert!(body.starts_with(id), "{:?} arrived under id {:?}", body, id);
        let n: u64 = String::from_utf8_lossy(&body[id.len()..])
            .trim_start_matches(" request ")
            .parse()
            .unwrap();
        router.send_multipart([&id[..], &reply_to(id, n)], 0).unwrap();
        served += 1;
    }
    served
}

/// DEALERs connect, send, disconnect and reconnect, and leave, at random, while the ROUTER
/// serves: every request sent on a live connection is answered once, in order.
///
/// The ROUTER hands a routing id over to a reconnecting DEALER (ROUTER_HANDOVER). Without it,
/// as in libzmq, a reconnection that arrives before the ROUTER has let go of the old one is
/// refused, and what the DEALER had written to it is lost (this test fails so without it).
#[test]
fn dealers_that_come_and_go_are_each_answered_in_order() {
    let ctx = Context::new();
    let router = socket(&ctx, SocketType::Router);
    router.set_router_handover(true).unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = router.last_endpoint().unwrap();
    let mut rng = Rng(seed());
    let mut clients: Vec<Client> = Vec::new();
    let mut next_id = 0;
    for _ in 0..600 {
        match rng.below(10) {
            0 | 1 if clients.len() < 12 => {
                clients.push(Client::new(&ctx, &endpoint, next_id));
                next_id += 1;
            }
            2 if !clients.is_empty() => {
                // Leaves once answered (a DEALER's queue goes with it otherwise).
                let mut client = clients.swap_remove(rng.below(clients.len() as u64) as usize);
                client.collect_replies(&router);
            }
            3 if !clients.is_empty() => {
                // Disconnect and connect again once answered: the same routing id comes back.
                let i = rng.below(clients.len() as u64) as usize;
                clients[i].collect_replies(&router);
                clients[i].socket.disconnect(&endpoint).unwrap();
                clients[i].socket.connect(&endpoint).unwrap();
            }
            _ if !clients.is_empty() => {
                let i = rng.below(clients.len() as u64) as usize;
                let client = &mut clients[i];
                client.socket.send(request(&client.id, client.sent), 0).unwrap();
                client.sent += 1;
            }
            _ => {}
        }
        serve(&router);
    }
    let deadline = Instant::now() + DEADLINE;
    while clients.iter().any(|c| c.answered < c.sent) {
        serve(&router);
        for client in &mut clients {
            while let Ok(reply) = client.socket.recv_bytes(DONTWAIT) {
                assert_eq!(reply, reply_to(&client.id, client.answered));
                client.answered += 1;
            }
        }
        assert!(Instant::now() < deadline, "replies still missing at the end");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// SUBs subscribe to random topics and leave at random: the XPUB announces a topic when its
/// first subscriber arrives and withdraws it when its last one leaves, so per topic the
/// announcements alternate, and once every SUB is gone every topic was withdrawn. Each SUB
/// waits for the XPUB's welcome message (so its connection is attached) before the next step;
/// every SUB also subscribes to the welcome's prefix.
#[test]
fn subscribers_that_come_and_go_leave_no_subscription_behind() {
    const TOPICS: [&[u8]; 4] = [b"alpha", b"beta", b"gamma", b"delta"];
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_welcome_msg(Some(b"welcome")).unwrap();
    xpub.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = xpub.last_endpoint().unwrap();
    let mut rng = Rng(seed() ^ 0xabcd);
    let mut subs: Vec<Socket> = Vec::new();
    // Per topic: whether the XPUB last announced it (true) or withdrew it (false).
    let mut announced: HashMap<Vec<u8>, bool> = HashMap::new();
    for _ in 0..300 {
        if rng.below(3) == 0 && !subs.is_empty() {
            drop(subs.swap_remove(rng.below(subs.len() as u64) as usize));
        } else if subs.len() < 10 {
            let sub = socket(&ctx, SocketType::Sub);
            sub.set_subscribe(b"welcome").unwrap();
            for topic in TOPICS {
                if rng.below(2) == 0 {
                    sub.set_subscribe(topic).unwrap();
                }
            }
            sub.connect(&endpoint).unwrap();
            let deadline = Instant::now() + DEADLINE;
            while sub.recv_bytes(DONTWAIT).is_err() {
                read_announcements(&xpub, &mut announced); // a call: the XPUB attaches it
                assert!(Instant::now() < deadline, "no welcome");
                std::thread::sleep(Duration::from_millis(1));
            }
            subs.push(sub);
        }
        read_announcements(&xpub, &mut announced);
    }
    drop(subs);
    let deadline = Instant::now() + DEADLINE;
    loop {
        read_announcements(&xpub, &mut announced);
        if !announced.values().any(|&on| on) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still announced after every SUB left: {announced:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(
        announced.get(&b"welcome"[..]),
        Some(&false),
        "every SUB came and went"
    );
}

/// Reads the XPUB's announcements into `announced`, checking they alternate per topic.
fn read_announcements(xpub: &Socket, announced: &mut HashMap<Vec<u8>, bool>) {
    while let Ok(msg) = xpub.recv_bytes(DONTWAIT) {
        let (subscribe, topic) = (msg[0] == 1, msg[1..].to_vec());
        let before = announced.insert(topic.clone(), subscribe).unwrap_or(false);
        let name = String::from_utf8_lossy(&topic).into_owned();
        assert_ne!(before, subscribe, "{name} announced twice the same way");
    }
}

/// A spooled PUSH keeps sending while PULLs connect and leave at random, some after reading
/// part of what they were given (the rest of their share, in their pipes and in flight, goes
/// back to the spool): every message reaches some PULL's application. A message may arrive
/// twice only if a PULL left after reading it but before acknowledging it.
#[test]
fn a_spooled_push_loses_nothing_while_its_pulls_come_and_go() {
    const COUNT: u32 = 3_000;
    let ctx = Context::new();
    let push = socket(&ctx, SocketType::Push);
    push.set_spool(zocket::spool::MemorySpool::new(None)).unwrap();
    push.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = push.last_endpoint().unwrap();
    let mut rng = Rng(seed() ^ 0x5b001);
    let mut pulls: Vec<Socket> = Vec::new();
    let mut got = std::collections::BTreeSet::new();
    let read_some = |pull: &Socket, most: u64, got: &mut std::collections::BTreeSet<u32>| {
        for _ in 0..most {
            match pull.recv_bytes(DONTWAIT) {
                Ok(m) => {
                    got.insert(u32::from_be_bytes(m.try_into().unwrap()));
                }
                Err(_) => break,
            }
        }
    };
    let mut sent = 0;
    while sent < COUNT {
        match rng.below(8) {
            0 if pulls.len() < 4 => {
                let pull = socket(&ctx, SocketType::Pull);
                pull.set_rcvhwm(20).unwrap();
                pull.connect(&endpoint).unwrap();
                pulls.push(pull);
            }
            1 if pulls.len() > 1 => {
                let pull = pulls.swap_remove(rng.below(pulls.len() as u64) as usize);
                let most = rng.below(30);
                read_some(&pull, most, &mut got);
                drop(pull); // what it did not read was not acknowledged: sent again
            }
            _ => {
                for _ in 0..rng.below(40) {
                    if sent < COUNT {
                        push.send(sent.to_be_bytes(), 0).unwrap();
                        sent += 1;
                    }
                }
                for pull in &pulls {
                    let most = rng.below(50);
                    read_some(pull, most, &mut got);
                }
            }
        }
    }
    if pulls.is_empty() {
        let pull = socket(&ctx, SocketType::Pull);
        pull.connect(&endpoint).unwrap();
        pulls.push(pull);
    }
    let deadline = Instant::now() + DEADLINE * 2;
    while got.len() < COUNT as usize {
        for pull in &pulls {
            read_some(pull, u64::MAX, &mut got);
        }
        assert!(
            Instant::now() < deadline,
            "{} of {COUNT} spooled messages arrived; first missing: {:?}",
            got.len(),
            (0..COUNT).find(|n| !got.contains(n))
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
