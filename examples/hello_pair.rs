//! PAIR hello world: two sockets, one connection, messages both ways (over IPC here).

use zocket::{Context, SocketType};

fn main() -> zocket::Result<()> {
    let ctx = Context::new();
    let path = std::env::temp_dir().join(format!("zocket-hello-pair-{}.sock", std::process::id()));
    let left = ctx.socket(SocketType::Pair)?;
    left.bind(&format!("ipc://{}", path.display()))?;
    let right = ctx.socket(SocketType::Pair)?;
    right.connect(&left.last_endpoint()?)?;
    right.send("ping", 0)?;
    println!("left got {:?}", String::from_utf8_lossy(&left.recv_bytes(0)?));
    left.send("pong", 0)?;
    println!("right got {:?}", String::from_utf8_lossy(&right.recv_bytes(0)?));
    Ok(())
}
