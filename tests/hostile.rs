//! Hostile peers, beyond `bad_input.rs`: raw peers that attack a zocket socket with what the
//! protocol allows in principle but no honest peer sends (deep, huge and very many
//! subscriptions, endless MORE frames, huge announced frames, slow and idle connections, churn,
//! a subscriber that never reads, duplicate routing ids, unknown versions and mechanisms).
//!
//! Each victim runs in a child process (this binary, re-executed on the `victim` test), so that
//! an abort or a stack overflow fails the case instead of killing the test runner. Each case
//! checks that the victim is still alive, that a good zocket peer is still served, and that
//! the victim's peak resident memory (VmHWM) grew by no more than a bound stated in the case.
//! Bigger versions of some attacks are `#[ignore]`d: `cargo test --test hostile -- --ignored`.

mod common;

#[path = "hostile/attacker.rs"]
mod attacker;
#[path = "hostile/connections.rs"]
mod connections;
#[path = "hostile/frames.rs"]
mod frames;
#[path = "hostile/handshakes.rs"]
mod handshakes;
#[path = "hostile/harness.rs"]
mod harness;
#[path = "hostile/subscriptions.rs"]
mod subscriptions;
#[path = "hostile/victim.rs"]
mod victim;

/// The child's entry point: serves as the victim its environment names; does nothing in a
/// normal run.
#[test]
#[ignore = "the victim process of the other cases; does nothing when run alone"]
fn victim() {
    if let Some(role) = common::child::role(victim::ROLE_ENV) {
        victim::serve(&role);
    }
}
