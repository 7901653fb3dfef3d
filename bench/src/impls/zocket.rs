//! zocket, this project's library: blocking calls, one (or more) mio I/O threads per context.

use super::{HWM, Peer};
use crate::peer::{self, PeerResult};
use crate::spec::{Job, Test};
use zocket::{Context, Socket, SocketType};

/// The zocket peer roles, with this many I/O threads per context.
pub struct Zocket(pub usize);

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
    fn pull(ctx: &Context, job: &Job) -> Result<Socket, peer::PeerError> {
        let pull = ctx.socket(SocketType::Pull)?;
        pull.set_rcvhwm(HWM)?;
        pull.bind(&job.endpoint)?;
        Ok(pull)
    }

    fn push(ctx: &Context, job: &Job) -> Result<Socket, peer::PeerError> {
        let push = ctx.socket(SocketType::Push)?;
        push.set_sndhwm(HWM)?;
        push.connect(&job.endpoint)?;
        Ok(push)
    }
}

impl Peer for Zocket {
    fn lat_server(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.0);
        let rep = ctx.socket(SocketType::Rep)?;
        rep.bind(&job.endpoint)?;
        peer::announce(&rep.last_endpoint()?);
        echo(&rep, job)?;
        peer::finish();
        Ok(())
    }

    fn lat_client(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.0);
        let req = ctx.socket(SocketType::Req)?;
        req.connect(&job.endpoint)?;
        ask(&req, job)?;
        peer::finish();
        Ok(())
    }

    fn thr_receiver(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.0);
        let pull = Zocket::pull(&ctx, job)?;
        peer::announce(&pull.last_endpoint()?);
        receive(&pull, job)?;
        peer::finish();
        Ok(())
    }

    fn thr_sender(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.0);
        let push = Zocket::push(&ctx, job)?;
        push_all(&push, job)?;
        peer::finish();
        Ok(())
    }

    fn inproc(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.0);
        std::thread::scope(|scope| -> PeerResult {
            match job.test {
                Test::Lat => {
                    let rep = ctx.socket(SocketType::Rep)?;
                    rep.bind(&job.endpoint)?;
                    let server = scope.spawn(move || echo(&rep, job));
                    let req = ctx.socket(SocketType::Req)?;
                    req.connect(&job.endpoint)?;
                    ask(&req, job)?;
                    server.join().map_err(|_| "the REP thread panicked")??;
                }
                Test::Thr => {
                    let pull = Zocket::pull(&ctx, job)?;
                    let push = Zocket::push(&ctx, job)?;
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
