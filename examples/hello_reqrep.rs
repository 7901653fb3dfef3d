//! REQ/REP hello world: a client asks, a server answers.

use zocket::{Context, SocketType};

fn main() -> zocket::Result<()> {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Rep)?;
    server.bind("tcp://127.0.0.1:0")?;
    let endpoint = server.last_endpoint()?;
    let replier = std::thread::spawn(move || -> zocket::Result<()> {
        for _ in 0..3 {
            let request = server.recv_bytes(0)?;
            server.send([b"world to ".as_slice(), &request].concat(), 0)?;
        }
        Ok(())
    });
    let client = ctx.socket(SocketType::Req)?;
    client.connect(&endpoint)?;
    for name in ["alice", "bob", "carol"] {
        client.send(name, 0)?;
        let reply = client.recv_bytes(0)?;
        println!("{name} got: {}", String::from_utf8_lossy(&reply));
    }
    replier.join().expect("replier thread")?;
    Ok(())
}
