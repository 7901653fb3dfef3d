//! Forwarding between two sockets, as `zmq_proxy` and `zmq_proxy_steerable` do.

use crate::error::{Error, Result};
use crate::poller::{POLLIN, PollItem, poll};
use crate::socket::{DONTWAIT, Socket};
use crate::socket_type::SocketType;
use bytes::Bytes;

/// Moves whole messages from `frontend` to `backend` and back, forever, copying each to
/// `capture` when given (libzmq `zmq_proxy`). Returns only on an error.
///
/// The classic use is a ROUTER frontend and a DEALER backend between REQ clients and REP
/// workers, or an XSUB frontend and an XPUB backend between publishers and subscribers.
pub fn proxy(frontend: &Socket, backend: &Socket, capture: Option<&Socket>) -> Result<()> {
    run(frontend, backend, capture, None)
}

/// Like [`proxy`], steered by messages on `control` (libzmq `zmq_proxy_steerable`):
/// `PAUSE` stops forwarding, `RESUME` restarts it, `TERMINATE` makes the function return
/// `Ok(())`. Other commands are ignored. When `control` is a REP socket, each command is
/// answered with an empty message once it has taken effect, so a REQ can steer in lockstep.
pub fn proxy_steerable(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
    control: &Socket,
) -> Result<()> {
    run(frontend, backend, capture, Some(control))
}

/// At most this many messages move in one direction before the other gets a turn.
const BATCH: usize = 1000;

fn run(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
    control: Option<&Socket>,
) -> Result<()> {
    let mut paused = false;
    loop {
        let mut items = [
            PollItem::new(frontend, POLLIN),
            PollItem::new(backend, POLLIN),
            PollItem::new(control.unwrap_or(frontend), POLLIN),
        ];
        let watched = if control.is_some() { 3 } else { 2 };
        poll(&mut items[..watched], None)?;
        if let Some(control) = control
            && items[2].is_readable()
        {
            let command = control.recv_frames(DONTWAIT)?;
            let terminate = match &command[..] {
                [cmd] if &cmd[..] == b"PAUSE" => {
                    paused = true;
                    false
                }
                [cmd] if &cmd[..] == b"RESUME" => {
                    paused = false;
                    false
                }
                [cmd] if &cmd[..] == b"TERMINATE" => true,
                _ => false,
            };
            if control.socket_type() == SocketType::Rep {
                control.send(Bytes::new(), 0)?; // a REP control socket answers every command
            }
            if terminate {
                return Ok(());
            }
        }
        if paused {
            // Wait for the next command only.
            if let Some(control) = control {
                let mut items = [PollItem::new(control, POLLIN)];
                poll(&mut items, None)?;
            }
            continue;
        }
        let (front_ready, back_ready) = (items[0].is_readable(), items[1].is_readable());
        if front_ready {
            forward(frontend, backend, capture)?;
        }
        if back_ready {
            forward(backend, frontend, capture)?;
        }
    }
}

/// Moves up to [`BATCH`] waiting messages from `from` to `to`.
fn forward(from: &Socket, to: &Socket, capture: Option<&Socket>) -> Result<()> {
    for _ in 0..BATCH {
        let frames = match from.recv_parts(DONTWAIT) {
            Ok(frames) => frames,
            Err(Error::WouldBlock) => return Ok(()),
            Err(e) => return Err(e),
        };
        if let Some(capture) = capture {
            match capture.send_parts(frames.clone(), DONTWAIT) {
                Ok(()) | Err(Error::WouldBlock) => {}
                Err(e) => return Err(e),
            }
        }
        to.send_parts(frames, 0)?;
    }
    Ok(())
}
