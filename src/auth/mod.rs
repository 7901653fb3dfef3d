//! A ready-made ZAP handler (RFC 27), like pyzmq's `ThreadAuthenticator` and czmq's `zauth`:
//! started on a context, it answers every PLAIN, CURVE and (with a ZAP domain) NULL
//! handshake of that context's sockets from a table the application fills.
//!
//! # Examples
//!
//! ```
//! use zocket::{Context, CurveKeyPair, SocketType, auth::Authenticator};
//!
//! let ctx = Context::new();
//! let auth = Authenticator::start(&ctx)?;
//! auth.allow("127.0.0.1");
//! let (server_keys, client_keys) = (CurveKeyPair::new()?, CurveKeyPair::new()?);
//! auth.configure_curve("*", [client_keys.public_key]); // only this client
//!
//! let server = ctx.socket(SocketType::Rep)?;
//! server.set_curve_server(true)?;
//! server.set_curve_secretkey(&server_keys.secret_key)?;
//! server.bind("tcp://127.0.0.1:0")?;
//!
//! let client = ctx.socket(SocketType::Req)?;
//! client.set_curve_serverkey(&server_keys.public_key)?;
//! client.set_curve_secretkey(&client_keys.secret_key)?;
//! client.connect(&server.last_endpoint()?)?;
//! client.send("hello", 0)?;
//! let request = server.recv_msg(0)?;
//! assert_eq!(request.gets("User-Id"), Some(zocket::z85_encode(&client_keys.public_key)?.as_str()));
//! # Ok::<(), zocket::Error>(())
//! ```

mod policy;

use crate::error::Result;
use crate::zmtp::mechanism::zap::HANDLER_ENDPOINT;
use crate::{Context, POLLIN, PollItem, SocketType};
pub use policy::CurveClients;
use policy::Policy;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A ZAP handler running on its own thread, bound at `inproc://zeromq.zap.01` of one
/// context. Stopped (and unbound) when dropped.
///
/// What it decides, in order (pyzmq's rules):
/// 1. the client's IP address: refused if addresses were [allowed](Authenticator::allow)
///    and this one is not, or if it was [denied](Authenticator::deny);
/// 2. NULL: accepted;
/// 3. PLAIN: accepted when the user name and password match the domain's table (or the
///    `*` table); the user id is the user name;
/// 4. CURVE: accepted when the domain (or `*`) allows any key or this client's key; the
///    user id is the key in Z85 text.
pub struct Authenticator {
    policy: Arc<Mutex<Policy>>,
    stop: Option<UnixStream>,
    thread: Option<JoinHandle<()>>,
}

impl Authenticator {
    /// Binds the handler on `ctx` and starts its thread.
    ///
    /// # Errors
    ///
    /// [`crate::Error::AddrInUse`] if the context has a ZAP handler already; the errors of
    /// opening a socket.
    pub fn start(ctx: &Context) -> Result<Authenticator> {
        let rep = ctx.socket(SocketType::Rep)?;
        rep.set_linger(Some(std::time::Duration::ZERO))?;
        rep.bind(HANDLER_ENDPOINT)?;
        let (stop, stopped) = UnixStream::pair()?;
        let policy = Arc::new(Mutex::new(Policy::default()));
        let shared = Arc::clone(&policy);
        let thread = std::thread::Builder::new()
            .name("zocket-auth".into())
            .spawn(move || serve(&rep, &shared, stopped))?;
        Ok(Authenticator {
            policy,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn with_policy<T>(&self, f: impl FnOnce(&mut Policy) -> T) -> T {
        f(&mut self.policy.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Accepts clients from this IP address only (with the other allowed ones); cancels a
    /// [`Authenticator::deny`] of it.
    pub fn allow(&self, address: &str) {
        self.with_policy(|p| {
            p.denied.remove(address);
            p.allowed.insert(address.to_owned());
        });
    }

    /// Refuses clients from this IP address.
    pub fn deny(&self, address: &str) {
        self.with_policy(|p| {
            p.allowed.remove(address);
            p.denied.insert(address.to_owned());
        });
    }

    /// The PLAIN users of `domain` (`"*"`: any domain without its own table): user name and
    /// password pairs. Replaces the domain's earlier table.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let auth = zocket::auth::Authenticator::start(&ctx)?;
    /// auth.configure_plain("*", [("admin", "secret")]);
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn configure_plain<'a>(&self, domain: &str, users: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let users = users
            .into_iter()
            .map(|(user, password)| (user.to_owned(), password.to_owned()))
            .collect();
        self.with_policy(|p| p.plain.insert(domain.to_owned(), users));
    }

    /// The CURVE clients of `domain` (`"*"`: any domain without its own list): the public
    /// keys accepted. Replaces the domain's earlier list.
    pub fn configure_curve(&self, domain: &str, keys: impl IntoIterator<Item = [u8; 32]>) {
        let keys = CurveClients::Keys(keys.into_iter().collect());
        self.with_policy(|p| p.curve.insert(domain.to_owned(), keys));
    }

    /// Accepts any CURVE client of `domain` (`"*"`: any domain without its own list) that
    /// knows the server's key (pyzmq's `CURVE_ALLOW_ANY`).
    pub fn configure_curve_any(&self, domain: &str) {
        self.with_policy(|p| p.curve.insert(domain.to_owned(), CurveClients::Any));
    }
}

impl Drop for Authenticator {
    /// Stops the thread; the handler's socket closes and unbinds with it.
    fn drop(&mut self) {
        if let Some(mut stop) = self.stop.take() {
            let _ = stop.write(&[1]);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

/// The handler's loop: one request, one reply, until told to stop or the context ends.
fn serve(rep: &crate::Socket, policy: &Mutex<Policy>, mut stopped: UnixStream) {
    loop {
        let mut items = [
            rep.as_poll_item(POLLIN),
            PollItem::from_fd(stopped.as_raw_fd(), POLLIN),
        ];
        if crate::poll(&mut items, None).is_err() || items[1].is_readable() {
            let _ = stopped.read(&mut [0; 8]);
            return;
        }
        let Ok(request) = rep.recv_multipart(crate::DONTWAIT) else {
            continue;
        };
        let reply = policy.lock().unwrap_or_else(|e| e.into_inner()).answer(&request);
        if rep.send_multipart(reply, 0).is_err() {
            return;
        }
    }
}
