//! libzmq (the C library, built from source by the `zmq` crate): blocking calls, one I/O
//! thread per context.

use super::{HWM, Peer};
use crate::peer::{self, PeerError, PeerResult};
use crate::spec::{Job, Test};

/// The libzmq peer roles.
pub struct Libzmq;

/// The endpoint a socket bound to, as text.
fn last_endpoint(socket: &zmq::Socket) -> Result<String, String> {
    socket
        .get_last_endpoint()
        .map_err(|e| e.to_string())?
        .map_err(|raw| format!("endpoint is not UTF-8: {raw:?}"))
}

/// REP: echoes `warmup + count` requests.
fn echo(rep: &zmq::Socket, job: &Job) -> PeerResult {
    for _ in 0..job.warmup + job.count {
        let msg = rep.recv_msg(0)?;
        rep.send(msg, 0)?;
    }
    Ok(())
}

/// REQ: times the round trips.
fn ask(req: &zmq::Socket, job: &Job) -> PeerResult {
    let payload = vec![0xA5u8; job.size];
    let mut reply = zmq::Message::new();
    peer::time_round_trips(job, || {
        req.send(&payload[..], 0)?;
        req.recv(&mut reply, 0)?;
        peer::check_size(reply.len(), job.size)
    })
}

/// PULL: times the messages received.
fn receive(pull: &zmq::Socket, job: &Job) -> PeerResult {
    let mut msg = zmq::Message::new();
    peer::time_receive(job, || {
        pull.recv(&mut msg, 0)?;
        Ok(msg.len())
    })
}

/// PUSH: sends `count` messages as fast as it can.
fn push_all(push: &zmq::Socket, job: &Job) -> PeerResult {
    let payload = vec![0xA5u8; job.size];
    for _ in 0..job.count {
        push.send(&payload[..], 0)?;
    }
    Ok(())
}

fn pull(ctx: &zmq::Context, job: &Job) -> Result<zmq::Socket, PeerError> {
    let pull = ctx.socket(zmq::PULL)?;
    pull.set_rcvhwm(HWM as i32)?;
    pull.bind(&job.endpoint)?;
    Ok(pull)
}

fn push(ctx: &zmq::Context, job: &Job) -> Result<zmq::Socket, PeerError> {
    let push = ctx.socket(zmq::PUSH)?;
    push.set_sndhwm(HWM as i32)?;
    push.connect(&job.endpoint)?;
    Ok(push)
}

impl Peer for Libzmq {
    fn lat_server(&self, job: &Job) -> PeerResult {
        let ctx = zmq::Context::new();
        let rep = ctx.socket(zmq::REP)?;
        rep.bind(&job.endpoint)?;
        peer::announce(&last_endpoint(&rep)?);
        echo(&rep, job)?;
        peer::finish();
        Ok(())
    }

    fn lat_client(&self, job: &Job) -> PeerResult {
        let ctx = zmq::Context::new();
        let req = ctx.socket(zmq::REQ)?;
        req.connect(&job.endpoint)?;
        ask(&req, job)?;
        peer::finish();
        Ok(())
    }

    fn thr_receiver(&self, job: &Job) -> PeerResult {
        let ctx = zmq::Context::new();
        let pull = pull(&ctx, job)?;
        peer::announce(&last_endpoint(&pull)?);
        receive(&pull, job)?;
        peer::finish();
        Ok(())
    }

    fn thr_sender(&self, job: &Job) -> PeerResult {
        let ctx = zmq::Context::new();
        let push = push(&ctx, job)?;
        push_all(&push, job)?;
        peer::finish();
        Ok(())
    }

    fn inproc(&self, job: &Job) -> PeerResult {
        let ctx = zmq::Context::new();
        std::thread::scope(|scope| -> PeerResult {
            match job.test {
                Test::Lat => {
                    let rep = ctx.socket(zmq::REP)?;
                    rep.bind(&job.endpoint)?;
                    let server = scope.spawn(move || echo(&rep, job));
                    let req = ctx.socket(zmq::REQ)?;
                    req.connect(&job.endpoint)?;
                    ask(&req, job)?;
                    server.join().map_err(|_| "the REP thread panicked")??;
                }
                Test::Thr => {
                    let pull = pull(&ctx, job)?;
                    let push = push(&ctx, job)?;
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
