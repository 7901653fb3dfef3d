//! The TCP options of libzmq a socket applies to its connections and listeners: buffer
//! sizes, keep-alive, type of service, the retransmission limit, the listen backlog and
//! dual-stack binding.

use socket2::SockRef;
use std::io;
use std::time::Duration;

/// libzmq's default listen backlog (`ZMQ_BACKLOG`).
pub(crate) const DEFAULT_BACKLOG: i32 = 100;

/// What a socket asks of its TCP connections; `None` leaves the system's default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TcpTuning {
    pub sndbuf: Option<usize>,
    pub rcvbuf: Option<usize>,
    pub keepalive: Option<bool>,
    pub keepalive_cnt: Option<u32>,
    pub keepalive_idle: Option<Duration>,
    pub keepalive_intvl: Option<Duration>,
    pub tos: Option<u32>,
    /// TCP_MAXRT: how long sent data may stay unacknowledged before the connection fails.
    pub maxrt: Option<Duration>,
    pub backlog: i32,
    /// Bind `*` to both IPv6 and IPv4 (ZMQ_IPV6).
    pub ipv6: bool,
}

impl Default for TcpTuning {
    fn default() -> TcpTuning {
        TcpTuning {
            sndbuf: None,
            rcvbuf: None,
            keepalive: None,
            keepalive_cnt: None,
            keepalive_idle: None,
            keepalive_intvl: None,
            tos: None,
            maxrt: None,
            backlog: DEFAULT_BACKLOG,
            ipv6: false,
        }
    }
}

impl TcpTuning {
    /// Applies the options to a TCP socket (a listener's, an accepted or a connecting one).
    pub fn apply(&self, socket: SockRef<'_>) -> io::Result<()> {
        if let Some(size) = self.sndbuf {
            socket.set_send_buffer_size(size)?;
        }
        if let Some(size) = self.rcvbuf {
            socket.set_recv_buffer_size(size)?;
        }
        if let Some(on) = self.keepalive {
            socket.set_keepalive(on)?;
        }
        if self.keepalive == Some(true) {
            let mut params = socket2::TcpKeepalive::new();
            if let Some(idle) = self.keepalive_idle {
                params = params.with_time(idle);
            }
            if let Some(intvl) = self.keepalive_intvl {
                params = params.with_interval(intvl);
            }
            if let Some(count) = self.keepalive_cnt {
                params = params.with_retries(count);
            }
            socket.set_tcp_keepalive(&params)?;
        }
        if let Some(tos) = self.tos {
            socket.set_tos(tos)?;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(maxrt) = self.maxrt {
            socket.set_tcp_user_timeout(Some(maxrt))?;
        }
        Ok(())
    }
}
