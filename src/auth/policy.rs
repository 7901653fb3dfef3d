//! The authenticator's table and its decisions, apart from any socket.

use crate::security::constant_time_eq;
use std::collections::{HashMap, HashSet};

/// Which CURVE clients a domain accepts.
///
/// # Examples
///
/// ```
/// let anyone = zocket::auth::CurveClients::Any;
/// assert!(matches!(anyone, zocket::auth::CurveClients::Any));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CurveClients {
    /// Any client that knows the server's public key.
    Any,
    /// These public keys only.
    Keys(HashSet<[u8; 32]>),
}

#[derive(Default)]
pub(super) struct Policy {
    pub allowed: HashSet<String>,
    pub denied: HashSet<String>,
    /// Per domain: user name to password.
    pub plain: HashMap<String, HashMap<String, String>>,
    pub curve: HashMap<String, CurveClients>,
}

/// A decision: status code, text, user id.
type Verdict = (&'static str, &'static str, Vec<u8>);

impl Policy {
    /// The reply frames to a request's frames (RFC 27).
    pub fn answer(&self, request: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let request_id = request.get(1).cloned().unwrap_or_default();
        let (status, text, user_id) = self.decide(request);
        vec![
            b"1.0".to_vec(),
            request_id,
            status.as_bytes().to_vec(),
            text.as_bytes().to_vec(),
            user_id,
            Vec::new(),
        ]
    }

    fn decide(&self, request: &[Vec<u8>]) -> Verdict {
        let [
            version,
            _id,
            domain,
            address,
            _identity,
            mechanism,
            credentials @ ..,
        ] = request
        else {
            return ("500", "malformed ZAP request", Vec::new());
        };
        if &version[..] != b"1.0" {
            return ("500", "unsupported ZAP version", Vec::new());
        }
        let address = String::from_utf8_lossy(address);
        if !self.allowed.is_empty() && !self.allowed.contains(&*address) {
            return ("400", "address not allowed", Vec::new());
        }
        if self.denied.contains(&*address) {
            return ("400", "address denied", Vec::new());
        }
        let domain = String::from_utf8_lossy(domain);
        match (&mechanism[..], credentials) {
            (b"NULL", []) => ("200", "OK", Vec::new()),
            (b"PLAIN", [user, password]) => self.plain(&domain, user, password),
            (b"CURVE", [key]) => self.curve(&domain, key),
            _ => ("400", "unsupported mechanism or credentials", Vec::new()),
        }
    }

    fn plain(&self, domain: &str, user: &[u8], password: &[u8]) -> Verdict {
        let table = self.plain.get(domain).or_else(|| self.plain.get("*"));
        let user = String::from_utf8_lossy(user);
        let known = table.and_then(|t| t.get(&*user));
        match known {
            Some(expected) if constant_time_eq(expected.as_bytes(), password) => {
                ("200", "OK", user.into_owned().into_bytes())
            }
            _ => ("400", "invalid user name or password", Vec::new()),
        }
    }

    fn curve(&self, domain: &str, key: &[u8]) -> Verdict {
        let Ok(key) = <[u8; 32]>::try_from(key) else {
            return ("400", "malformed CURVE key", Vec::new());
        };
        let accepted = match self.curve.get(domain).or_else(|| self.curve.get("*")) {
            Some(CurveClients::Any) => true,
            Some(CurveClients::Keys(keys)) => keys.iter().any(|k| constant_time_eq(k, &key)),
            None => false,
        };
        if !accepted {
            return ("400", "unknown CURVE client key", Vec::new());
        }
        let user = crate::z85_encode(&key).unwrap_or_default();
        ("200", "OK", user.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(address: &str, mechanism: &str, credentials: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut frames = vec![
            b"1.0".to_vec(),
            b"1".to_vec(),
            b"global".to_vec(),
            address.as_bytes().to_vec(),
            Vec::new(),
            mechanism.as_bytes().to_vec(),
        ];
        frames.extend(credentials.iter().map(|c| c.to_vec()));
        frames
    }

    fn status(policy: &Policy, request: &[Vec<u8>]) -> String {
        String::from_utf8(policy.answer(request)[2].clone()).unwrap()
    }

    #[test]
    fn addresses_are_allowed_or_denied() {
        let mut policy = Policy::default();
        assert_eq!(status(&policy, &request("1.2.3.4", "NULL", &[])), "200");
        policy.denied.insert("1.2.3.4".into());
        assert_eq!(status(&policy, &request("1.2.3.4", "NULL", &[])), "400");
        policy.denied.clear();
        policy.allowed.insert("10.0.0.1".into());
        assert_eq!(status(&policy, &request("1.2.3.4", "NULL", &[])), "400");
        assert_eq!(status(&policy, &request("10.0.0.1", "NULL", &[])), "200");
    }

    #[test]
    fn plain_passwords_follow_the_domain_then_the_wildcard() {
        let mut policy = Policy::default();
        assert_eq!(
            status(&policy, &request("", "PLAIN", &[b"admin", b"secret"])),
            "400"
        );
        let users = HashMap::from([("admin".to_string(), "secret".to_string())]);
        policy.plain.insert("*".into(), users);
        let ok = policy.answer(&request("", "PLAIN", &[b"admin", b"secret"]));
        assert_eq!((&ok[2][..], &ok[4][..]), (&b"200"[..], &b"admin"[..]));
        assert_eq!(
            status(&policy, &request("", "PLAIN", &[b"admin", b"wrong"])),
            "400"
        );
        policy.plain.insert("global".into(), HashMap::new());
        assert_eq!(
            status(&policy, &request("", "PLAIN", &[b"admin", b"secret"])),
            "400"
        );
    }

    #[test]
    fn curve_keys_are_listed_or_any() {
        let mut policy = Policy::default();
        let key = [7u8; 32];
        assert_eq!(status(&policy, &request("", "CURVE", &[&key])), "400");
        policy
            .curve
            .insert("*".into(), CurveClients::Keys(HashSet::from([key])));
        let ok = policy.answer(&request("", "CURVE", &[&key]));
        assert_eq!(ok[2], b"200");
        assert_eq!(ok[4], crate::z85_encode(&key).unwrap().into_bytes());
        assert_eq!(status(&policy, &request("", "CURVE", &[&[8u8; 32]])), "400");
        policy.curve.insert("*".into(), CurveClients::Any);
        assert_eq!(status(&policy, &request("", "CURVE", &[&[8u8; 32]])), "200");
        assert_eq!(status(&policy, &request("", "CURVE", &[b"short"])), "400");
    }

    #[test]
    fn malformed_requests_get_500() {
        let policy = Policy::default();
        assert_eq!(status(&policy, &[b"1.0".to_vec()]), "500");
        let mut bad = request("", "NULL", &[]);
        bad[0] = b"2.0".to_vec();
        assert_eq!(status(&policy, &bad), "500");
    }
}
