//! libzmq (the C library, built from source by the `zmq` crate): blocking calls, one I/O
//! thread per context.

use super::{HWM, Peer};
use crate::peer::{self, PeerResult};
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

impl Peer for Libzmq {
    fn lat_server(&self, job: &Job) -> PeerResult {
        let ctx = zmq::Context::new();
        let rep = ctx.socket(zmq::REP)?;
        rep.bind(&job.endpoint)?;
        peer::announce(&last_endpoint(&rep)?);
        for _ in 0..job.warmup + job.count {
            let msg = rep.recv_msg(0)?;
            rep.send(msg, 0)?;
        }
        peer::finish();
        Ok(())
    }

    fn lat_client(&self, job: &Job) -> PeerResult {
        let ctx = zmq::Context::new();
        let req = ctx.socket(zmq::REQ)?;
        req.connect(&job.endpoint)?;
        let payload = vec![0xA5u8; job.size];
        let mut reply = zmq::Message::new();
        peer::time_round_trips(job, || {
            req.send(&payload[..], 0)?;
            req.recv(&mut reply, 0)?;
            peer::check_size(reply.len(), job.size)
        })?;
        peer::finish();
        Ok(())
    }

    fn thr_receiver(&self, job: &Job) -> PeerResult {
        let ctx = zmq::Context::new();
        let pull = ctx.socket(zmq::PULL)?;
        pull.set_rcvhwm(HWM as i32)?;
        pull.bind(&job.endpoint)?;
        peer::announce(&last_endpoint(&pull)?);
        let mut msg = zmq::Message::new();
        peer::time_receive(job, || {
            pull.recv(&mut msg, 0)?;
            Ok(msg.len())
        })?;
        peer::finish();
        Ok(())
    }

    fn inproc(&self, job: &Job) -> PeerResult {
        let ctx = zmq::Context::new();
        let payload = vec![0xA5u8; job.size];
        match job.test {
            Test::Lat => {
                let rep = ctx.socket(zmq::REP)?;
                rep.bind(&job.endpoint)?;
                let rounds = job.warmup + job.count;
                let server = std::thread::spawn(move || -> PeerResult {
                    for _ in 0..rounds {
                        let msg = rep.recv_msg(0)?;
                        rep.send(msg, 0)?;
                    }
                    Ok(())
                });
                let req = ctx.socket(zmq::REQ)?;
                req.connect(&job.endpoint)?;
                let mut reply = zmq::Message::new();
                peer::time_round_trips(job, || {
                    req.send(&payload[..], 0)?;
                    req.recv(&mut reply, 0)?;
                    peer::check_size(reply.len(), job.size)
                })?;
                server.join().map_err(|_| "the REP thread panicked")??;
            }
            Test::Thr => {
                let pull = ctx.socket(zmq::PULL)?;
                pull.set_rcvhwm(HWM as i32)?;
                pull.bind(&job.endpoint)?;
                let push = ctx.socket(zmq::PUSH)?;
                push.set_sndhwm(HWM as i32)?;
                push.connect(&job.endpoint)?;
                let count = job.count;
                let sender = std::thread::spawn(move || -> PeerResult {
                    for _ in 0..count {
                        push.send(&payload[..], 0)?;
                    }
                    Ok(())
                });
                let mut msg = zmq::Message::new();
                peer::time_receive(job, || {
                    pull.recv(&mut msg, 0)?;
                    Ok(msg.len())
                })?;
                sender.join().map_err(|_| "the PUSH thread panicked")??;
            }
        }
        peer::finish();
        Ok(())
    }

    fn thr_sender(&self, job: &Job) -> PeerResult {
        let ctx = zmq::Context::new();
        let push = ctx.socket(zmq::PUSH)?;
        push.set_sndhwm(HWM as i32)?;
        push.connect(&job.endpoint)?;
        let payload = vec![0xA5u8; job.size];
        for _ in 0..job.count {
            push.send(&payload[..], 0)?;
        }
        peer::finish();
        Ok(())
    }
}
