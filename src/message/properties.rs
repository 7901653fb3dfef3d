//! What a received message says about where it came from: the peer's handshake properties
//! (libzmq's message metadata), shared by every message of one connection.

use bytes::Bytes;

/// The properties of one connection, as [`crate::Message::gets`] reads them.
#[derive(Debug, Default)]
pub(crate) struct Properties {
    props: Vec<(Box<str>, Bytes)>,
}

impl Properties {
    pub fn insert(&mut self, name: &str, value: Bytes) {
        self.props.push((name.into(), value));
    }

    /// The value of `name` (compared case-insensitively), if it is UTF-8 text.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}
