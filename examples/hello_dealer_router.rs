//! DEALER/ROUTER hello world: a ROUTER serves several DEALERs, addressing each by its
//! routing id.

use zocket::{Context, SocketType};

fn main() -> zocket::Result<()> {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router)?;
    router.bind("tcp://127.0.0.1:0")?;
    let endpoint = router.last_endpoint()?;
    let dealers = ["north", "south"]
        .iter()
        .map(|name| {
            let dealer = ctx.socket(SocketType::Dealer)?;
            dealer.set_routing_id(name.as_bytes())?;
            dealer.connect(&endpoint)?;
            dealer.send(format!("hello from {name}"), 0)?;
            Ok(dealer)
        })
        .collect::<zocket::Result<Vec<_>>>()?;
    for _ in 0..dealers.len() {
        let msg = router.recv_multipart(0)?;
        let (id, body) = (&msg[0], &msg[1]);
        println!(
            "router got {:?} from {}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(id)
        );
        router.send_multipart([id.clone(), b"welcome".to_vec()], 0)?;
    }
    for dealer in &dealers {
        println!("dealer got {:?}", String::from_utf8_lossy(&dealer.recv_bytes(0)?));
    }
    Ok(())
}
