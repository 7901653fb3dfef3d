//! zmq.rs (the `zeromq` crate): async sockets on a multi-threaded tokio runtime.
//!
//! It has no high-water-mark option; its queues keep their built-in bounds.

use super::Peer;
use crate::peer::{self, PeerResult};
use crate::spec::Job;
use zeromq::{PullSocket, PushSocket, RepSocket, ReqSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

/// The zmq.rs peer roles.
pub struct Zmqrs;

/// The size of a single-frame message.
fn frame_len(msg: &ZmqMessage) -> usize {
    msg.iter().map(|frame| frame.len()).sum()
}

impl Peer for Zmqrs {
    fn lat_server(&self, job: &Job) -> PeerResult {
        super::tokio_runtime()?.block_on(async {
            let mut rep = RepSocket::new();
            let endpoint = rep.bind(&job.endpoint).await?;
            peer::announce(&endpoint.to_string());
            for _ in 0..job.warmup + job.count {
                let msg = rep.recv().await?;
                rep.send(msg).await?;
            }
            peer::finish_async().await
        })
    }

    fn lat_client(&self, job: &Job) -> PeerResult {
        super::tokio_runtime()?.block_on(async {
            let mut req = ReqSocket::new();
            req.connect(&job.endpoint).await?;
            let payload = vec![0xA5u8; job.size];
            peer::time_round_trips_async(job, async || {
                req.send(ZmqMessage::from(payload.clone())).await?;
                peer::check_size(frame_len(&req.recv().await?), job.size)
            })
            .await?;
            peer::finish_async().await
        })
    }

    fn thr_receiver(&self, job: &Job) -> PeerResult {
        super::tokio_runtime()?.block_on(async {
            let mut pull = PullSocket::new();
            let endpoint = pull.bind(&job.endpoint).await?;
            peer::announce(&endpoint.to_string());
            peer::time_receive_async(job, async || Ok(frame_len(&pull.recv().await?))).await?;
            peer::finish_async().await
        })
    }

    fn thr_sender(&self, job: &Job) -> PeerResult {
        super::tokio_runtime()?.block_on(async {
            let mut push = PushSocket::new();
            push.connect(&job.endpoint).await?;
            let payload = vec![0xA5u8; job.size];
            for _ in 0..job.count {
                push.send(ZmqMessage::from(payload.clone())).await?;
            }
            peer::finish_async().await
        })
    }
}
