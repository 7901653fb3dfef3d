//! libzmq's TCP options: buffers, keep-alive, type of service, retransmission limit, connect
//! timeout, listen backlog and dual-stack binding. Like libzmq's, they apply to later binds
//! and connects.

use super::Socket;
use crate::error::{Error, Result};
use std::time::Duration;

impl Socket {
    /// The kernel's send buffer size for TCP connections, in bytes (libzmq `ZMQ_SNDBUF`;
    /// `None`: the system's default).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let push = ctx.socket(zocket::SocketType::Push)?;
    /// push.set_sndbuf(Some(1 << 20))?;
    /// assert_eq!(push.sndbuf(), Some(1 << 20));
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_sndbuf(&self, bytes: Option<usize>) -> Result<()> {
        self.with_options(|o| o.tcp.sndbuf = bytes);
        Ok(())
    }
    /// See [`Socket::set_sndbuf`].
    #[doc(alias = "get_sndbuf")]
    pub fn sndbuf(&self) -> Option<usize> {
        self.with_options(|o| o.tcp.sndbuf)
    }
    /// The kernel's receive buffer size for TCP connections (libzmq `ZMQ_RCVBUF`).
    pub fn set_rcvbuf(&self, bytes: Option<usize>) -> Result<()> {
        self.with_options(|o| o.tcp.rcvbuf = bytes);
        Ok(())
    }
    /// See [`Socket::set_rcvbuf`].
    #[doc(alias = "get_rcvbuf")]
    pub fn rcvbuf(&self) -> Option<usize> {
        self.with_options(|o| o.tcp.rcvbuf)
    }
    /// TCP keep-alive on or off (libzmq `ZMQ_TCP_KEEPALIVE`; `None`: the system's default).
    pub fn set_tcp_keepalive(&self, on: Option<bool>) -> Result<()> {
        self.with_options(|o| o.tcp.keepalive = on);
        Ok(())
    }
    /// See [`Socket::set_tcp_keepalive`].
    #[doc(alias = "get_tcp_keepalive")]
    pub fn tcp_keepalive(&self) -> Option<bool> {
        self.with_options(|o| o.tcp.keepalive)
    }
    /// Unanswered keep-alive probes before the connection fails (`ZMQ_TCP_KEEPALIVE_CNT`).
    pub fn set_tcp_keepalive_cnt(&self, count: Option<u32>) -> Result<()> {
        self.with_options(|o| o.tcp.keepalive_cnt = count);
        Ok(())
    }
    /// See [`Socket::set_tcp_keepalive_cnt`].
    #[doc(alias = "get_tcp_keepalive_cnt")]
    pub fn tcp_keepalive_cnt(&self) -> Option<u32> {
        self.with_options(|o| o.tcp.keepalive_cnt)
    }
    /// Idle time before the first keep-alive probe (`ZMQ_TCP_KEEPALIVE_IDLE`, whole seconds).
    pub fn set_tcp_keepalive_idle(&self, idle: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.tcp.keepalive_idle = idle);
        Ok(())
    }
    /// See [`Socket::set_tcp_keepalive_idle`].
    #[doc(alias = "get_tcp_keepalive_idle")]
    pub fn tcp_keepalive_idle(&self) -> Option<Duration> {
        self.with_options(|o| o.tcp.keepalive_idle)
    }
    /// Time between keep-alive probes (`ZMQ_TCP_KEEPALIVE_INTVL`, whole seconds).
    pub fn set_tcp_keepalive_intvl(&self, intvl: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.tcp.keepalive_intvl = intvl);
        Ok(())
    }
    /// See [`Socket::set_tcp_keepalive_intvl`].
    #[doc(alias = "get_tcp_keepalive_intvl")]
    pub fn tcp_keepalive_intvl(&self) -> Option<Duration> {
        self.with_options(|o| o.tcp.keepalive_intvl)
    }
    /// The IP type-of-service byte (DSCP and ECN) of TCP connections (`ZMQ_TOS`).
    pub fn set_tos(&self, tos: Option<u8>) -> Result<()> {
        self.with_options(|o| o.tcp.tos = tos.map(u32::from));
        Ok(())
    }
    /// See [`Socket::set_tos`].
    #[doc(alias = "get_tos")]
    pub fn tos(&self) -> Option<u8> {
        self.with_options(|o| o.tcp.tos.map(|t| t as u8))
    }
    /// How long sent data may stay unacknowledged before a TCP connection fails
    /// (`ZMQ_TCP_MAXRT`; Linux's `TCP_USER_TIMEOUT`).
    pub fn set_tcp_maxrt(&self, limit: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.tcp.maxrt = limit);
        Ok(())
    }
    /// See [`Socket::set_tcp_maxrt`].
    #[doc(alias = "get_tcp_maxrt")]
    pub fn tcp_maxrt(&self) -> Option<Duration> {
        self.with_options(|o| o.tcp.maxrt)
    }
    /// How long a TCP connect may take before it is abandoned and retried
    /// (`ZMQ_CONNECT_TIMEOUT`; `None`: the system's, minutes).
    pub fn set_connect_timeout(&self, limit: Option<Duration>) -> Result<()> {
        if limit.is_some_and(|d| d.is_zero()) {
            return Err(Error::InvalidOption("a connect timeout must be positive".into()));
        }
        self.with_options(|o| o.connect_timeout = limit);
        Ok(())
    }
    /// See [`Socket::set_connect_timeout`].
    #[doc(alias = "get_connect_timeout")]
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.with_options(|o| o.connect_timeout)
    }
    /// The listen backlog of later binds (`ZMQ_BACKLOG`, 100 by default).
    pub fn set_backlog(&self, backlog: i32) -> Result<()> {
        if backlog < 0 {
            return Err(Error::InvalidOption("the backlog cannot be negative".into()));
        }
        self.with_options(|o| o.tcp.backlog = backlog);
        Ok(())
    }
    /// See [`Socket::set_backlog`].
    #[doc(alias = "get_backlog")]
    pub fn backlog(&self) -> i32 {
        self.with_options(|o| o.tcp.backlog)
    }
    /// With `true`, `tcp://*:port` binds IPv6 and IPv4 at once (`ZMQ_IPV6`); without,
    /// `*` is IPv4 only, as in libzmq.
    pub fn set_ipv6(&self, on: bool) -> Result<()> {
        self.with_options(|o| o.tcp.ipv6 = on);
        Ok(())
    }
    /// See [`Socket::set_ipv6`].
    #[doc(alias = "get_ipv6")]
    pub fn ipv6(&self) -> bool {
        self.with_options(|o| o.tcp.ipv6)
    }
}
