//! PUSH/PULL hello world: a pusher spreads tasks over two pullers.

use std::time::Duration;
use zocket::{Context, SocketType};

fn main() -> zocket::Result<()> {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push)?;
    push.bind("tcp://127.0.0.1:0")?;
    let endpoint = push.last_endpoint()?;
    let workers: Vec<_> = (0..2)
        .map(|id| {
            let pull = ctx.socket(SocketType::Pull)?;
            pull.set_rcvtimeo(Some(Duration::from_millis(300)))?;
            pull.connect(&endpoint)?;
            Ok(std::thread::spawn(move || {
                let mut done = 0;
                while pull.recv_bytes(0).is_ok() {
                    done += 1;
                }
                println!("worker {id} did {done} tasks");
                done
            }))
        })
        .collect::<zocket::Result<_>>()?;
    // Wait until both pullers are connected, so the load spreads over both.
    while !push.can_send() {
        std::thread::sleep(Duration::from_millis(1));
    }
    for task in 0..10u32 {
        push.send(task.to_string(), 0)?;
    }
    let total: i32 = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    println!("{total} tasks done");
    Ok(())
}
