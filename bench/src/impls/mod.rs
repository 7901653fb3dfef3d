//! One module per implementation under test, each playing the four peer roles.
//!
//! Every implementation follows the same rules so the numbers compare:
//! - the server binds and calls [`crate::peer::announce`] with the endpoint it got;
//! - each message sent is a fresh copy of a reused buffer (the library's ordinary send call);
//! - the echo server sends back the message object it received, without copying it;
//! - high-water marks are 1000 messages each way where the library has them (libzmq's default);
//! - the `+curve` variants use the fixed key pairs of [`curve`], the bound side as the server;
//! - the role ends with [`crate::peer::finish`] while the sockets are still open.

use crate::peer::PeerResult;
use crate::spec::{Impl, Job, Spooling};

mod curve;
mod libzmq;
pub mod libzmq_curve;
mod raw;
mod rzmq;
mod zmqrs;
mod zocket;
mod zocket_spool;

/// The high-water mark set on both ends, in messages.
pub const HWM: usize = 1000;

/// One implementation's four peer roles (the spooled zocket variants play only the two
/// throughput roles). Each runs to completion in the calling process.
pub trait Peer {
    /// REP: binds, announces, echoes `warmup + count` requests.
    fn lat_server(&self, job: &Job) -> PeerResult;
    /// REQ: connects, makes `warmup` then `count` timed round trips, reports them.
    fn lat_client(&self, job: &Job) -> PeerResult;
    /// PULL: binds, announces, receives `count` messages timing first to last, reports them.
    fn thr_receiver(&self, job: &Job) -> PeerResult;
    /// PUSH: connects and sends `count` messages as fast as it can.
    fn thr_sender(&self, job: &Job) -> PeerResult;
    /// Both roles of `job.test` over inproc, in this process: the server on a second thread,
    /// one context for both; the measuring side reports.
    fn inproc(&self, _job: &Job) -> PeerResult {
        Err("no inproc transport".into())
    }
}

/// The peer roles of an implementation.
pub fn get(imp: Impl) -> &'static dyn Peer {
    match imp {
        Impl::Zocket => &zocket::Zocket {
            io_threads: 1,
            curve: false,
        },
        Impl::ZocketIo2 => &zocket::Zocket {
            io_threads: 2,
            curve: false,
        },
        Impl::ZocketCurve => &zocket::Zocket {
            io_threads: 1,
            curve: true,
        },
        Impl::ZocketSpool(Spooling::Always) => &zocket_spool::ZocketSpool(Spooling::Always),
        Impl::ZocketSpool(Spooling::Every100ms) => &zocket_spool::ZocketSpool(Spooling::Every100ms),
        Impl::ZocketSpool(Spooling::Never) => &zocket_spool::ZocketSpool(Spooling::Never),
        Impl::ZocketSpool(Spooling::Memory) => &zocket_spool::ZocketSpool(Spooling::Memory),
        Impl::ZocketSpool(Spooling::Receipts) => &zocket_spool::ZocketSpool(Spooling::Receipts),
        Impl::Libzmq => &libzmq::Libzmq,
        Impl::LibzmqCurve => &libzmq_curve::LibzmqCurve,
        Impl::Zmqrs => &zmqrs::Zmqrs,
        Impl::Rzmq => &rzmq::Rzmq,
        Impl::Raw => &raw::Raw,
    }
}

/// A multi-threaded tokio runtime with the default number of workers, for the async libraries.
pub fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()
}
