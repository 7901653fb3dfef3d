//! PUB/SUB hello world: subscribers get only the topics they asked for.

use std::time::Duration;
use zocket::{Context, DONTWAIT, SocketType};

fn main() -> zocket::Result<()> {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub)?;
    publisher.bind("tcp://127.0.0.1:0")?;
    let subscriber = ctx.socket(SocketType::Sub)?;
    subscriber.set_subscribe(b"weather.")?;
    subscriber.connect(&publisher.last_endpoint()?)?;
    subscriber.set_rcvtimeo(Some(Duration::from_millis(10)))?;
    // Subscriptions take a moment to reach the publisher: publish until one arrives.
    let first = loop {
        publisher.send("sports.football 3-1", 0)?;
        publisher.send("weather.paris sunny", 0)?;
        if let Ok(msg) = subscriber.recv_bytes(0) {
            break msg;
        }
    };
    println!("received: {}", String::from_utf8_lossy(&first));
    while let Ok(msg) = subscriber.recv_bytes(DONTWAIT) {
        assert!(msg.starts_with(b"weather."));
    }
    println!("no sports news reached the weather subscriber");
    Ok(())
}
