//! Subscriptions as an attack on PUB and XPUB: one very deep topic, megabytes of them, a
//! hundred thousand of them, and subscription churn that an XPUB hands to its application.

use crate::attacker::{Attacker, Outcome};
use crate::common::{FLAG_COMMAND, command_body, encode_frame, pseudo_random};
use crate::harness::{DEADLINE, MIB, Victim};
use std::time::{Duration, Instant};

fn subscribe(topic: &[u8]) -> Vec<u8> {
    encode_frame(FLAG_COMMAND, &command_body("SUBSCRIBE", topic))
}

fn cancel(topic: &[u8]) -> Vec<u8> {
    encode_frame(FLAG_COMMAND, &command_body("CANCEL", topic))
}

/// A subscription in the ZMTP 3.0 form: a message whose first byte is 1.
fn subscribe_message(topic: &[u8]) -> Vec<u8> {
    let mut body = vec![1u8];
    body.extend_from_slice(topic);
    encode_frame(0, &body)
}

/// Sends `bytes` and waits until the victim parsed them.
fn send_parsed(victim: &mut Victim, attacker: &mut Attacker, bytes: &[u8], what: &str) {
    let outcome = attacker.send(bytes);
    let parsed = attacker.ping_pong(DEADLINE);
    if parsed.is_err() {
        victim.process.exits_within(Duration::from_secs(1));
    }
    victim.process.assert_alive(what);
    assert_eq!(outcome, Outcome::Sent, "{what}: the victim did not take it");
    parsed.unwrap_or_else(|e| panic!("{what}: no PONG after it: {e}"));
}

/// Waits until an XPUB victim's application read `count` subscription messages in all.
fn wait_subscriptions_read(victim: &mut Victim, count: u64, what: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let read = victim.others_received();
        if read >= count {
            return;
        }
        victim.process.assert_alive(what);
        assert!(
            Instant::now() < deadline,
            "{what}: the XPUB application read {read} subscription messages, expected {count}"
        );
    }
}

/// A 300 KB topic is a 300,000-deep path in a trie: subscribing, cancelling, subscribing in the
/// 3.0 form and hanging up while holding it must neither recurse that deep nor cost more than
/// 64 MiB.
#[test]
fn a_300_kb_topic_neither_crashes_nor_bloats_a_publisher() {
    for role in ["pub", "xpub"] {
        let mut victim = Victim::start(role, "");
        let topic = pseudo_random(300, 300_000);
        let mut attacker = Attacker::handshaken(&victim.endpoint, "SUB");
        send_parsed(
            &mut victim,
            &mut attacker,
            &subscribe(&topic),
            "a 300 KB SUBSCRIBE",
        );
        victim.assert_serves("holding a 300 KB subscription");
        send_parsed(&mut victim, &mut attacker, &cancel(&topic), "a 300 KB CANCEL");
        victim.assert_serves("after a 300 KB CANCEL");
        send_parsed(
            &mut victim,
            &mut attacker,
            &subscribe_message(&topic),
            "a 300 KB 3.0 subscription",
        );
        drop(attacker);
        victim.assert_serves("after a subscriber holding a 300 KB subscription left");
        victim.assert_peak_growth_within(64 * MIB, &format!("{role}, a 300 KB topic"));
        victim.finish();
    }
}

/// 2,048 random topics of 2 KiB each: 4 MiB of subscriptions sharing no prefix. What they
/// cost must stay in proportion: at most 64 MiB.
#[test]
fn megabytes_of_subscriptions_cost_memory_in_proportion() {
    let mut victim = Victim::start("pub", "");
    let mut attacker = Attacker::handshaken(&victim.endpoint, "SUB");
    let mut batch = Vec::new();
    for i in 0..2048u64 {
        batch.extend(subscribe(&pseudo_random(i + 1, 2048)));
    }
    send_parsed(&mut victim, &mut attacker, &batch, "4 MiB of subscriptions");
    victim.assert_serves("holding 4 MiB of subscriptions");
    victim.assert_peak_growth_within(64 * MIB, "pub, 2,048 topics of 2 KiB");
    drop(attacker);
    victim.assert_serves("after the subscriber left");
    victim.finish();
}

/// 100,000 distinct topics subscribed, then cancelled, by one peer; each application-visible
/// change read by the XPUB's application.
#[test]
fn a_hundred_thousand_subscriptions_are_served_and_forgotten() {
    const TOPICS: u64 = 100_000;
    let topics: Vec<Vec<u8>> = (0..TOPICS)
        .map(|i| format!("topic/{i:06}").into_bytes())
        .collect();
    for role in ["pub", "xpub"] {
        let mut victim = Victim::start(role, "");
        let mut attacker = Attacker::handshaken(&victim.endpoint, "SUB");
        let subscribes: Vec<u8> = topics.iter().flat_map(|t| subscribe(t)).collect();
        send_parsed(&mut victim, &mut attacker, &subscribes, "100,000 subscriptions");
        if role == "xpub" {
            wait_subscriptions_read(&mut victim, TOPICS, "100,000 subscriptions");
        }
        victim.assert_serves("holding 100,000 subscriptions");
        let cancels: Vec<u8> = topics.iter().flat_map(|t| cancel(t)).collect();
        send_parsed(&mut victim, &mut attacker, &cancels, "100,000 cancels");
        if role == "xpub" {
            wait_subscriptions_read(&mut victim, 2 * TOPICS, "100,000 cancels");
        }
        victim.assert_serves("after 100,000 cancels");
        // Subscribed again, and the subscriber leaves holding them.
        send_parsed(
            &mut victim,
            &mut attacker,
            &subscribes,
            "100,000 subscriptions again",
        );
        drop(attacker);
        victim.assert_serves("after a subscriber with 100,000 subscriptions left");
        victim.assert_peak_growth_within(64 * MIB, &format!("{role}, 100,000 topics"));
        victim.finish();
    }
}

/// An XPUB whose application does not read subscriptions, facing a peer that subscribes and
/// cancels one topic 200,000 times: every change is a message for the application, and they
/// must not pile up beyond the receive high-water mark (100 here): at most 16 MiB.
#[test]
fn subscription_churn_to_an_xpub_that_does_not_read_stays_bounded() {
    let mut victim = Victim::start("xpub", "read_subs=0 rcvhwm=100");
    let mut attacker = Attacker::handshaken(&victim.endpoint, "SUB");
    let mut pair = subscribe(b"x");
    pair.extend(cancel(b"x"));
    let outcome = attacker.flood(&pair.repeat(10_000), 20 * 10_000 * pair.len());
    if outcome == Outcome::Sent {
        // Whatever the victim did with them, it has parsed them all.
        let _ = attacker.ping_pong(DEADLINE);
    }
    eprintln!("subscription churn: the attack ended {outcome:?}");
    victim.assert_serves("after 400,000 subscription changes");
    victim.assert_peak_growth_within(16 * MIB, "xpub not reading, 400,000 subscription changes");
    victim.finish();
}
