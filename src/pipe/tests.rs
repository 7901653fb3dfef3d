//! Unit tests of the pipes' bookkeeping.

use super::*;

#[test]
fn a_removed_pipe_id_never_finds_the_next_pipe_in_its_slot() {
    let mut pipes = Pipes::default();
    let a = pipes.insert(Pipe::new(1, 1));
    let b = pipes.insert(Pipe::new(2, 2));
    assert_ne!(a, 0);
    assert!(pipes.remove(a).is_some());
    assert!(pipes.get(a).is_none() && pipes.remove(a).is_none());
    let c = pipes.insert(Pipe::new(3, 3));
    assert_ne!(c, a, "the slot is reused under a new id");
    assert!(pipes.get(a).is_none());
    assert_eq!(pipes.get(c).map(|p| p.sndhwm), Some(3));
    assert_eq!(pipes.get(b).map(|p| p.sndhwm), Some(2));
    assert!(pipes.get(u64::MAX).is_none());
}
