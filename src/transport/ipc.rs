//! IPC over Unix-domain sockets: a stale socket file is replaced on bind, the file is removed
//! when the listener closes.

use crate::error::{Error, Result};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) struct IpcListener {
    inner: mio::net::UnixListener,
    path: PathBuf,
}

impl IpcListener {
    pub fn bind(endpoint: &str, path: &Path) -> Result<(IpcListener, String)> {
        let path = if path == Path::new("*") {
            fresh_path()
        } else {
            path.to_path_buf()
        };
        let listener = match std::os::unix::net::UnixListener::bind(&path) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                // A live listener answers; a file left by a crashed process does not.
                if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                    return Err(Error::AddrInUse(endpoint.to_string()));
                }
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(Error::Io(e)),
                    _ => {}
                }
                std::os::unix::net::UnixListener::bind(&path).map_err(|e| match e.kind() {
                    io::ErrorKind::AddrInUse => Error::AddrInUse(endpoint.to_string()),
                    _ => Error::Io(e),
                })?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::InvalidEndpoint {
                    endpoint: endpoint.to_string(),
                    reason: "the directory of the socket path does not exist".into(),
                });
            }
            Err(e) => return Err(Error::Io(e)),
        };
        listener.set_nonblocking(true)?;
        let resolved = format!("ipc://{}", path.display());
        Ok((
            IpcListener {
                inner: mio::net::UnixListener::from_std(listener),
                path,
            },
            resolved,
        ))
    }

    pub fn accept(&self) -> io::Result<mio::net::UnixStream> {
        self.inner.accept().map(|(s, _)| s)
    }

    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        &mut self.inner
    }
}

impl Drop for IpcListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A new socket path under the temporary directory, for `ipc://*`.
fn fresh_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("zocket-{}-{n}.sock", std::process::id()))
}
