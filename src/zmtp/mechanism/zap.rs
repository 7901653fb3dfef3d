//! ZAP (RFC 27) messages: the request a server mechanism makes of the application's
//! handler, and the handler's reply, as frames. Sending them is the engine's job.

use crate::zmtp::ProtocolError;
use crate::zmtp::command::Metadata;
use bytes::Bytes;

/// The version every ZAP message starts with.
pub const VERSION: &[u8] = b"1.0";

/// The endpoint a ZAP handler binds (a REP or ROUTER socket of the same context).
pub const HANDLER_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// What a mechanism asks the handler: its name and the client's credentials (PLAIN: user
/// name and password; CURVE: the client's 32-byte long-term public key; NULL: none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZapRequest {
    /// "NULL", "PLAIN" or "CURVE".
    pub mechanism: &'static str,
    /// The credential frames.
    pub credentials: Vec<Bytes>,
}

impl ZapRequest {
    /// The request's frames (RFC 27): version, request id, domain, address, identity,
    /// mechanism, credentials.
    pub fn frames(&self, request_id: &[u8], domain: &str, address: &str, identity: &[u8]) -> Vec<Bytes> {
        let mut frames = vec![
            Bytes::from_static(VERSION),
            Bytes::copy_from_slice(request_id),
            Bytes::copy_from_slice(domain.as_bytes()),
            Bytes::copy_from_slice(address.as_bytes()),
            Bytes::copy_from_slice(identity),
            Bytes::from_static(self.mechanism.as_bytes()),
        ];
        frames.extend(self.credentials.iter().cloned());
        frames
    }
}

/// The handler's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZapReply {
    /// 200 (accepted), 300 (temporary failure), 400 (refused) or 500 (internal error).
    pub status: u16,
    /// The handler's reason.
    pub status_text: String,
    /// The authenticated user, given to received messages as their `User-Id` property.
    pub user_id: Bytes,
    /// Properties the handler attaches to the peer's messages.
    pub metadata: Metadata,
}

impl ZapReply {
    /// The reply a server gives itself when no handler is asked (CURVE without a handler,
    /// NULL without a domain): accepted, no user id.
    pub fn accepted() -> ZapReply {
        ZapReply {
            status: 200,
            status_text: "OK".into(),
            user_id: Bytes::new(),
            metadata: Metadata::new(),
        }
    }

    /// Parses a reply's frames (after any envelope): version, request id, status code,
    /// status text, user id, metadata. Returns the request id with the reply. Anything
    /// malformed is an error, as in libzmq: the connection waiting on it fails.
    pub fn parse(frames: &[Bytes]) -> Result<(Bytes, ZapReply), ProtocolError> {
        let [version, request_id, status, text, user_id, metadata] = frames else {
            return Err(ProtocolError::Handshake("ZAP reply without six frames"));
        };
        if &version[..] != VERSION {
            return Err(ProtocolError::Handshake("ZAP reply of another version"));
        }
        let status = match &status[..] {
            b"200" => 200,
            b"300" => 300,
            b"400" => 400,
            b"500" => 500,
            _ => return Err(ProtocolError::Handshake("ZAP reply with an invalid status code")),
        };
        let reply = ZapReply {
            status,
            status_text: String::from_utf8_lossy(text).into_owned(),
            user_id: user_id.clone(),
            metadata: Metadata::decode(metadata.clone())?,
        };
        Ok((request_id.clone(), reply))
    }

    /// The properties the peer's messages get from this reply: `User-Id` (when not empty)
    /// and the handler's metadata.
    pub fn properties(&self) -> impl Iterator<Item = (&[u8], &Bytes)> {
        let user = (!self.user_id.is_empty()).then_some((&b"User-Id"[..], &self.user_id));
        user.into_iter().chain(self.metadata.iter())
    }
}

/// What a server mechanism does with a reply: `Ok` for 200; otherwise the handshake fails,
/// after an ERROR carrying the status code for 400 and 500, silently for 300 (RFC 27 and
/// libzmq: a temporary failure is a plain disconnection).
pub fn refusal(reply: &ZapReply, sends: &mut Vec<Bytes>) -> Result<(), ProtocolError> {
    if reply.status == 200 {
        return Ok(());
    }
    let code = reply.status.to_string();
    if reply.status != 300 {
        sends.push(super::command_body(
            b"ERROR",
            &[&[code.len() as u8], code.as_bytes()],
        ));
    }
    Err(ProtocolError::Refused {
        status: reply.status,
        reason: reply.status_text.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_frames(status: &'static [u8]) -> Vec<Bytes> {
        let mut meta = Metadata::new();
        meta.insert("Hello", "World");
        let mut encoded = bytes::BytesMut::new();
        meta.encode(&mut encoded);
        vec![
            Bytes::from_static(b"1.0"),
            Bytes::from_static(b"7"),
            Bytes::from_static(status),
            Bytes::from_static(b"OK"),
            Bytes::from_static(b"alice"),
            encoded.freeze(),
        ]
    }

    #[test]
    fn a_reply_parses_and_gives_its_properties() {
        let (id, reply) = ZapReply::parse(&reply_frames(b"200")).unwrap();
        assert_eq!(&id[..], b"7");
        assert_eq!(reply.status, 200);
        let props: Vec<_> = reply.properties().map(|(n, v)| (n.to_vec(), v.clone())).collect();
        assert_eq!(props[0], (b"User-Id".to_vec(), Bytes::from_static(b"alice")));
        assert_eq!(props[1], (b"Hello".to_vec(), Bytes::from_static(b"World")));
    }

    #[test]
    fn malformed_replies_are_refused() {
        assert!(ZapReply::parse(&reply_frames(b"201")).is_err());
        assert!(ZapReply::parse(&reply_frames(b"20")).is_err());
        assert!(ZapReply::parse(&reply_frames(b"200")[..5]).is_err());
        let mut bad = reply_frames(b"200");
        bad[0] = Bytes::from_static(b"2.0");
        assert!(ZapReply::parse(&bad).is_err());
        bad = reply_frames(b"200");
        bad[5] = Bytes::from_static(b"\x05Hel");
        assert!(ZapReply::parse(&bad).is_err());
    }

    #[test]
    fn refusals_send_error_except_for_a_temporary_failure() {
        for (status, errors) in [(300, 0), (400, 1), (500, 1)] {
            let mut sends = Vec::new();
            let reply = ZapReply {
                status,
                ..ZapReply::accepted()
            };
            assert!(refusal(&reply, &mut sends).is_err());
            assert_eq!(sends.len(), errors);
        }
        let mut sends = Vec::new();
        assert!(refusal(&ZapReply::accepted(), &mut sends).is_ok());
        assert!(sends.is_empty());
    }

    #[test]
    fn a_request_lays_out_rfc_27s_frames() {
        let request = ZapRequest {
            mechanism: "PLAIN",
            credentials: vec![Bytes::from_static(b"admin"), Bytes::from_static(b"secret")],
        };
        let frames = request.frames(b"1", "global", "127.0.0.1", b"");
        let expected: [&[u8]; 8] = [
            b"1.0",
            b"1",
            b"global",
            b"127.0.0.1",
            b"",
            b"PLAIN",
            b"admin",
            b"secret",
        ];
        assert_eq!(frames.len(), expected.len());
        for (frame, want) in frames.iter().zip(expected) {
            assert_eq!(&frame[..], want);
        }
    }
}
