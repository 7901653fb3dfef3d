//! CURVE keys and Z85 against libzmq (through pyzmq, whose libzmq has CURVE): the same
//! public key for a secret key both ways, and the same Z85 text for the same bytes.

use std::process::Command;

/// Runs a Python snippet with pyzmq; `None` (the test is skipped) without it.
fn python(script: &str, args: &[&str]) -> Option<String> {
    let probe = Command::new("python3")
        .args(["-c", "import zmq; assert zmq.has('curve')"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("skipped: needs python3 with pyzmq built with CURVE (pip install pyzmq)");
        return None;
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap().trim().to_string())
}

#[test]
fn zocket_and_libzmq_derive_the_same_public_keys() {
    let ours = zocket::CurveKeyPair::new().unwrap();
    let secret = zocket::z85_encode(&ours.secret_key).unwrap();
    let script = "import sys, zmq; print(zmq.curve_public(sys.argv[1].encode()).decode())";
    let Some(theirs) = python(script, &[&secret]) else {
        return;
    };
    assert_eq!(theirs, zocket::z85_encode(&ours.public_key).unwrap());

    let script = "import zmq; p, s = zmq.curve_keypair(); print(p.decode(), s.decode())";
    let Some(pair) = python(script, &[]) else { return };
    let (public, secret) = pair.split_once(' ').unwrap();
    let secret: [u8; 32] = zocket::z85_decode(secret).unwrap().try_into().unwrap();
    assert_eq!(
        zocket::z85_encode(&zocket::curve_public(&secret)).unwrap(),
        public
    );
}

#[test]
fn z85_text_is_libzmqs() {
    let data: Vec<u8> = (0..=255u8).chain(0..=255).take(256).collect();
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    let script = "import sys, zmq.utils.z85 as z; print(z.encode(bytes.fromhex(sys.argv[1])).decode())";
    let Some(theirs) = python(script, &[&hex]) else {
        return;
    };
    assert_eq!(theirs, zocket::z85_encode(&data).unwrap());
    assert_eq!(zocket::z85_decode(&theirs).unwrap(), data);
}
