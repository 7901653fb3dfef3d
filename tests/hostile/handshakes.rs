//! Handshakes as an attack: a greeting one byte at a time, a crowd of slow greetings, a READY
//! with 10,000 properties or one of 16 MiB, and versions and mechanisms zocket does not speak.

use crate::attacker::{Attacker, Outcome};
use crate::common::{FLAG_COMMAND, encode_frame, encode_message, greeting, ready_body};
use crate::harness::{DEADLINE, MIB, Victim};
use std::time::Duration;

/// A greeting and READY sent one byte per TCP segment, then a message: served like any other.
#[test]
fn a_greeting_sent_one_byte_at_a_time_is_served() {
    let mut victim = Victim::start("pull", "");
    let mut attacker = Attacker::connect(&victim.endpoint);
    let mut out = greeting(1, [0; 8]).to_vec();
    out.extend(encode_frame(
        FLAG_COMMAND,
        &ready_body(&[("Socket-Type", b"PUSH")]),
    ));
    // 1 ms between bytes: every byte is its own segment and its own read.
    assert_eq!(attacker.trickle(&out, 1, Duration::from_millis(1)), Outcome::Sent);
    attacker.read_handshake().expect("the victim's handshake");
    let message = encode_message(&[b"probe-slow."]);
    assert_eq!(
        attacker.trickle(&message, 1, Duration::from_millis(1)),
        Outcome::Sent
    );
    victim.process.expect_line("got probe-slow.", DEADLINE);
    victim.assert_serves("after a greeting sent one byte at a time");
    victim.finish();
}

/// Fifty peers that send one byte of greeting every 50 ms (never finishing within the 300 ms
/// handshake interval) are all dropped, while the good peer is served.
#[test]
fn a_crowd_of_slow_greetings_is_dropped_after_the_handshake_interval() {
    let mut victim = Victim::start("pull", "handshake_ms=300");
    let mut attackers: Vec<Attacker> = (0..50).map(|_| Attacker::connect(&victim.endpoint)).collect();
    victim.wait_fds_at_least(victim.baseline_fds + 50, "with 50 slow greetings");
    let g = greeting(1, [0; 8]);
    let mut dropped = vec![false; attackers.len()];
    for byte in g.iter().take(20) {
        for (i, a) in attackers.iter_mut().enumerate() {
            if !dropped[i] && a.send(std::slice::from_ref(byte)) != Outcome::Sent {
                dropped[i] = true;
            }
        }
        std::thread::sleep(Duration::from_millis(50)); // the attackers are slow on purpose
    }
    victim.assert_serves("while 50 greetings trickle");
    for (i, a) in attackers.iter_mut().enumerate() {
        assert!(
            dropped[i] || a.closed_within(DEADLINE),
            "slow greeting {i} was never dropped"
        );
    }
    victim.assert_fds_return(2, "after dropping 50 slow greetings");
    victim.finish();
}

/// A READY carrying `props` after Socket-Type PUSH; returns whether the victim accepted the
/// peer (a message sent after it arrives) or refused it (closed the connection).
fn ready_with(victim: &mut Victim, props: &[(&str, &[u8])], what: &str) -> bool {
    let mut all: Vec<(&str, &[u8])> = vec![("Socket-Type", b"PUSH")];
    all.extend_from_slice(props);
    let mut attacker = Attacker::connect(&victim.endpoint);
    let mut out = greeting(1, [0; 8]).to_vec();
    out.extend(encode_frame(FLAG_COMMAND, &ready_body(&all)));
    let probe = format!("probe-{}.", what.replace(' ', "-"));
    out.extend(encode_message(&[probe.as_bytes()]));
    let outcome = attacker.send(&out);
    let accepted = outcome == Outcome::Sent
        && victim
            .process
            .wait_line(&format!("got {probe}"), Duration::from_secs(2))
            .is_some();
    if !accepted {
        assert!(
            attacker.closed_within(DEADLINE),
            "{what}: the victim neither served the peer nor closed the connection"
        );
    }
    eprintln!("{what}: {}", if accepted { "accepted" } else { "refused" });
    accepted
}

/// A READY with 10,000 properties (distinct, then all of one name), and one with a 16 MiB
/// property: accepted or refused, the victim lives, serves, and spends at most 64 MiB.
#[test]
fn huge_ready_commands_neither_crash_nor_bloat_the_victim() {
    let mut victim = Victim::start("pull", "");
    let names: Vec<String> = (0..10_000).map(|i| format!("X-Property-{i:05}")).collect();
    let distinct: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), &b"0123456789abcdef"[..]))
        .collect();
    ready_with(&mut victim, &distinct, "10000 distinct properties");
    victim.assert_serves("after a READY with 10,000 properties");
    let same: Vec<(&str, &[u8])> = vec![("X-Same", &b"0123456789abcdef"[..]); 10_000];
    ready_with(&mut victim, &same, "10000 properties of one name");
    victim.assert_serves("after a READY with 10,000 properties of one name");
    let big = vec![0x42; 16 << 20];
    ready_with(&mut victim, &[("X-Big", &big)], "one 16 MiB property");
    victim.assert_serves("after a READY with a 16 MiB property");
    victim.assert_peak_growth_within(64 * MIB, "pull, huge READY commands");
    victim.finish();
}

/// Greetings of versions zocket does not know yet, and mechanisms it does not speak, against
/// PULL, ROUTER and PUB: 3.255, 4.0 and 255.0 are spoken as 3.1 (RFC 23: a peer accepts
/// higher versions); 2.x, CURVE, PLAIN, GSSAPI and garbage names are refused.
#[test]
fn unknown_versions_are_spoken_and_unknown_mechanisms_refused() {
    for (role, peer) in [("pull", "PUSH"), ("router", "DEALER"), ("pub", "SUB")] {
        let mut victim = Victim::start(role, "");
        for (major, minor) in [(3u8, 255u8), (4, 0), (255, 0)] {
            let mut g = greeting(minor, [0; 8]);
            g[10] = major;
            let what = format!("{role}: a ZMTP {major}.{minor} greeting");
            let mut attacker = Attacker::connect(&victim.endpoint);
            attacker.handshake(g, &[("Socket-Type", peer.as_bytes())]);
            attacker
                .ping_pong(DEADLINE)
                .unwrap_or_else(|e| panic!("{what}: not spoken to after the handshake: {e}"));
            victim.assert_serves(&format!("after {what}"));
        }
        let mut refused: Vec<(String, [u8; 64])> = Vec::new();
        let mut v2 = greeting(1, [0; 8]);
        v2[10] = 2;
        refused.push(("version 2".into(), v2));
        for name in [
            &b"CURVE"[..],
            b"PLAIN",
            b"GSSAPI",
            b"\xFF\xFE",
            b"NULLNULLNULLNULLNULL",
        ] {
            refused.push((
                format!("mechanism {:?}", String::from_utf8_lossy(name)),
                with_mechanism(name),
            ));
        }
        for (what, g) in refused {
            assert_refused(&mut victim, g, peer, &format!("{role}: a greeting with {what}"));
        }
        victim.assert_fds_return(2, "after the refused greetings");
        victim.finish();
    }
}

/// A version-3.1 greeting whose 20-byte mechanism field holds `name`, NUL-padded.
fn with_mechanism(name: &[u8]) -> [u8; 64] {
    let mut g = greeting(1, [0; 8]);
    g[12..32].fill(0);
    g[12..12 + name.len()].copy_from_slice(name);
    g
}

/// Sends `greeting` and a READY as `peer`; fails unless the victim closes the connection.
fn assert_refused(victim: &mut Victim, greeting: [u8; 64], peer: &str, what: &str) {
    let mut attacker = Attacker::connect(&victim.endpoint);
    let mut out = greeting.to_vec();
    out.extend(encode_frame(
        FLAG_COMMAND,
        &ready_body(&[("Socket-Type", peer.as_bytes())]),
    ));
    let _ = attacker.send(&out);
    assert!(attacker.closed_within(DEADLINE), "{what} was not refused");
    victim.assert_serves(&format!("after {what}"));
}

/// The mechanism field is a NUL-padded name: "NULL" followed by a NUL and more bytes is not
/// NULL (libzmq compares all 20 bytes and refuses it).
#[test]
fn a_mechanism_field_with_bytes_after_its_padding_is_refused() {
    let mut victim = Victim::start("pull", "");
    assert_refused(
        &mut victim,
        with_mechanism(b"NULL\0X"),
        "PUSH",
        "a mechanism \"NULL\\0X\"",
    );
    victim.finish();
}
