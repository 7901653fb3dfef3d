//! libzmq with CURVE security (`libzmq+curve`).
//!
//! The `zmq` crate builds libzmq without libsodium, so its libzmq has no CURVE
//! (`zmq::has("curve")` is false). This module loads, at run time, the libzmq that pyzmq ships
//! in its wheel (built with libsodium) and drives it from Rust through its C API, with the same
//! calls, patterns and high-water marks as [`super::libzmq`] (whose `zmq` crate calls are thin
//! wrappers of the same functions): the loops are native, so the row measures libzmq, not
//! Python. The harness finds the library once ([`locate`]) and passes its path to the peers.

use super::{HWM, Peer, curve};
use crate::peer::{self, PeerError, PeerResult};
use crate::spec::Job;
use libloading::Library;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Overrides the search for pyzmq's libzmq: the path of a libzmq shared library with CURVE.
pub const LIBZMQ_ENV: &str = "ZOCKET_BENCH_LIBZMQ";

// Constants from libzmq's include/zmq.h (4.3).
const ZMQ_REQ: c_int = 3;
const ZMQ_REP: c_int = 4;
const ZMQ_PULL: c_int = 7;
const ZMQ_PUSH: c_int = 8;
const ZMQ_LINGER: c_int = 17;
const ZMQ_SNDHWM: c_int = 23;
const ZMQ_RCVHWM: c_int = 24;
const ZMQ_LAST_ENDPOINT: c_int = 32;
const ZMQ_CURVE_SERVER: c_int = 47;
const ZMQ_CURVE_PUBLICKEY: c_int = 48;
const ZMQ_CURVE_SECRETKEY: c_int = 49;
const ZMQ_CURVE_SERVERKEY: c_int = 50;

/// `zmq_msg_t`: 64 opaque bytes, aligned on a pointer.
#[repr(C, align(8))]
struct RawMsg([u8; 64]);

/// The libzmq functions used here, resolved from the loaded library.
struct Api {
    ctx_new: unsafe extern "C" fn() -> *mut c_void,
    ctx_term: unsafe extern "C" fn(*mut c_void) -> c_int,
    socket: unsafe extern "C" fn(*mut c_void, c_int) -> *mut c_void,
    close: unsafe extern "C" fn(*mut c_void) -> c_int,
    setsockopt: unsafe extern "C" fn(*mut c_void, c_int, *const c_void, usize) -> c_int,
    getsockopt: unsafe extern "C" fn(*mut c_void, c_int, *mut c_void, *mut usize) -> c_int,
    bind: unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int,
    connect: unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int,
    msg_init: unsafe extern "C" fn(*mut RawMsg) -> c_int,
    msg_init_size: unsafe extern "C" fn(*mut RawMsg, usize) -> c_int,
    msg_data: unsafe extern "C" fn(*mut RawMsg) -> *mut c_void,
    msg_size: unsafe extern "C" fn(*const RawMsg) -> usize,
    msg_send: unsafe extern "C" fn(*mut RawMsg, *mut c_void, c_int) -> c_int,
    msg_recv: unsafe extern "C" fn(*mut RawMsg, *mut c_void, c_int) -> c_int,
    msg_close: unsafe extern "C" fn(*mut RawMsg) -> c_int,
    errno: unsafe extern "C" fn() -> c_int,
    strerror: unsafe extern "C" fn(c_int) -> *const c_char,
    has: unsafe extern "C" fn(*const c_char) -> c_int,
    version: unsafe extern "C" fn(*mut c_int, *mut c_int, *mut c_int),
    /// Keeps the functions above loaded.
    _lib: Library,
}

impl Api {
    /// Loads the library at `path` and resolves the functions.
    fn load(path: &Path) -> Result<Api, String> {
        let fail = |e: libloading::Error| format!("cannot load {}: {e}", path.display());
        // SAFETY: loading libzmq runs its initialisers, which have no preconditions.
        let lib = unsafe { Library::new(path) }.map_err(fail)?;
        /// The function `name`, as the type of the field it goes to.
        fn sym<T: Copy>(lib: &Library, name: &str) -> Result<T, libloading::Error> {
            let name = format!("{name}\0");
            // SAFETY: every field's type is the signature zmq.h declares for its function.
            unsafe { lib.get::<T>(name.as_bytes()).map(|f| *f) }
        }
        Ok(Api {
            ctx_new: sym(&lib, "zmq_ctx_new").map_err(fail)?,
            ctx_term: sym(&lib, "zmq_ctx_term").map_err(fail)?,
            socket: sym(&lib, "zmq_socket").map_err(fail)?,
            close: sym(&lib, "zmq_close").map_err(fail)?,
            setsockopt: sym(&lib, "zmq_setsockopt").map_err(fail)?,
            getsockopt: sym(&lib, "zmq_getsockopt").map_err(fail)?,
            bind: sym(&lib, "zmq_bind").map_err(fail)?,
            connect: sym(&lib, "zmq_connect").map_err(fail)?,
            msg_init: sym(&lib, "zmq_msg_init").map_err(fail)?,
            msg_init_size: sym(&lib, "zmq_msg_init_size").map_err(fail)?,
            msg_data: sym(&lib, "zmq_msg_data").map_err(fail)?,
            msg_size: sym(&lib, "zmq_msg_size").map_err(fail)?,
            msg_send: sym(&lib, "zmq_msg_send").map_err(fail)?,
            msg_recv: sym(&lib, "zmq_msg_recv").map_err(fail)?,
            msg_close: sym(&lib, "zmq_msg_close").map_err(fail)?,
            errno: sym(&lib, "zmq_errno").map_err(fail)?,
            strerror: sym(&lib, "zmq_strerror").map_err(fail)?,
            has: sym(&lib, "zmq_has").map_err(fail)?,
            version: sym(&lib, "zmq_version").map_err(fail)?,
            _lib: lib,
        })
    }

    /// The library's version, `4.3.5`.
    fn version(&self) -> String {
        let (mut major, mut minor, mut patch) = (0, 0, 0);
        // SAFETY: three valid out-pointers.
        unsafe { (self.version)(&mut major, &mut minor, &mut patch) };
        format!("{major}.{minor}.{patch}")
    }

    /// Whether the library was built with CURVE.
    fn has_curve(&self) -> bool {
        // SAFETY: a NUL-terminated string.
        unsafe { (self.has)(c"curve".as_ptr()) == 1 }
    }

    /// `Ok(rc)` for a non-negative return code, else the error libzmq reports, with `what`.
    fn check(&self, rc: c_int, what: &str) -> Result<c_int, PeerError> {
        if rc >= 0 {
            return Ok(rc);
        }
        // SAFETY: zmq_strerror returns a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr((self.strerror)((self.errno)())) };
        Err(format!("{what}: {}", text.to_string_lossy()).into())
    }
}

/// A libzmq context (one I/O thread, the default), terminated on drop.
struct Ctx<'a> {
    api: &'a Api,
    raw: *mut c_void,
}

impl<'a> Ctx<'a> {
    fn new(api: &'a Api) -> Result<Ctx<'a>, PeerError> {
        // SAFETY: no arguments.
        let raw = unsafe { (api.ctx_new)() };
        match raw.is_null() {
            true => Err(api.check(-1, "zmq_ctx_new").unwrap_err()),
            false => Ok(Ctx { api, raw }),
        }
    }

    /// A socket of `kind` with its CURVE keys set: the server (the bound side) its secret key;
    /// the client its own key pair and the server's public key.
    fn socket(&self, kind: c_int, server: bool) -> Result<Sock<'a>, PeerError> {
        // SAFETY: a live context.
        let raw = unsafe { (self.api.socket)(self.raw, kind) };
        if raw.is_null() {
            return Err(self.api.check(-1, "zmq_socket").unwrap_err());
        }
        let sock = Sock { api: self.api, raw };
        match server {
            true => {
                sock.set_int(ZMQ_CURVE_SERVER, 1)?;
                sock.set_bytes(ZMQ_CURVE_SECRETKEY, &curve::server().secret)?;
            }
            false => {
                let own = curve::client();
                sock.set_bytes(ZMQ_CURVE_SERVERKEY, &curve::server().public)?;
                sock.set_bytes(ZMQ_CURVE_PUBLICKEY, &own.public)?;
                sock.set_bytes(ZMQ_CURVE_SECRETKEY, &own.secret)?;
            }
        }
        Ok(sock)
    }
}

impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        // SAFETY: a live context, whose sockets (declared after it) are already closed.
        unsafe { (self.api.ctx_term)(self.raw) };
    }
}

/// A libzmq socket, closed on drop.
struct Sock<'a> {
    api: &'a Api,
    raw: *mut c_void,
}

impl Sock<'_> {
    fn set_bytes(&self, option: c_int, value: &[u8]) -> PeerResult {
        // SAFETY: a live socket and a valid buffer of that length.
        let rc = unsafe { (self.api.setsockopt)(self.raw, option, value.as_ptr().cast(), value.len()) };
        self.api.check(rc, "zmq_setsockopt").map(drop)
    }

    fn set_int(&self, option: c_int, value: c_int) -> PeerResult {
        self.set_bytes(option, &value.to_ne_bytes())
    }

    fn bind(&self, endpoint: &str) -> PeerResult {
        let endpoint = CString::new(endpoint)?;
        // SAFETY: a live socket and a NUL-terminated string.
        let rc = unsafe { (self.api.bind)(self.raw, endpoint.as_ptr()) };
        self.api.check(rc, "zmq_bind").map(drop)
    }

    fn connect(&self, endpoint: &str) -> PeerResult {
        let endpoint = CString::new(endpoint)?;
        // SAFETY: a live socket and a NUL-terminated string.
        let rc = unsafe { (self.api.connect)(self.raw, endpoint.as_ptr()) };
        self.api.check(rc, "zmq_connect").map(drop)
    }

    /// The endpoint the socket bound to (`ZMQ_LAST_ENDPOINT`).
    fn last_endpoint(&self) -> Result<String, PeerError> {
        let mut buf = [0u8; 256];
        let mut len = buf.len();
        // SAFETY: a live socket and a buffer of `len` bytes.
        let rc =
            unsafe { (self.api.getsockopt)(self.raw, ZMQ_LAST_ENDPOINT, buf.as_mut_ptr().cast(), &mut len) };
        self.api.check(rc, "zmq_getsockopt")?;
        let text = CStr::from_bytes_until_nul(&buf[..len])?;
        Ok(text.to_str()?.to_string())
    }

    /// Sends a copy of `data` as one message, as the `zmq` crate's `send(&[u8], 0)` does:
    /// `zmq_msg_init_size`, a copy, `zmq_msg_send`.
    fn send_copy(&self, data: &[u8]) -> PeerResult {
        let mut msg = Msg::with_size(self.api, data.len())?;
        // SAFETY: the message's buffer has `data.len()` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                (self.api.msg_data)(&mut msg.raw).cast::<u8>(),
                data.len(),
            )
        };
        self.send(&mut msg)
    }

    /// Sends `msg` (`zmq_msg_send`; it is left empty).
    fn send(&self, msg: &mut Msg) -> PeerResult {
        // SAFETY: a live socket and an initialised message.
        let rc = unsafe { (self.api.msg_send)(&mut msg.raw, self.raw, 0) };
        self.api.check(rc, "zmq_msg_send").map(drop)
    }

    /// Receives into `msg` (`zmq_msg_recv`), returning the message's size.
    fn recv(&self, msg: &mut Msg) -> Result<usize, PeerError> {
        // SAFETY: a live socket and an initialised message.
        let rc = unsafe { (self.api.msg_recv)(&mut msg.raw, self.raw, 0) };
        self.api.check(rc, "zmq_msg_recv")?;
        // SAFETY: an initialised message.
        Ok(unsafe { (self.api.msg_size)(&msg.raw) })
    }
}

impl Drop for Sock<'_> {
    fn drop(&mut self) {
        // The peers are done when a socket goes (the harness has both results): nothing
        // queued needs to linger.
        let _ = self.set_int(ZMQ_LINGER, 0);
        // SAFETY: a live socket, not used after this.
        unsafe { (self.api.close)(self.raw) };
    }
}

/// A `zmq_msg_t`, closed on drop.
struct Msg<'a> {
    api: &'a Api,
    raw: RawMsg,
}

impl<'a> Msg<'a> {
    /// An empty message (`zmq_msg_init`).
    fn new(api: &'a Api) -> Result<Msg<'a>, PeerError> {
        let mut raw = RawMsg([0; 64]);
        // SAFETY: storage for a zmq_msg_t.
        let rc = unsafe { (api.msg_init)(&mut raw) };
        api.check(rc, "zmq_msg_init")?;
        Ok(Msg { api, raw })
    }

    /// A message with room for `size` bytes (`zmq_msg_init_size`).
    fn with_size(api: &'a Api, size: usize) -> Result<Msg<'a>, PeerError> {
        let mut raw = RawMsg([0; 64]);
        // SAFETY: storage for a zmq_msg_t.
        let rc = unsafe { (api.msg_init_size)(&mut raw, size) };
        api.check(rc, "zmq_msg_init_size")?;
        Ok(Msg { api, raw })
    }
}

impl Drop for Msg<'_> {
    fn drop(&mut self) {
        // SAFETY: an initialised message (a `Msg` exists only once its init succeeded).
        unsafe { (self.api.msg_close)(&mut self.raw) };
    }
}

/// Where pyzmq's libzmq is, or the override in [`LIBZMQ_ENV`].
fn find() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(LIBZMQ_ENV) {
        return Ok(PathBuf::from(path));
    }
    let script = "import zmq, os, glob; \
        d = os.path.join(os.path.dirname(os.path.dirname(zmq.__file__)), 'pyzmq.libs'); \
        libs = sorted(glob.glob(os.path.join(d, 'libzmq*.so*'))); \
        print(libs[0] if libs else '')";
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .map_err(|e| format!("cannot run python3 to find pyzmq: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or("").trim().to_string();
        return Err(format!("pyzmq is not installed for python3 ({last})"));
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match path.is_empty() {
        true => Err("pyzmq has no bundled libzmq (no pyzmq.libs/libzmq*.so*)".into()),
        false => Ok(PathBuf::from(path)),
    }
}

/// The libzmq for `libzmq+curve`: pyzmq's bundled one (or [`LIBZMQ_ENV`]'s), checked to load
/// and to have CURVE; returns its path and version, or why the row cannot run.
pub fn locate() -> Result<(PathBuf, String), String> {
    let path = find()?;
    let api = Api::load(&path)?;
    if !api.has_curve() {
        return Err(format!(
            "{} (libzmq {}) was built without CURVE",
            path.display(),
            api.version()
        ));
    }
    Ok((path.clone(), api.version()))
}

/// The `libzmq+curve` peer roles.
pub struct LibzmqCurve;

/// Loads the library the harness found.
fn api(job: &Job) -> Result<Api, PeerError> {
    let path = job
        .libzmq
        .as_deref()
        .ok_or("libzmq+curve needs --libzmq PATH (the harness passes it)")?;
    Ok(Api::load(path)?)
}

impl Peer for LibzmqCurve {
    fn lat_server(&self, job: &Job) -> PeerResult {
        let api = api(job)?;
        let ctx = Ctx::new(&api)?;
        let rep = ctx.socket(ZMQ_REP, true)?;
        rep.bind(&job.endpoint)?;
        peer::announce(&rep.last_endpoint()?);
        // As the `zmq` crate's `recv_msg` then `send(msg)`: a fresh message each time, sent
        // back as received.
        for _ in 0..job.warmup + job.count {
            let mut msg = Msg::new(&api)?;
            rep.recv(&mut msg)?;
            rep.send(&mut msg)?;
        }
        peer::finish();
        Ok(())
    }

    fn lat_client(&self, job: &Job) -> PeerResult {
        let api = api(job)?;
        let ctx = Ctx::new(&api)?;
        let req = ctx.socket(ZMQ_REQ, false)?;
        req.connect(&job.endpoint)?;
        let payload = vec![0xA5u8; job.size];
        let mut reply = Msg::new(&api)?;
        peer::time_round_trips(job, || {
            req.send_copy(&payload)?;
            peer::check_size(req.recv(&mut reply)?, job.size)
        })?;
        peer::finish();
        Ok(())
    }

    fn thr_receiver(&self, job: &Job) -> PeerResult {
        let api = api(job)?;
        let ctx = Ctx::new(&api)?;
        let pull = ctx.socket(ZMQ_PULL, true)?;
        pull.set_int(ZMQ_RCVHWM, HWM as c_int)?;
        pull.bind(&job.endpoint)?;
        peer::announce(&pull.last_endpoint()?);
        let mut msg = Msg::new(&api)?;
        peer::time_receive(job, || pull.recv(&mut msg))?;
        peer::finish();
        Ok(())
    }

    fn thr_sender(&self, job: &Job) -> PeerResult {
        let api = api(job)?;
        let ctx = Ctx::new(&api)?;
        let push = ctx.socket(ZMQ_PUSH, false)?;
        push.set_int(ZMQ_SNDHWM, HWM as c_int)?;
        push.connect(&job.endpoint)?;
        let payload = vec![0xA5u8; job.size];
        for _ in 0..job.count {
            push.send_copy(&payload)?;
        }
        peer::finish();
        Ok(())
    }
}
