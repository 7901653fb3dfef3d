//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same code as the
//! cargo-fuzz targets (`zocket::fuzzing`), so that every input the fuzzers kept, and every
//! crash they found once, is checked by a plain `cargo test` on a stable toolchain.

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    for file in files {
        let data = std::fs::read(&file).unwrap();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("{} fails {target}", file.display());
        }
    }
}

#[test]
fn zmtp_protocol_corpus() {
    replay("zmtp_protocol", zocket::fuzzing::zmtp_protocol);
}

#[test]
fn handshake_corpus() {
    replay("handshake", zocket::fuzzing::handshake);
}

#[test]
fn subscription_trie_corpus() {
    replay("subscription_trie", zocket::fuzzing::subscription_trie);
}

#[test]
fn curve_server_corpus() {
    use zocket::fuzzing::{Target, secure_conversation};
    replay("curve_server", |data| {
        secure_conversation(Target::CurveServer, data)
    });
}

#[test]
fn curve_client_corpus() {
    use zocket::fuzzing::{Target, secure_conversation};
    replay("curve_client", |data| {
        secure_conversation(Target::CurveClient, data)
    });
}

#[test]
fn plain_corpus() {
    use zocket::fuzzing::{Target, secure_conversation};
    replay("plain", |data| {
        if let Some((&side, rest)) = data.split_first() {
            secure_conversation(
                Target::Plain {
                    server: side & 1 == 0,
                },
                rest,
            );
        }
    });
}
