//! The fixed CURVE keys both peers of a `+curve` row use: the server's and the client's
//! long-term key pairs from libzmq's own tests (Z85). Fixed keys are fine for a benchmark;
//! they let the two processes agree without passing keys around.

/// The server's secret key (the bound side: REP, PULL).
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
/// The server's public key, which the client must know.
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
/// The client's secret key (the connecting side: REQ, PUSH).
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
/// The client's public key.
const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

/// A CURVE key pair as 32-byte keys.
pub struct Keys {
    pub public: [u8; 32],
    pub secret: [u8; 32],
}

fn decode(z85: &str) -> [u8; 32] {
    let bytes = zocket::z85_decode(z85).expect("a fixed Z85 key decodes");
    bytes.try_into().expect("a fixed key is 32 bytes")
}

/// The server's key pair.
pub fn server() -> Keys {
    Keys {
        public: decode(SERVER_PUBLIC),
        secret: decode(SERVER_SECRET),
    }
}

/// The client's key pair.
pub fn client() -> Keys {
    Keys {
        public: decode(CLIENT_PUBLIC),
        secret: decode(CLIENT_SECRET),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_keys_match_secret_keys() {
        for keys in [super::server(), super::client()] {
            assert_eq!(zocket::curve_public(&keys.secret), keys.public);
        }
    }
}
