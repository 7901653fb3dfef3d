//! What this build of the library is and can do, as rust-zmq's `version` and `has` tell.

/// This library's version, `(major, minor, patch)`.
///
/// Unlike rust-zmq's `version()`, which reports libzmq's, this is zocket's own version: it
/// speaks ZMTP 3.1, as libzmq 4.x does.
///
/// # Examples
///
/// ```
/// let (major, minor, patch) = zocket::version();
/// println!("zocket {major}.{minor}.{patch}");
/// ```
#[doc(alias = "zmq_version")]
pub fn version() -> (i32, i32, i32) {
    let part = |s: &str| s.parse().unwrap_or(0);
    (
        part(env!("CARGO_PKG_VERSION_MAJOR")),
        part(env!("CARGO_PKG_VERSION_MINOR")),
        part(env!("CARGO_PKG_VERSION_PATCH")),
    )
}

/// Whether this build has `capability`, by libzmq's names: `"ipc"`, `"tcp"`, `"inproc"` and
/// `"curve"` are there; `"gssapi"`, `"pgm"`, `"tipc"`, `"norm"` and `"draft"` are not.
///
/// # Examples
///
/// ```
/// assert!(zocket::has("ipc"));
/// assert!(zocket::has("curve"));
/// assert!(!zocket::has("pgm"));
/// ```
#[doc(alias = "zmq_has")]
pub fn has(capability: &str) -> bool {
    matches!(capability, "ipc" | "tcp" | "inproc" | "curve")
}
