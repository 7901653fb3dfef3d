//! The security options, under rust-zmq's names: PLAIN, CURVE and ZAP. As in libzmq, they
//! apply to later binds and connects, and the last mechanism option set picks the mechanism.

use super::Socket;
use crate::error::{Error, Result};
use crate::options::{MechanismKind, SecurityOptions};

/// A socket's security mechanism (libzmq `ZMQ_MECHANISM`), as its options chose it.
///
/// # Examples
///
/// ```
/// let ctx = zocket::Context::new();
/// let rep = ctx.socket(zocket::SocketType::Rep)?;
/// assert_eq!(rep.mechanism(), zocket::Mechanism::Null);
/// rep.set_plain_server(true)?;
/// assert_eq!(rep.mechanism(), zocket::Mechanism::Plain);
/// # Ok::<(), zocket::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// No security.
    Null,
    /// User name and password, in clear (RFC 24).
    Plain,
    /// Encryption and authentication with Curve25519 keys (RFC 25/26).
    Curve,
}

/// A CURVE key given as 32 bytes, or as 40 characters of Z85 text (41 with a trailing NUL,
/// as C programs pass it), libzmq's rule.
fn parse_key(key: &[u8], which: &str) -> Result<[u8; 32]> {
    let text = key.strip_suffix(b"\0").unwrap_or(key);
    let bytes = match key.len() {
        32 => key.to_vec(),
        40 | 41 if text.len() == 40 => {
            let text = std::str::from_utf8(text)
                .map_err(|_| Error::InvalidOption(format!("{which}: not Z85 text")))?;
            crate::z85_decode(text)?
        }
        n => {
            return Err(Error::InvalidOption(format!(
                "{which}: a key is 32 bytes or 40 characters of Z85, not {n} bytes"
            )));
        }
    };
    bytes
        .try_into()
        .map_err(|_| Error::InvalidOption(format!("{which}: not a 32-byte key")))
}

fn credential(value: Option<&str>, which: &str) -> Result<Option<String>> {
    match value {
        Some(text) if text.len() > 255 => {
            Err(Error::InvalidOption(format!("{which} is longer than 255 bytes")))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

impl Socket {
    fn with_security<T>(&self, f: impl FnOnce(&mut SecurityOptions) -> T) -> T {
        self.with_options(|o| f(&mut o.security))
    }

    /// The mechanism the security options chose.
    #[doc(alias = "get_mechanism")]
    pub fn mechanism(&self) -> Mechanism {
        match self.with_security(|s| s.mechanism) {
            MechanismKind::Null => Mechanism::Null,
            MechanismKind::Plain => Mechanism::Plain,
            MechanismKind::Curve => Mechanism::Curve,
        }
    }

    /// Makes this socket a PLAIN server (libzmq `ZMQ_PLAIN_SERVER`): each client's user name
    /// and password go to the ZAP handler, and a client is refused without one (see
    /// [`crate::auth::Authenticator`]). `false` goes back to NULL.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let rep = ctx.socket(zocket::SocketType::Rep)?;
    /// rep.set_plain_server(true)?;
    /// assert!(rep.plain_server());
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_plain_server(&self, on: bool) -> Result<()> {
        self.with_security(|s| {
            s.as_server = on;
            s.mechanism = if on {
                MechanismKind::Plain
            } else {
                MechanismKind::Null
            };
        });
        Ok(())
    }
    /// See [`Socket::set_plain_server`].
    #[doc(alias = "is_plain_server")]
    pub fn plain_server(&self) -> bool {
        self.with_security(|s| s.mechanism == MechanismKind::Plain && s.as_server)
    }

    /// The user name a PLAIN client sends (libzmq `ZMQ_PLAIN_USERNAME`, at most 255 bytes).
    /// Setting it makes the socket a PLAIN client; `None` goes back to NULL.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let req = ctx.socket(zocket::SocketType::Req)?;
    /// req.set_plain_username(Some("admin"))?;
    /// req.set_plain_password(Some("secret"))?;
    /// assert_eq!(req.mechanism(), zocket::Mechanism::Plain);
    /// assert_eq!(req.plain_username().as_deref(), Some("admin"));
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_plain_username(&self, name: Option<&str>) -> Result<()> {
        let name = credential(name, "PLAIN user name")?;
        self.with_security(|s| s.set_plain_credential(name, |s| &mut s.plain_username));
        Ok(())
    }
    /// See [`Socket::set_plain_username`].
    #[doc(alias = "get_plain_username")]
    pub fn plain_username(&self) -> Option<String> {
        self.with_security(|s| s.plain_username.clone())
    }

    /// The password a PLAIN client sends (libzmq `ZMQ_PLAIN_PASSWORD`, at most 255 bytes).
    /// Setting it makes the socket a PLAIN client; `None` goes back to NULL.
    pub fn set_plain_password(&self, password: Option<&str>) -> Result<()> {
        let password = credential(password, "PLAIN password")?;
        self.with_security(|s| s.set_plain_credential(password, |s| &mut s.plain_password));
        Ok(())
    }
    /// See [`Socket::set_plain_password`].
    #[doc(alias = "get_plain_password")]
    pub fn plain_password(&self) -> Option<String> {
        self.with_security(|s| s.plain_password.clone())
    }

    /// Makes this socket a CURVE server (libzmq `ZMQ_CURVE_SERVER`); it needs its secret key
    /// ([`Socket::set_curve_secretkey`]). Without a ZAP handler, any client that knows the
    /// server's public key is accepted. `false` goes back to NULL.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let keys = zocket::CurveKeyPair::new()?;
    /// let rep = ctx.socket(zocket::SocketType::Rep)?;
    /// rep.set_curve_server(true)?;
    /// rep.set_curve_secretkey(&keys.secret_key)?;
    /// rep.bind("tcp://127.0.0.1:0")?;
    /// assert!(rep.curve_server());
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_curve_server(&self, on: bool) -> Result<()> {
        self.with_security(|s| {
            s.as_server = on;
            s.mechanism = if on {
                MechanismKind::Curve
            } else {
                MechanismKind::Null
            };
        });
        Ok(())
    }
    /// See [`Socket::set_curve_server`].
    #[doc(alias = "is_curve_server")]
    pub fn curve_server(&self) -> bool {
        self.with_security(|s| s.mechanism == MechanismKind::Curve && s.as_server)
    }

    /// This socket's long-term public key (libzmq `ZMQ_CURVE_PUBLICKEY`): 32 bytes, or 40
    /// characters of Z85. Kept for libzmq's sake: the public key is derived from the secret
    /// key, and one that does not match it is refused at bind or connect.
    pub fn set_curve_publickey(&self, key: &[u8]) -> Result<()> {
        let key = parse_key(key, "CURVE public key")?;
        self.with_security(|s| s.curve_public = Some(key));
        Ok(())
    }
    /// See [`Socket::set_curve_publickey`].
    #[doc(alias = "get_curve_publickey")]
    pub fn curve_publickey(&self) -> Option<[u8; 32]> {
        self.with_security(|s| s.curve_public)
    }

    /// This socket's long-term secret key (libzmq `ZMQ_CURVE_SECRETKEY`): 32 bytes, or 40
    /// characters of Z85. Wiped from memory when replaced or when the socket goes.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let req = ctx.socket(zocket::SocketType::Req)?;
    /// req.set_curve_secretkey(b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6")?;
    /// assert_eq!(
    ///     zocket::z85_encode(&req.curve_publickey().unwrap())?,
    ///     "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    /// );
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_curve_secretkey(&self, key: &[u8]) -> Result<()> {
        let key = zeroize::Zeroizing::new(parse_key(key, "CURVE secret key")?);
        let public = crate::curve_public(&key);
        self.with_security(|s| {
            s.curve_public = Some(public);
            s.curve_secret = Some(key);
        });
        Ok(())
    }
    /// See [`Socket::set_curve_secretkey`].
    #[doc(alias = "get_curve_secretkey")]
    pub fn curve_secretkey(&self) -> Option<[u8; 32]> {
        self.with_security(|s| s.curve_secret.as_deref().copied())
    }

    /// The server's public key a CURVE client connects to (libzmq `ZMQ_CURVE_SERVERKEY`):
    /// 32 bytes, or 40 characters of Z85. Setting it makes the socket a CURVE client. A
    /// client with no key pair of its own gets a fresh random one (libzmq would use zeros).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let server = zocket::CurveKeyPair::new()?;
    /// let req = ctx.socket(zocket::SocketType::Req)?;
    /// req.set_curve_serverkey(&server.public_key)?;
    /// assert_eq!(req.mechanism(), zocket::Mechanism::Curve);
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_curve_serverkey(&self, key: &[u8]) -> Result<()> {
        let key = parse_key(key, "CURVE server key")?;
        self.with_security(|s| {
            s.curve_server_key = Some(key);
            s.as_server = false;
            s.mechanism = MechanismKind::Curve;
        });
        Ok(())
    }
    /// See [`Socket::set_curve_serverkey`].
    #[doc(alias = "get_curve_serverkey")]
    pub fn curve_serverkey(&self) -> Option<[u8; 32]> {
        self.with_security(|s| s.curve_server_key)
    }

    /// The ZAP domain this socket's handshakes name in their ZAP requests (libzmq
    /// `ZMQ_ZAP_DOMAIN`). With a domain, NULL connections are put to the ZAP handler too.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let rep = ctx.socket(zocket::SocketType::Rep)?;
    /// rep.set_zap_domain("global")?;
    /// assert_eq!(rep.zap_domain(), "global");
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_zap_domain(&self, domain: &str) -> Result<()> {
        if domain.len() > 255 {
            return Err(Error::InvalidOption("ZAP domain longer than 255 bytes".into()));
        }
        self.with_security(|s| s.zap_domain = domain.to_owned());
        Ok(())
    }
    /// See [`Socket::set_zap_domain`].
    #[doc(alias = "get_zap_domain")]
    pub fn zap_domain(&self) -> String {
        self.with_security(|s| s.zap_domain.clone())
    }

    /// libzmq's `ZMQ_ZAP_ENFORCE_DOMAIN`: a CURVE server then asks ZAP only with a domain
    /// set, and fails its handshakes when no handler is bound; a NULL socket with a domain
    /// fails them too without a handler.
    pub fn set_zap_enforce_domain(&self, on: bool) -> Result<()> {
        self.with_security(|s| s.zap_enforce_domain = on);
        Ok(())
    }
    /// See [`Socket::set_zap_enforce_domain`].
    #[doc(alias = "get_zap_enforce_domain")]
    pub fn zap_enforce_domain(&self) -> bool {
        self.with_security(|s| s.zap_enforce_domain)
    }
}

impl SecurityOptions {
    fn set_plain_credential(
        &mut self,
        value: Option<String>,
        field: impl FnOnce(&mut Self) -> &mut Option<String>,
    ) {
        let set = value.is_some();
        *field(self) = value;
        if set {
            self.as_server = false;
            self.mechanism = MechanismKind::Plain;
        } else {
            self.mechanism = MechanismKind::Null;
        }
    }

    /// Checks the options at a bind or connect.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a CURVE server without a secret key, or a public key
    /// that does not belong to the secret key.
    pub(crate) fn check(&self) -> Result<()> {
        if self.mechanism == MechanismKind::Curve && self.as_server && self.curve_secret.is_none() {
            return Err(Error::InvalidOption("a CURVE server needs its secret key".into()));
        }
        if let (Some(secret), Some(public)) = (&self.curve_secret, self.curve_public)
            && crate::curve_public(secret) != public
        {
            return Err(Error::InvalidOption(
                "the CURVE public key does not belong to the secret key".into(),
            ));
        }
        Ok(())
    }

    /// The mechanism and role these options describe, for a bind or a connect (checked by
    /// [`SecurityOptions::check`] first). A CURVE side without a secret key gets a random
    /// one: a client then still reaches a server that accepts any key, and a server fails
    /// closed (no client knows its public key).
    pub(crate) fn security(&self) -> crate::zmtp::mechanism::Security {
        use crate::zmtp::mechanism::{Security, curve::KeyPair};
        let keys = || match &self.curve_secret {
            Some(secret) => KeyPair::from_secret(**secret),
            // Fails only without any randomness: a zero key then, which no server accepts.
            None => KeyPair::from_secret(crate::CurveKeyPair::new().map_or([0; 32], |k| k.secret_key)),
        };
        match (self.mechanism, self.as_server) {
            (MechanismKind::Null, _) => Security::Null,
            (MechanismKind::Plain, true) => Security::PlainServer,
            (MechanismKind::Plain, false) => Security::PlainClient {
                username: self.plain_username.clone().unwrap_or_default().into(),
                password: self.plain_password.clone().unwrap_or_default().into(),
            },
            (MechanismKind::Curve, true) => Security::CurveServer { keys: keys() },
            (MechanismKind::Curve, false) => Security::CurveClient {
                keys: keys(),
                server_key: self.curve_server_key.unwrap_or_default(),
            },
        }
    }
}
