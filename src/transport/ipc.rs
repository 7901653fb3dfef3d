//! IPC over Unix-domain sockets: a stale socket file is replaced on bind, the file is removed
//! when the listener closes. On Linux, `ipc://@name` is `name` in the abstract namespace, as
//! in libzmq: no file, gone with the last socket.

use crate::error::{Error, Result};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) struct IpcListener {
    inner: mio::net::UnixListener,
    path: PathBuf,
}

impl IpcListener {
    pub fn raw_fd(&self) -> u64 {
        use std::os::fd::AsRawFd;
        self.inner.as_raw_fd() as u64
    }

    pub fn bind(endpoint: &str, path: &Path) -> Result<(IpcListener, String)> {
        if let Some(name) = abstract_name(path) {
            let listener = bind_abstract(name).map_err(|e| match e.kind() {
                io::ErrorKind::AddrInUse => Error::AddrInUse(endpoint.to_string()),
                _ => Error::Io(e),
            })?;
            let resolved = format!("ipc://{}", path.display());
            return Ok((
                IpcListener {
                    inner: mio::net::UnixListener::from_std(listener),
                    path: PathBuf::new(), // no file to remove
                },
                resolved,
            ));
        }
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
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The abstract name an `ipc://@name` path stands for (Linux only; elsewhere `@name` is a
/// file name, as in libzmq).
pub(crate) fn abstract_name(path: &Path) -> Option<&[u8]> {
    use std::os::unix::ffi::OsStrExt;
    let name = path.as_os_str().as_bytes().strip_prefix(b"@")?;
    cfg!(any(target_os = "linux", target_os = "android")).then_some(name)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(_: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

fn bind_abstract(name: &[u8]) -> io::Result<std::os::unix::net::UnixListener> {
    let listener = std::os::unix::net::UnixListener::bind_addr(&abstract_addr(name)?)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Starts a non-blocking connection to `path`, an abstract name if it begins with `@`.
pub(crate) fn connect(path: &Path) -> io::Result<mio::net::UnixStream> {
    match abstract_name(path) {
        Some(name) => mio::net::UnixStream::connect_addr(&abstract_addr(name)?),
        None => mio::net::UnixStream::connect(path),
    }
}

/// A new socket path under the temporary directory, for `ipc://*`.
fn fresh_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("zocket-{}-{n}.sock", std::process::id()))
}
