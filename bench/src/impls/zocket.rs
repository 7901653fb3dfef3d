//! zocket, this project's library: blocking calls, one (or more) mio I/O threads per context;
//! optionally with CURVE security (`zocket+curve`).

use super::{HWM, Peer, curve};
use crate::peer::{self, PeerResult};
use crate::spec::{Job, Test};
use zocket::{Context, Socket, SocketType};

/// The zocket peer roles.
pub struct Zocket {
    /// I/O threads per context.
    pub io_threads: usize,
    /// Whether the sockets use CURVE: the bound side (REP, PULL) is the CURVE server.
    pub curve: bool,
}

impl Zocket {
    /// Plain zocket (NULL security) with this many I/O threads per context.
    pub const fn plain(io_threads: usize) -> Zocket {
        Zocket {
            io_threads,
            curve: false,
        }
    }

    /// A socket of `kind`, with its CURVE keys set if this is the CURVE variant: the server
    /// needs its secret key; the client its own key pair and the server's public key.
    fn socket(&self, ctx: &Context, kind: SocketType, server: bool) -> zocket::Result<Socket> {
        let socket = ctx.socket(kind)?;
        if self.curve {
            match server {
                true => {
                    socket.set_curve_server(true)?;
                    socket.set_curve_secretkey(&curve::server().secret)?;
                }
                false => {
                    let own = curve::client();
                    socket.set_curve_serverkey(&curve::server().public)?;
                    socket.set_curve_publickey(&own.public)?;
                    socket.set_curve_secretkey(&own.secret)?;
                }
            }
        }
        Ok(socket)
    }
}

/// REP: echoes `warmup + count` requests.
fn echo(rep: &Socket, job: &Job) -> PeerResult {
    for _ in 0..job.warmup + job.count {
        let msg = rep.recv_msg(0)?;
        rep.send(msg, 0)?;
    }
    Ok(())
}

/// REQ: times the round trips.
fn ask(req: &Socket, job: &Job) -> PeerResult {
    let payload = vec![0xA5u8; job.size];
    peer::time_round_trips(job, || {
        req.send(&payload[..], 0)?;
        peer::check_size(req.recv_msg(0)?.len(), job.size)
    })
}

/// PULL: times the messages received.
fn receive(pull: &Socket, job: &Job) -> PeerResult {
    peer::time_receive(job, || Ok(pull.recv_msg(0)?.len()))
}

/// PUSH: sends `count` messages as fast as it can.
fn push_all(push: &Socket, job: &Job) -> PeerResult {
    let payload = vec![0xA5u8; job.size];
    for _ in 0..job.count {
        push.send(&payload[..], 0)?;
    }
    Ok(())
}

impl Zocket {
    fn pull(&self, ctx: &Context, job: &Job) -> Result<Socket, peer::PeerError> {
        let pull = self.socket(ctx, SocketType::Pull, true)?;
        pull.set_rcvhwm(HWM)?;
        pull.bind(&job.endpoint)?;
        Ok(pull)
    }

    fn push(&self, ctx: &Context, job: &Job) -> Result<Socket, peer::PeerError> {
        let push = self.socket(ctx, SocketType::Push, false)?;
        push.set_sndhwm(HWM)?;
        push.connect(&job.endpoint)?;
        Ok(push)
    }
}

impl Peer for Zocket {
    fn lat_server(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.io_threads);
        let rep = self.socket(&ctx, SocketType::Rep, true)?;
        rep.bind(&job.endpoint)?;
        peer::announce(&rep.last_endpoint()?);
        echo(&rep, job)?;
        peer::finish();
        Ok(())
    }

    fn lat_client(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.io_threads);
        let req = self.socket(&ctx, SocketType::Req, false)?;
        req.connect(&job.endpoint)?;
        ask(&req, job)?;
        peer::finish();
        Ok(())
    }

    fn thr_receiver(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.io_threads);
        let pull = self.pull(&ctx, job)?;
        peer::announce(&pull.last_endpoint()?);
        receive(&pull, job)?;
        peer::finish();
        Ok(())
    }

    fn thr_sender(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.io_threads);
        let push = self.push(&ctx, job)?;
        push_all(&push, job)?;
        peer::finish();
        Ok(())
    }

    fn inproc(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.io_threads);
        std::thread::scope(|scope| -> PeerResult {
            match job.test {
                Test::Lat => {
                    let rep = self.socket(&ctx, SocketType::Rep, true)?;
                    rep.bind(&job.endpoint)?;
                    let server = scope.spawn(move || echo(&rep, job));
                    let req = self.socket(&ctx, SocketType::Req, false)?;
                    req.connect(&job.endpoint)?;
                    ask(&req, job)?;
                    server.join().map_err(|_| "the REP thread panicked")??;
                }
                Test::Thr => {
                    let pull = self.pull(&ctx, job)?;
                    let push = self.push(&ctx, job)?;
                    let sender = scope.spawn(move || push_all(&push, job));
                    receive(&pull, job)?;
                    sender.join().map_err(|_| "the PUSH thread panicked")??;
                }
            }
            Ok(())
        })?;
        peer::finish();
        Ok(())
    }
}
