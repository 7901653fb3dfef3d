//! zocket, this project's library: blocking calls, one (or more) mio I/O threads per context.

use super::{HWM, Peer};
use crate::peer::{self, PeerResult};
use crate::spec::{Job, Test};
use zocket::{Context, SocketType};

/// The zocket peer roles, with this many I/O threads per context.
pub struct Zocket(pub usize);

impl Peer for Zocket {
    fn lat_server(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.0);
        let rep = ctx.socket(SocketType::Rep)?;
        rep.bind(&job.endpoint)?;
        peer::announce(&rep.last_endpoint()?);
        for _ in 0..job.warmup + job.count {
            let msg = rep.recv_msg(0)?;
            rep.send(msg, 0)?;
        }
        peer::finish();
        Ok(())
    }

    fn lat_client(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.0);
        let req = ctx.socket(SocketType::Req)?;
        req.connect(&job.endpoint)?;
        let payload = vec![0xA5u8; job.size];
        peer::time_round_trips(job, || {
            req.send(&payload[..], 0)?;
            peer::check_size(req.recv_msg(0)?.len(), job.size)
        })?;
        peer::finish();
        Ok(())
    }

    fn thr_receiver(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.0);
        let pull = ctx.socket(SocketType::Pull)?;
        pull.set_rcvhwm(HWM)?;
        pull.bind(&job.endpoint)?;
        peer::announce(&pull.last_endpoint()?);
        peer::time_receive(job, || Ok(pull.recv_msg(0)?.len()))?;
        peer::finish();
        Ok(())
    }

    fn inproc(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.0);
        let payload = vec![0xA5u8; job.size];
        match job.test {
            Test::Lat => {
                let rep = ctx.socket(SocketType::Rep)?;
                rep.bind(&job.endpoint)?;
                let rounds = job.warmup + job.count;
                let server = std::thread::spawn(move || -> PeerResult {
                    for _ in 0..rounds {
                        let msg = rep.recv_msg(0)?;
                        rep.send(msg, 0)?;
                    }
                    Ok(())
                });
                let req = ctx.socket(SocketType::Req)?;
                req.connect(&job.endpoint)?;
                peer::time_round_trips(job, || {
                    req.send(&payload[..], 0)?;
                    peer::check_size(req.recv_msg(0)?.len(), job.size)
                })?;
                server.join().map_err(|_| "the REP thread panicked")??;
            }
            Test::Thr => {
                let pull = ctx.socket(SocketType::Pull)?;
                pull.set_rcvhwm(HWM)?;
                pull.bind(&job.endpoint)?;
                let push = ctx.socket(SocketType::Push)?;
                push.set_sndhwm(HWM)?;
                push.connect(&job.endpoint)?;
                let count = job.count;
                let sender = std::thread::spawn(move || -> PeerResult {
                    for _ in 0..count {
                        push.send(&payload[..], 0)?;
                    }
                    Ok(())
                });
                peer::time_receive(job, || Ok(pull.recv_msg(0)?.len()))?;
                sender.join().map_err(|_| "the PUSH thread panicked")??;
            }
        }
        peer::finish();
        Ok(())
    }

    fn thr_sender(&self, job: &Job) -> PeerResult {
        let ctx = Context::with_io_threads(self.0);
        let push = ctx.socket(SocketType::Push)?;
        push.set_sndhwm(HWM)?;
        push.connect(&job.endpoint)?;
        let payload = vec![0xA5u8; job.size];
        for _ in 0..job.count {
            push.send(&payload[..], 0)?;
        }
        peer::finish();
        Ok(())
    }
}
