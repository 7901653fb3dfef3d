//! PUB/XPUB (fan-out with publisher-side filtering) and SUB/XSUB (subscriptions upstream,
//! fair-queued receive). Subscriptions travel through pipes in their one-frame form: first byte
//! 1 (subscribe) or 0 (unsubscribe), then the prefix.

use super::fq::FairQueue;
use super::trie::Trie;
use super::{Pattern, PatternOption, SendError, queue_inbound};
use crate::error::Error;
use crate::message::Parts;
use crate::pipe::{PipeId, Pipes};
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::{BTreeMap, VecDeque};

/// Reads a one-frame subscription message: `(subscribe?, prefix)`.
fn as_subscription(msg: &Parts) -> Option<(bool, Bytes)> {
    if msg.len() != 1 {
        return None;
    }
    match msg[0].first() {
        Some(1) => Some((true, msg[0].slice(1..))),
        Some(0) => Some((false, msg[0].slice(1..))),
        _ => None,
    }
}

/// Builds a one-frame subscription message.
pub(crate) fn subscription(subscribe: bool, prefix: &[u8]) -> Parts {
    let mut body = BytesMut::with_capacity(prefix.len() + 1);
    body.put_u8(u8::from(subscribe));
    body.extend_from_slice(prefix);
    let mut parts = Parts::new();
    parts.push(body.freeze());
    parts
}

/// PUB and XPUB.
pub(crate) struct Publisher {
    xpub: bool,
    verbose: bool,
    verboser: bool,
    manual: bool,
    welcome: Option<Bytes>,
    /// Each subscriber's prefixes (a set per pipe, as libzmq keeps them).
    subs: BTreeMap<PipeId, Trie>,
    /// XPUB: subscription (and other) messages for the application.
    to_app: VecDeque<Parts>,
    /// XPUB_MANUAL: the pipe whose subscription the application is deciding on.
    last_pipe: Option<PipeId>,
}

impl Publisher {
    pub fn new(xpub: bool) -> Publisher {
        Publisher {
            xpub,
            verbose: false,
            verboser: false,
            manual: false,
            welcome: None,
            subs: BTreeMap::new(),
            to_app: VecDeque::new(),
            last_pipe: None,
        }
    }

    fn anyone_has(&self, prefix: &[u8]) -> bool {
        self.subs.values().any(|t| t.contains(prefix))
    }
}

impl Pattern for Publisher {
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        self.subs.insert(id, Trie::default());
        if let Some(welcome) = &self.welcome {
            let mut msg = Parts::new();
            msg.push(welcome.clone());
            pipes.push_out(id, msg);
        }
        true
    }

    fn detach(&mut self, id: PipeId, _pipes: &mut Pipes) {
        let Some(trie) = self.subs.remove(&id) else {
            return;
        };
        if self.xpub && !self.manual {
            for prefix in trie.prefixes() {
                if !self.anyone_has(&prefix) {
                    self.to_app.push_back(subscription(false, &prefix));
                }
            }
        }
        if self.last_pipe == Some(id) {
            self.last_pipe = None;
        }
    }

    fn incoming(&mut self, id: PipeId, msg: Parts, _pipes: &mut Pipes) -> Result<(), Parts> {
        let Some((subscribe, prefix)) = as_subscription(&msg) else {
            if self.xpub {
                self.to_app.push_back(msg);
            }
            return Ok(());
        };
        if self.manual {
            self.last_pipe = Some(id);
            self.to_app.push_back(msg);
            return Ok(());
        }
        let new_globally = !self.anyone_has(&prefix);
        let Some(trie) = self.subs.get_mut(&id) else {
            return Ok(());
        };
        if subscribe {
            if !trie.contains(&prefix) {
                trie.add(&prefix);
            }
            if self.xpub && (new_globally || self.verbose || self.verboser) {
                self.to_app.push_back(msg);
            }
        } else {
            let removed = trie.remove(&prefix);
            if self.xpub && ((removed && !self.anyone_has(&prefix)) || self.verboser) {
                self.to_app.push_back(msg);
            }
        }
        Ok(())
    }

    fn send(&mut self, msg: Parts, pipes: &mut Pipes) -> Result<(), SendError> {
        let topic = msg.first().cloned().unwrap_or_default();
        for (id, trie) in &self.subs {
            // A subscriber past its high-water mark loses this message; nobody else does.
            if trie.matches(&topic) && pipes.can_write(*id) {
                pipes.push_out(*id, msg.clone());
            }
        }
        Ok(())
    }

    fn recv(&mut self, _pipes: &mut Pipes) -> Result<Option<Parts>, Error> {
        if !self.xpub {
            return Err(Error::NotSupported("PUB sockets cannot receive"));
        }
        Ok(self.to_app.pop_front())
    }

    fn can_send(&self, _pipes: &Pipes) -> bool {
        true
    }

    fn can_recv(&self, _pipes: &Pipes) -> bool {
        !self.to_app.is_empty()
    }

    fn set_option(&mut self, option: PatternOption, _pipes: &mut Pipes) -> Result<(), Error> {
        match option {
            PatternOption::XpubVerbose(on) if self.xpub => self.verbose = on,
            PatternOption::XpubVerboser(on) if self.xpub => self.verboser = on,
            PatternOption::XpubManual(on) if self.xpub => self.manual = on,
            PatternOption::XpubWelcomeMsg(msg) if self.xpub => self.welcome = msg,
            PatternOption::Subscribe(prefix) if self.manual => {
                if let Some(trie) = self.last_pipe.and_then(|id| self.subs.get_mut(&id))
                    && !trie.contains(&prefix)
                {
                    trie.add(&prefix);
                }
            }
            PatternOption::Unsubscribe(prefix) if self.manual => {
                if let Some(trie) = self.last_pipe.and_then(|id| self.subs.get_mut(&id)) {
                    trie.remove(&prefix);
                }
            }
            other => return Err(Error::InvalidOption(format!("{other:?} does not apply here"))),
        }
        Ok(())
    }
}

/// SUB and XSUB.
pub(crate) struct Subscriber {
    xsub: bool,
    fq: FairQueue,
    peers: Vec<PipeId>,
    subs: Trie,
}

impl Subscriber {
    pub fn new(xsub: bool) -> Subscriber {
        Subscriber {
            xsub,
            fq: FairQueue::default(),
            peers: Vec::new(),
            subs: Trie::default(),
        }
    }

    fn send_to_all(&self, msg: &Parts, pipes: &mut Pipes) {
        for &id in &self.peers {
            pipes.push_out(id, msg.clone());
        }
    }

    fn resubscribe(&self, id: PipeId, pipes: &mut Pipes) {
        for prefix in self.subs.prefixes() {
            pipes.push_out(id, subscription(true, &prefix));
        }
    }

    /// Applies a subscription change and forwards it upstream when it matters: every
    /// subscribe, and an unsubscribe only when the last subscription to the prefix goes.
    fn change(&mut self, subscribe: bool, prefix: &[u8], pipes: &mut Pipes) {
        let forward = if subscribe {
            self.subs.add(prefix);
            true
        } else {
            self.subs.remove(prefix)
        };
        if forward {
            self.send_to_all(&subscription(subscribe, prefix), pipes);
        }
    }
}

impl Pattern for Subscriber {
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        self.fq.add(id);
        self.peers.push(id);
        self.resubscribe(id, pipes);
        true
    }

    fn reconnected(&mut self, id: PipeId, pipes: &mut Pipes) {
        self.resubscribe(id, pipes);
    }

    fn detach(&mut self, id: PipeId, _pipes: &mut Pipes) {
        self.fq.remove(id);
        self.peers.retain(|&p| p != id);
    }

    fn incoming(&mut self, id: PipeId, msg: Parts, pipes: &mut Pipes) -> Result<(), Parts> {
        let topic = msg.first().map(|f| &f[..]).unwrap_or(&[]);
        if !self.subs.matches(topic) {
            return Ok(());
        }
        queue_inbound(id, msg, pipes)
    }

    fn send(&mut self, msg: Parts, pipes: &mut Pipes) -> Result<(), SendError> {
        if !self.xsub {
            return Err(SendError::Fatal(Error::NotSupported(
                "SUB sockets cannot send; use set_subscribe",
            )));
        }
        match as_subscription(&msg) {
            Some((subscribe, prefix)) => self.change(subscribe, &prefix, pipes),
            None => self.send_to_all(&msg, pipes),
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Option<Parts>, Error> {
        Ok(self.fq.pop(pipes).map(|(_, m)| m))
    }

    fn can_send(&self, _pipes: &Pipes) -> bool {
        self.xsub
    }

    fn can_recv(&self, pipes: &Pipes) -> bool {
        self.fq.has_message(pipes)
    }

    fn set_option(&mut self, option: PatternOption, pipes: &mut Pipes) -> Result<(), Error> {
        match option {
            PatternOption::Subscribe(prefix) => self.change(true, &prefix, pipes),
            PatternOption::Unsubscribe(prefix) => self.change(false, &prefix, pipes),
            other => return Err(Error::InvalidOption(format!("{other:?} does not apply here"))),
        }
        Ok(())
    }
}
