//! libzmq's form of the monitor: a thread that takes a socket's events and sends each as
//! libzmq's two frames on a PAIR socket bound at an inproc endpoint.

use super::events::SocketEvent;
use super::hub::Monitor;
use crate::error::{Error, Result};
use crate::{Context, DONTWAIT, POLLOUT, PollItem, Socket, SocketType};
use std::time::Duration;

/// How often the forwarder looks at whether its socket stopped while nobody reads.
const CHECK: Duration = Duration::from_millis(50);

/// Binds the PAIR at `endpoint` and starts the thread forwarding `monitor`'s events to it.
pub(crate) fn start(ctx: Context, endpoint: &str, monitor: Monitor) -> Result<std::thread::JoinHandle<()>> {
    if !endpoint.starts_with("inproc://") {
        // libzmq publishes events over inproc only (EPROTONOSUPPORT).
        return Err(Error::UnsupportedTransport(endpoint.to_string()));
    }
    let pair = ctx.socket(SocketType::Pair)?;
    // Never keep the context alive for events nobody reads (libzmq sets linger 0 too).
    pair.set_linger(Some(Duration::ZERO))?;
    pair.bind(endpoint)?;
    std::thread::Builder::new()
        .name("zocket-monitor".into())
        .spawn(move || forward(&pair, &monitor))
        .map_err(Error::Io)
}

/// Sends every event until the socket stops. An event waits while the reader is absent or
/// full; events behind it queue in the monitor (up to its bound).
fn forward(pair: &Socket, monitor: &Monitor) {
    loop {
        let event = match monitor.recv_timeout(CHECK) {
            Ok(event) => event,
            Err(Error::WouldBlock) => continue,
            Err(_) => return,
        };
        let Some(frames) = event.to_libzmq_frames() else {
            continue;
        };
        if !send_when_possible(pair, monitor, &frames) || event.event == SocketEvent::MonitorStopped {
            return;
        }
    }
}

/// Sends one event; false when the forwarder should end (the socket stopped while the reader
/// took nothing, or the PAIR failed).
fn send_when_possible(pair: &Socket, monitor: &Monitor, frames: &[Vec<u8>; 2]) -> bool {
    loop {
        match pair.send_multipart([&frames[0][..], &frames[1][..]], DONTWAIT) {
            Ok(()) => return true,
            Err(Error::WouldBlock) => {}
            Err(_) => return false,
        }
        if monitor.is_stopped() {
            return false;
        }
        let mut items = [PollItem::new(pair, POLLOUT)];
        if crate::poll(&mut items, Some(CHECK)).is_err() {
            return false;
        }
    }
}
