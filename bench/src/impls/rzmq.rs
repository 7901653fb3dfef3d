//! rzmq: async sockets on a multi-threaded tokio runtime, with its default options (plain
//! tokio I/O, no io_uring, adaptive throttling as shipped).

use super::{HWM, Peer};
use crate::peer::{self, PeerResult};
use crate::spec::Job;
use rzmq::socket::{LAST_ENDPOINT, RCVHWM, SNDHWM};
use rzmq::{Context, Msg, Socket, SocketType};

/// The rzmq peer roles.
pub struct Rzmq;

/// Binds a new socket of `kind` and announces where it is bound.
async fn bind(ctx: &Context, kind: SocketType, job: &Job) -> Result<Socket, peer::PeerError> {
    let socket = ctx.socket(kind)?;
    if kind == SocketType::Pull {
        socket.set_option(RCVHWM, HWM as i32).await?;
    }
    socket.bind(&job.endpoint).await?;
    let endpoint = String::from_utf8(socket.get_option(LAST_ENDPOINT).await?)?;
    peer::announce(&endpoint);
    Ok(socket)
}

impl Peer for Rzmq {
    fn lat_server(&self, job: &Job) -> PeerResult {
        super::tokio_runtime()?.block_on(async {
            let ctx = Context::new()?;
            let rep = bind(&ctx, SocketType::Rep, job).await?;
            for _ in 0..job.warmup + job.count {
                let msg = rep.recv().await?;
                rep.send(msg).await?;
            }
            peer::finish_async().await
        })
    }

    fn lat_client(&self, job: &Job) -> PeerResult {
        super::tokio_runtime()?.block_on(async {
            let ctx = Context::new()?;
            let req = ctx.socket(SocketType::Req)?;
            req.connect(&job.endpoint).await?;
            let payload = vec![0xA5u8; job.size];
            peer::time_round_trips_async(job, async || {
                req.send(Msg::from_vec(payload.clone())).await?;
                peer::check_size(req.recv().await?.size(), job.size)
            })
            .await?;
            peer::finish_async().await
        })
    }

    fn thr_receiver(&self, job: &Job) -> PeerResult {
        super::tokio_runtime()?.block_on(async {
            let ctx = Context::new()?;
            let pull = bind(&ctx, SocketType::Pull, job).await?;
            peer::time_receive_async(job, async || Ok(pull.recv().await?.size())).await?;
            peer::finish_async().await
        })
    }

    fn thr_sender(&self, job: &Job) -> PeerResult {
        super::tokio_runtime()?.block_on(async {
            let ctx = Context::new()?;
            let push = ctx.socket(SocketType::Push)?;
            push.set_option(SNDHWM, HWM as i32).await?;
            push.connect(&job.endpoint).await?;
            let payload = vec![0xA5u8; job.size];
            for _ in 0..job.count {
                push.send(Msg::from_vec(payload.clone())).await?;
            }
            peer::finish_async().await
        })
    }
}
