//! Opens a file spool whose segment holds arbitrary bytes (a damaged or hand-edited file):
//! recovery must report or skip damage, never panic, and every record it then serves must
//! read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zocket::spool::{FileSpool, FileSpoolConfig, OnCorruption, Spool};

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("zocket-fuzz-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("00000000000000000001.seg"), data).expect("segment");
    for on_corruption in [OnCorruption::Fail, OnCorruption::Skip] {
        let config = FileSpoolConfig {
            on_corruption,
            ..FileSpoolConfig::default()
        };
        if let Ok(mut spool) = FileSpool::open_with(&dir, config) {
            for seq in spool.first_unacked()..spool.next_seq() {
                let _ = spool.read(seq);
            }
            let _ = spool.append(&[bytes::Bytes::from_static(b"after recovery")]);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
});
