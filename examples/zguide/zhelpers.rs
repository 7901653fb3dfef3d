//! Helpers shared by the zguide examples, like the guide's `zhelpers.h`: the command line
//! (`--short`, `--port-base N`), random numbers (`randof`), random printable identities and
//! dumping a message frame by frame (`s_dump`).
//!
//! Included by each program with `#[path = "zhelpers.rs"] mod zhelpers;`.

#![allow(dead_code)] // each program uses what it needs

use zocket as zmq;

use std::hash::{BuildHasher, RandomState};

/// The guide's first port: with `--port-base N` the guide's port `p` becomes `N + (p - 5555)`,
/// so that programs started with the same base still find each other.
const GUIDE_BASE: u16 = 5555;

/// The command line: `[--short] [--port-base N] [other arguments]`.
pub struct Args {
    /// Do a small, bounded amount of work, print `READY` once set up (servers) and one
    /// `SUMMARY <name> key=value ...` line at the end.
    pub short: bool,
    port_base: u16,
    /// The arguments that are not options, in order.
    pub rest: Vec<String>,
}

impl Args {
    /// Parses the process's arguments; exits with a usage message on a bad one.
    pub fn parse() -> Args {
        let mut args = Args {
            short: false,
            port_base: GUIDE_BASE,
            rest: Vec::new(),
        };
        let mut given = std::env::args().skip(1);
        while let Some(arg) = given.next() {
            match arg.as_str() {
                "--short" => args.short = true,
                "--port-base" => match given.next().and_then(|n| n.parse().ok()) {
                    Some(base) => args.port_base = base,
                    None => usage("--port-base needs a port number"),
                },
                option if option.starts_with("--") => usage(&format!("unknown option {option}")),
                _ => args.rest.push(arg),
            }
        }
        args
    }

    /// The port standing for the guide's `guide_port`.
    pub fn port(&self, guide_port: u16) -> u16 {
        self.port_base + (guide_port - GUIDE_BASE)
    }

    /// `tcp://*:<port>` for the guide's `guide_port`.
    pub fn tcp_bind(&self, guide_port: u16) -> String {
        format!("tcp://*:{}", self.port(guide_port))
    }

    /// `tcp://localhost:<port>` for the guide's `guide_port`.
    pub fn tcp_connect(&self, guide_port: u16) -> String {
        format!("tcp://localhost:{}", self.port(guide_port))
    }

    /// Short mode: tells a test that the program is set up (Ctrl-C handled, sockets bound or
    /// connected).
    pub fn ready(&self) {
        if self.short {
            println!("READY");
        }
    }

    /// Short mode: the one `SUMMARY` line a test checks.
    pub fn summary(&self, name: &str, fields: std::fmt::Arguments<'_>) {
        if self.short {
            println!("SUMMARY {name} {fields}");
        }
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("{problem}\nusage: [--short] [--port-base N] [arguments]");
    std::process::exit(2);
}

/// A random number in `0..n` (the guide's `randof`).
pub fn randof(n: u32) -> u32 {
    // Each RandomState has fresh random keys: enough randomness for examples, no crate needed.
    (RandomState::new().hash_one(n) % u64::from(n.max(1))) as u32
}

/// A random printable identity, `XXXX-XXXX` in hex (the guide's `s_set_id`).
pub fn random_id() -> String {
    format!("{:04X}-{:04X}", randof(0x10000), randof(0x10000))
}

/// Receives one whole message and prints it frame by frame, as text when it is printable and
/// in hex otherwise (the guide's `s_dump`). Returns its frames.
pub fn dump(socket: &zmq::Socket) -> zmq::Result<Vec<Vec<u8>>> {
    println!("----------------------------------------");
    let frames = socket.recv_multipart(0)?;
    for frame in &frames {
        let text = frame.iter().all(|&b| (0x20..0x7f).contains(&b));
        let shown = match text {
            true => String::from_utf8_lossy(frame).into_owned(),
            false => hex(frame),
        };
        println!("[{:03}] {shown}", frame.len());
    }
    Ok(frames)
}

/// `bytes` in upper-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
