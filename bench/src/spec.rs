//! What one measurement is: the implementation, test, transport and message size, and the
//! arguments a peer process is started with.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// An implementation under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Impl {
    /// This project's library.
    Zocket,
    /// This project's library with two I/O threads per context (`Context::with_io_threads`).
    ZocketIo2,
    /// This project's library, the PUSH side sending through a spool (throughput only).
    ZocketSpool(Spooling),
    /// This project's library with CURVE security (the bound side is the CURVE server).
    ZocketCurve,
    /// The C library, through the `zmq` crate.
    Libzmq,
    /// The C library with CURVE security: the libzmq that pyzmq bundles (the `zmq` crate's
    /// own build has no CURVE), loaded at run time and driven from Rust.
    LibzmqCurve,
    /// zmq.rs, the `zeromq` crate (tokio).
    Zmqrs,
    /// The `rzmq` crate (tokio).
    Rzmq,
    /// Blocking std sockets with no framing: the floor any messaging library sits on.
    Raw,
}

/// The spool a spooled zocket sender uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Spooling {
    /// A `FileSpool` with `FsyncPolicy::Always`.
    Always,
    /// A `FileSpool` with `FsyncPolicy::Every(100 ms)` (the default policy).
    Every100ms,
    /// A `FileSpool` with `FsyncPolicy::Never`.
    Never,
    /// A `MemorySpool` without quota.
    Memory,
    /// `Every100ms`, and the PULL keeps `FileReceipts` (effectively-once delivery).
    Receipts,
}

impl Spooling {
    /// Whether this spool keeps its messages in files (and so needs a directory).
    pub fn on_disk(self) -> bool {
        self != Spooling::Memory
    }
}

impl Impl {
    /// Every implementation, in table order.
    pub const ALL: [Impl; 13] = [
        Impl::Zocket,
        Impl::ZocketIo2,
        Impl::ZocketSpool(Spooling::Always),
        Impl::ZocketSpool(Spooling::Every100ms),
        Impl::ZocketSpool(Spooling::Never),
        Impl::ZocketSpool(Spooling::Memory),
        Impl::ZocketSpool(Spooling::Receipts),
        Impl::ZocketCurve,
        Impl::Libzmq,
        Impl::LibzmqCurve,
        Impl::Zmqrs,
        Impl::Rzmq,
        Impl::Raw,
    ];

    /// The spooled zocket variants, in table order (`--impl zocket+spool` selects them all).
    pub const SPOOLED: [Impl; 5] = [
        Impl::ZocketSpool(Spooling::Always),
        Impl::ZocketSpool(Spooling::Every100ms),
        Impl::ZocketSpool(Spooling::Never),
        Impl::ZocketSpool(Spooling::Memory),
        Impl::ZocketSpool(Spooling::Receipts),
    ];

    /// The name shown in tables and charts.
    pub fn label(self) -> &'static str {
        match self {
            Impl::Zocket => "zocket",
            Impl::ZocketIo2 => "zocket(2io)",
            Impl::ZocketSpool(Spooling::Always) => "zocket+spool(always)",
            Impl::ZocketSpool(Spooling::Every100ms) => "zocket+spool(100ms)",
            Impl::ZocketSpool(Spooling::Never) => "zocket+spool(never)",
            Impl::ZocketSpool(Spooling::Memory) => "zocket+spool(mem)",
            Impl::ZocketSpool(Spooling::Receipts) => "zocket+spool+receipts",
            Impl::ZocketCurve => "zocket+curve",
            Impl::Libzmq => "libzmq",
            Impl::LibzmqCurve => "libzmq+curve",
            Impl::Zmqrs => "zmq.rs",
            Impl::Rzmq => "rzmq",
            Impl::Raw => "raw",
        }
    }

    /// The name used on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Impl::Zmqrs => "zmqrs",
            other => other.label(),
        }
    }

    /// The spool of a spooled variant.
    pub fn spooling(self) -> Option<Spooling> {
        match self {
            Impl::ZocketSpool(spooling) => Some(spooling),
            _ => None,
        }
    }

    /// Whether this is one of the CURVE rows.
    pub fn curve(self) -> bool {
        matches!(self, Impl::ZocketCurve | Impl::LibzmqCurve)
    }

    /// The implementation this one's `×libzmq` ratio is taken against: libzmq+curve for the
    /// CURVE rows (so that the ratio compares like with like), libzmq for the others.
    pub fn libzmq_peer(self) -> Impl {
        match self.curve() {
            true => Impl::LibzmqCurve,
            false => Impl::Libzmq,
        }
    }

    /// Whether this implementation has rows for `test` at `size`: the spooled variants
    /// throughput only (a spool only changes how a PUSH sends); the CURVE ones latency at 64 B
    /// and throughput at 64 B and 64 KiB (small messages show the per-message cost of the
    /// encryption, large ones its cost per byte).
    pub fn measures(self, test: Test, size: usize) -> bool {
        match (self.spooling(), self.curve()) {
            (Some(_), _) => test == Test::Thr,
            (None, true) => match test {
                Test::Lat => size == 64,
                Test::Thr => size == 64 || size == 65536,
            },
            (None, false) => true,
        }
    }

    /// Whether this implementation has rows over `transport`: inproc is measured for zocket
    /// and libzmq (a second I/O thread and a spool change nothing there or do not apply;
    /// CURVE does not apply to inproc, where libzmq ignores the security mechanism; the other
    /// libraries and raw sockets have no in-process transport to compare).
    pub fn runs_over(self, transport: Transport) -> bool {
        transport != Transport::Inproc || matches!(self, Impl::Zocket | Impl::Libzmq)
    }

    /// Parses a comma-separated `--impl` list; `zocket+spool` stands for every spooled variant.
    pub fn parse_list(list: &str) -> Result<Vec<Impl>, String> {
        let mut impls = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "zocket+spool" => impls.extend(Impl::SPOOLED),
                name => impls.push(name.parse()?),
            }
        }
        match impls.is_empty() {
            true => Err("--impl: empty list".into()),
            false => Ok(impls),
        }
    }
}

impl FromStr for Impl {
    type Err = String;
    fn from_str(s: &str) -> Result<Impl, String> {
        Impl::ALL
            .into_iter()
            .find(|i| i.key() == s || i.label() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Impl::ALL.iter().map(|i| i.key()).collect();
                format!(
                    "unknown implementation {s:?} (known: {}, zocket+spool)",
                    names.join(", ")
                )
            })
    }
}

/// Which pattern is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Test {
    /// REQ/REP ping-pong; reported as one-way latency (round trip / 2).
    Lat,
    /// PUSH → PULL streaming; reported as messages and megabytes per second.
    Thr,
}

impl Test {
    /// Both tests, in table order.
    pub const ALL: [Test; 2] = [Test::Lat, Test::Thr];

    /// The short name used in tables and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Test::Lat => "lat",
            Test::Thr => "thr",
        }
    }

    /// The message sizes this test runs at, in bytes.
    pub fn sizes(self) -> &'static [usize] {
        match self {
            Test::Lat => &[1, 64, 1024],
            Test::Thr => &[1, 64, 1024, 65536],
        }
    }
}

impl FromStr for Test {
    type Err = String;
    fn from_str(s: &str) -> Result<Test, String> {
        Test::ALL
            .into_iter()
            .find(|t| t.key() == s)
            .ok_or_else(|| format!("unknown test {s:?}"))
    }
}

/// The transport between the two peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP over 127.0.0.1.
    Tcp,
    /// Unix-domain stream sockets.
    Ipc,
    /// Between two threads of one process, over the library's in-process transport (the
    /// only rows with one process: both roles share a context).
    Inproc,
}

impl Transport {
    /// Every transport, in table order.
    pub const ALL: [Transport; 3] = [Transport::Tcp, Transport::Ipc, Transport::Inproc];

    /// The short name used in tables and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
            Transport::Inproc => "inproc",
        }
    }
}

impl FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Transport, String> {
        Transport::ALL
            .into_iter()
            .find(|t| t.key() == s)
            .ok_or_else(|| format!("unknown transport {s:?}"))
    }
}

/// Which end of the conversation a peer process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Binds and prints its endpoint: the REP side, or the PULL side (which measures).
    Server,
    /// Connects to the server's endpoint: the REQ side (which measures), or the PUSH side.
    Client,
}

impl Role {
    /// The name used on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        [Role::Server, Role::Client]
            .into_iter()
            .find(|r| r.key() == s)
            .ok_or_else(|| format!("unknown role {s:?}"))
    }
}

/// Everything a peer process needs to play its part in one measurement.
#[derive(Clone, Debug)]
pub struct Job {
    /// The implementation to drive.
    pub imp: Impl,
    /// Server or client.
    pub role: Role,
    /// Latency or throughput.
    pub test: Test,
    /// TCP or IPC.
    pub transport: Transport,
    /// Message size in bytes.
    pub size: usize,
    /// Measured round trips (latency) or messages (throughput).
    pub count: u64,
    /// Round trips made before the clock starts (latency only).
    pub warmup: u64,
    /// For the server, where to bind (TCP port 0 is allowed); for the client, where to connect.
    pub endpoint: String,
    /// The directory a spooled sender keeps its file spool in: must not exist yet; the sender
    /// creates it and removes it when done (the harness removes it too, after a failure).
    pub spool_dir: Option<PathBuf>,
    /// The libzmq shared library the `libzmq+curve` peers load (found by the harness).
    pub libzmq: Option<PathBuf>,
}

impl Job {
    /// The arguments that start a peer process for this job (after the `peer` word).
    pub fn to_args(&self) -> Vec<String> {
        [
            ("--impl", self.imp.key().to_string()),
            ("--role", self.role.key().to_string()),
            ("--test", self.test.key().to_string()),
            ("--transport", self.transport.key().to_string()),
            ("--size", self.size.to_string()),
            ("--count", self.count.to_string()),
            ("--warmup", self.warmup.to_string()),
            ("--endpoint", self.endpoint.clone()),
        ]
        .into_iter()
        .chain(
            self.spool_dir
                .as_ref()
                .map(|dir| ("--spool-dir", dir.display().to_string())),
        )
        .chain(
            self.libzmq
                .as_ref()
                .map(|lib| ("--libzmq", lib.display().to_string())),
        )
        .flat_map(|(flag, value)| [flag.to_string(), value])
        .collect()
    }

    /// Parses the arguments written by [`Job::to_args`].
    pub fn parse(args: &[String]) -> Result<Job, String> {
        let mut imp = None;
        let mut role = None;
        let mut test = None;
        let mut transport = None;
        let mut size = None;
        let mut count = None;
        let mut warmup = 0;
        let mut endpoint = None;
        let mut spool_dir = None;
        let mut libzmq = None;
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || value.parse::<u64>().map_err(|e| format!("{flag} {value}: {e}"));
            match flag.as_str() {
                "--impl" => imp = Some(value.parse()?),
                "--role" => role = Some(value.parse()?),
                "--test" => test = Some(value.parse()?),
                "--transport" => transport = Some(value.parse()?),
                "--size" => size = Some(number()? as usize),
                "--count" => count = Some(number()?),
                "--warmup" => warmup = number()?,
                "--endpoint" => endpoint = Some(value.clone()),
                "--spool-dir" => spool_dir = Some(PathBuf::from(value)),
                "--libzmq" => libzmq = Some(PathBuf::from(value)),
                other => return Err(format!("unknown peer argument {other}")),
            }
        }
        let missing = |name: &str| format!("peer needs {name}");
        Ok(Job {
            imp: imp.ok_or_else(|| missing("--impl"))?,
            role: role.ok_or_else(|| missing("--role"))?,
            test: test.ok_or_else(|| missing("--test"))?,
            transport: transport.ok_or_else(|| missing("--transport"))?,
            size: size.ok_or_else(|| missing("--size"))?,
            count: count.ok_or_else(|| missing("--count"))?.max(2),
            warmup,
            endpoint: endpoint.ok_or_else(|| missing("--endpoint"))?,
            spool_dir,
            libzmq,
        })
    }
}

/// A timed stretch of work, as a peer reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    /// Seconds on the clock.
    pub secs: f64,
    /// What was done in that time: round trips (latency) or messages (throughput).
    pub units: f64,
}

impl fmt::Display for Measured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.secs, self.units)
    }
}

impl FromStr for Measured {
    type Err = String;
    fn from_str(s: &str) -> Result<Measured, String> {
        let mut it = s.split_whitespace().map(|w| w.parse::<f64>());
        match (it.next(), it.next(), it.next()) {
            (Some(Ok(secs)), Some(Ok(units)), None) if secs > 0.0 && units > 0.0 => {
                Ok(Measured { secs, units })
            }
            _ => Err(format!("bad result line {s:?}")),
        }
    }
}

/// Formats a size in bytes the way tables show it: `1 B`, `64 B`, `1 KiB`, `64 KiB`.
pub fn size_label(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_args_round_trip() {
        let job = Job {
            imp: Impl::Zmqrs,
            role: Role::Client,
            test: Test::Thr,
            transport: Transport::Ipc,
            size: 64,
            count: 1000,
            warmup: 10,
            endpoint: "ipc:///tmp/x.sock".into(),
            spool_dir: None,
            libzmq: None,
        };
        let back = Job::parse(&job.to_args()).unwrap();
        assert_eq!(back.to_args(), job.to_args());
        let spooled = Job {
            imp: Impl::ZocketSpool(Spooling::Always),
            spool_dir: Some(PathBuf::from("/tmp/zocket-bench-spool-1-2")),
            ..job
        };
        let back = Job::parse(&spooled.to_args()).unwrap();
        assert_eq!(back.imp, spooled.imp);
        assert_eq!(back.to_args(), spooled.to_args());
        let curve = Job {
            imp: Impl::LibzmqCurve,
            spool_dir: None,
            libzmq: Some(PathBuf::from("/x/libzmq.so.5")),
            ..spooled
        };
        let back = Job::parse(&curve.to_args()).unwrap();
        assert_eq!(back.libzmq, curve.libzmq);
        assert_eq!(back.to_args(), curve.to_args());
    }

    #[test]
    fn impl_names() {
        for imp in Impl::ALL {
            assert_eq!(imp.key().parse::<Impl>().unwrap(), imp);
            assert_eq!(imp.label().parse::<Impl>().unwrap(), imp);
        }
        assert_eq!(
            Impl::parse_list("zocket,zocket+spool,raw").unwrap().len(),
            2 + Impl::SPOOLED.len()
        );
        assert!(Impl::parse_list("zocket+spool(sometimes)").is_err());
        assert!(!Impl::ZocketSpool(Spooling::Memory).measures(Test::Lat, 64));
        assert!(Impl::ZocketSpool(Spooling::Memory).measures(Test::Thr, 64));
        assert!(Impl::ZocketCurve.measures(Test::Lat, 64));
        assert!(!Impl::ZocketCurve.measures(Test::Lat, 1));
        assert!(Impl::LibzmqCurve.measures(Test::Thr, 65536));
        assert!(!Impl::LibzmqCurve.measures(Test::Thr, 1024));
        assert!(!Impl::ZocketCurve.runs_over(Transport::Inproc));
        assert_eq!("libzmq+curve".parse::<Impl>().unwrap(), Impl::LibzmqCurve);
    }

    #[test]
    fn measured_round_trip() {
        let m = Measured {
            secs: 0.25,
            units: 1000.0,
        };
        assert_eq!(m.to_string().parse::<Measured>().unwrap(), m);
        assert!("0 5".parse::<Measured>().is_err());
    }

    #[test]
    fn size_labels() {
        assert_eq!(size_label(1), "1 B");
        assert_eq!(size_label(1024), "1 KiB");
        assert_eq!(size_label(65536), "64 KiB");
    }
}
