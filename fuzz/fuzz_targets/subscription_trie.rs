//! Sequences of subscribe, unsubscribe, lookup and match operations on the subscription trie,
//! checked step by step against a plain multiset of prefixes. The body is
//! `zocket::fuzzing::subscription_trie`, which `tests/fuzz_corpus.rs` also replays.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zocket::fuzzing::subscription_trie(data));
