//! Lists what a spool directory holds: its segments, their records, the acknowledgement mark
//! and any damage. Read-only; works on a spool in use.
//!
//! ```text
//! cargo run --example spool_inspect -- /var/lib/myapp/out-spool
//! ```
//!
//! Exits with status 1 if a segment is damaged, 2 on a usage or read error.

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: spool_inspect DIR");
        std::process::exit(2);
    };
    let report = match zocket::spool::inspect(&dir) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("spool_inspect: {e}");
            std::process::exit(2);
        }
    };
    let stream = report
        .stream_id
        .map_or("unknown".into(), |id| format!("{id:016x}"));
    let acked = report.acked.map_or("damaged".into(), |seq| seq.to_string());
    println!("spool {dir}: stream {stream}, acknowledged up to {acked}");
    println!(
        "{:<28} {:>12} {:>10} {:>12} {:>10} {:>12}",
        "segment", "first", "records", "last", "unacked", "bytes"
    );
    for seg in &report.segments {
        let name = seg
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let last = seg.last_seq.map_or("-".into(), |s| s.to_string());
        println!(
            "{name:<28} {:>12} {:>10} {last:>12} {:>10} {:>12}",
            seg.first_seq, seg.records, seg.unacked, seg.bytes
        );
        if seg.preallocated > 0 {
            println!("    {} byte(s) preallocated for appends", seg.preallocated);
        }
        for (offset, reason) in &seg.damage {
            println!("    damage at byte {offset}: {reason}");
        }
    }
    println!("{} message(s) not acknowledged", report.unacked());
    if report.damaged() {
        std::process::exit(1);
    }
}
