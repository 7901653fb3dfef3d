//! XPUB/XSUB hello world: a forwarder between publishers and subscribers, built with
//! `zocket::proxy`; the XPUB side sees subscriptions arrive as messages.

use std::time::Duration;
use zocket::{Context, SocketType};

fn main() -> zocket::Result<()> {
    let ctx = Context::new();
    let xsub = ctx.socket(SocketType::XSub)?; // faces the publishers
    xsub.bind("tcp://127.0.0.1:0")?;
    let xpub = ctx.socket(SocketType::XPub)?; // faces the subscribers
    xpub.bind("tcp://127.0.0.1:0")?;
    let (pub_side, sub_side) = (xsub.last_endpoint()?, xpub.last_endpoint()?);
    std::thread::spawn(move || zocket::proxy(&xsub, &xpub, None));

    let publisher = ctx.socket(SocketType::Pub)?;
    publisher.connect(&pub_side)?;
    let subscriber = ctx.socket(SocketType::Sub)?;
    subscriber.set_subscribe(b"news")?;
    subscriber.connect(&sub_side)?;
    subscriber.set_rcvtimeo(Some(Duration::from_millis(10)))?;
    let msg = loop {
        publisher.send("news: forwarded through the proxy", 0)?;
        if let Ok(msg) = subscriber.recv_bytes(0) {
            break msg;
        }
    };
    println!("subscriber got {:?}", String::from_utf8_lossy(&msg));
    Ok(())
}
