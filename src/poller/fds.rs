//! `poll` with file descriptors among the items: one `poll(2)` on those descriptors and on the
//! sockets' readiness descriptors, which fire when a socket's readiness may have changed.

use super::{POLLIN, POLLOUT, PollItem, Target, check};
use crate::error::{Error, Result};
use std::time::{Duration, Instant};

pub(super) fn poll_with_fds(items: &mut [PollItem<'_>], timeout: Option<Duration>) -> Result<usize> {
    let deadline = crate::deadline::from_now(timeout);
    let mut fds: Vec<libc::pollfd> = items.iter().map(pollfd).collect::<Result<_>>()?;
    loop {
        // The sockets first: `events()` consumes each readiness signal, so a change after
        // this check makes its descriptor readable for the wait below.
        let mut ready = check(items)?;
        let now = Instant::now();
        let wait_ms = match deadline {
            None => -1,
            Some(d) if d <= now => 0,
            Some(d) => (d - now).as_millis().clamp(1, i32::MAX as u128) as i32,
        };
        // Descriptors are asked without waiting when a socket is already ready.
        let wait_ms = if ready > 0 { 0 } else { wait_ms };
        for fd in &mut fds {
            fd.revents = 0;
        }
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait_ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::Io(e));
        }
        if let Some(bad) = fds.iter().find(|fd| fd.revents & libc::POLLNVAL != 0) {
            // A closed descriptor: poll(2) would report it at once, forever.
            let e = std::io::Error::from_raw_os_error(libc::EBADF);
            return Err(Error::Io(std::io::Error::new(
                e.kind(),
                format!("descriptor {}: {e}", bad.fd),
            )));
        }
        for (item, fd) in items.iter_mut().zip(&fds) {
            if let Target::Fd(_) = item.target {
                item.revents = revents(fd.revents) & item.events;
                ready += (item.revents != 0) as usize;
            }
        }
        if ready > 0 || wait_ms == 0 {
            return Ok(ready);
        }
    }
}

/// What `poll(2)` watches for an item: its descriptor with its events, or a socket's
/// readiness descriptor for readability.
fn pollfd(item: &PollItem<'_>) -> Result<libc::pollfd> {
    let (fd, events) = match item.target {
        Target::Fd(fd) => {
            let mut events = 0;
            if item.events & POLLIN != 0 {
                events |= libc::POLLIN;
            }
            if item.events & POLLOUT != 0 {
                events |= libc::POLLOUT;
            }
            // Nothing wanted: left out (poll(2) skips a negative descriptor), so that an error
            // or hang-up on it, which poll(2) reports whatever is asked, cannot spin the wait.
            (if events == 0 { -1 } else { fd }, events)
        }
        Target::Socket(socket) => (socket.readiness_fd()?, libc::POLLIN),
    };
    Ok(libc::pollfd {
        fd,
        events,
        revents: 0,
    })
}

/// `poll(2)`'s answer as zocket's events; an error or hang-up counts as both, as it makes the
/// next read or write return at once.
fn revents(raw: i16) -> i16 {
    let mut events = 0;
    if raw & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0 {
        events |= POLLIN;
    }
    if raw & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0 {
        events |= POLLOUT;
    }
    events
}
