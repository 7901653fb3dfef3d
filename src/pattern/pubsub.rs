//! PUB/XPUB (fan-out with publisher-side filtering) and SUB/XSUB (subscriptions upstream,
//! fair-queued receive). Subscriptions travel through pipes in their one-frame form: first byte
//! 1 (subscribe) or 0 (unsubscribe), then the prefix.

use super::fq::FairQueue;
use super::peer_subs::{MAX_SUBSCRIPTION_BYTES_PER_PEER, PeerSubs};
use super::trie::Trie;
use super::{Pattern, PatternOption, SendError, queue_inbound};
use crate::error::Error;
use crate::message::{Frame, Parts};
use crate::pipe::{PipeId, Pipes};
use crate::zmtp::subscription;
use std::collections::{BTreeMap, VecDeque};

/// PUB and XPUB.
pub(crate) struct Publisher {
    xpub: bool,
    verbose: bool,
    verboser: bool,
    manual: bool,
    welcome: Option<Frame>,
    /// Each subscriber's prefixes (a set per pipe, as libzmq keeps them).
    subs: BTreeMap<PipeId, PeerSubs>,
    /// XPUB: subscription (and other) messages for the application, each with the pipe it
    /// came from (`None`: made here, the unsubscriptions of a subscriber that left).
    to_app: VecDeque<(Option<PipeId>, Parts)>,
    /// How many messages of `to_app` came from each pipe: at most its receive high-water mark.
    queued_from: BTreeMap<PipeId, usize>,
    /// XPUB_MANUAL: the pipe whose subscription the application is deciding on (the pipe of
    /// the last message it received, as in libzmq).
    last_pipe: Option<PipeId>,
    /// INVERT_MATCHING: send to the subscribers whose subscriptions do *not* match.
    invert: bool,
    /// XPUB_NODROP: a send that a matching subscriber has no room for waits (or fails with
    /// `WouldBlock`) instead of dropping the message for that subscriber.
    nodrop: bool,
    /// XPUB_MANUAL_LAST_VALUE: after the application subscribes a pipe, the next send goes
    /// to that pipe only (to hand a newcomer the last value). Manual mode is on with it or
    /// with XPUB_MANUAL (`manual_explicit`).
    manual_last_value: bool,
    manual_explicit: bool,
    /// The pipe the next send is for, under XPUB_MANUAL_LAST_VALUE.
    last_value_for: Option<PipeId>,
    /// ONLY_FIRST_SUBSCRIBE: the first frame of a multipart message from a subscriber may be
    /// a subscription; the message then also goes to the application.
    only_first: bool,
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
            queued_from: BTreeMap::new(),
            last_pipe: None,
            invert: false,
            nodrop: false,
            manual_last_value: false,
            manual_explicit: false,
            last_value_for: None,
            only_first: false,
        }
    }

    /// Whether a message on `topic` goes to the subscriber with `subs`.
    fn wants(&self, subs: &PeerSubs, topic: &[u8]) -> bool {
        subs.matches(topic) != self.invert
    }

    fn anyone_has(&self, prefix: &[u8]) -> bool {
        self.subs.values().any(|t| t.contains(prefix))
    }

    /// Whether pipe `id` already has as many messages waiting for the application as its
    /// receive high-water mark allows (0: no limit). A pipe whose connection is gone is never
    /// full: what its connection had read is taken as it closes, so that nothing is left
    /// behind in the pipe (XPUB never reads it) and the pipe can go.
    fn app_queue_full(&self, id: PipeId, pipes: &Pipes) -> bool {
        let Some(pipe) = pipes.get(id).filter(|p| p.conn.is_some()) else {
            return false;
        };
        pipe.rcvhwm != 0 && self.queued_from.get(&id).is_some_and(|&n| n >= pipe.rcvhwm)
    }

    fn queue_for_app(&mut self, from: PipeId, msg: Parts) {
        *self.queued_from.entry(from).or_default() += 1;
        self.to_app.push_back((Some(from), msg));
    }

    /// The application took a message of pipe `id`: its share of the queue shrinks (what its
    /// connection holds back is taken at the socket's next sync).
    fn taken_from(&mut self, id: PipeId) {
        let Some(n) = self.queued_from.get_mut(&id) else {
            return;
        };
        *n -= 1;
        if *n == 0 {
            self.queued_from.remove(&id);
        }
    }
}

impl Pattern for Publisher {
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        self.subs.insert(id, PeerSubs::default());
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
                    self.to_app
                        .push_back((None, subscription::encode(false, &prefix)));
                }
            }
        }
        self.queued_from.remove(&id);
        if self.last_pipe == Some(id) {
            self.last_pipe = None;
        }
        if self.last_value_for == Some(id) {
            self.last_value_for = None; // the next send goes to everyone, as in libzmq
        }
    }

    fn inspects_incoming(&self) -> bool {
        true
    }

    fn incoming_byte_bound(&self) -> Option<usize> {
        Some(MAX_SUBSCRIPTION_BYTES_PER_PEER)
    }

    /// XPUB: a peer whose messages for the application reach the receive high-water mark is
    /// not read until the application takes some (as for every other socket type), so a peer
    /// that floods SUBSCRIBE/CANCEL cannot grow the queue, nor push its subscriptions through
    /// out of turn; libzmq's XPUB queue has no bound. The other peers carry on with their own
    /// share. PUB keeps no queue: subscriptions only change its filters.
    fn incoming(&mut self, id: PipeId, msg: Parts, pipes: &mut Pipes) -> Result<(), Parts> {
        if self.xpub && self.app_queue_full(id, pipes) {
            return Err(msg);
        }
        let decoded = match msg.len() {
            2.. if self.only_first => subscription::decode(&msg[..1]),
            _ => subscription::decode(&msg),
        };
        let Some((subscribe, prefix)) = decoded else {
            if self.xpub {
                self.queue_for_app(id, msg);
            }
            return Ok(());
        };
        if msg.len() > 1 && !self.manual {
            // ONLY_FIRST_SUBSCRIBE: the first frame subscribes; the whole message, data
            // included, is the application's.
            if let Some(subs) = self.subs.get_mut(&id) {
                let changed = match subscribe {
                    true => subs.subscribe(&prefix).map(|()| true),
                    false => Ok(subs.unsubscribe(&prefix)),
                };
                if let Err(reason) = changed {
                    pipes.refuse(id, reason);
                    return Ok(());
                }
            }
            if self.xpub {
                self.queue_for_app(id, msg);
            }
            return Ok(());
        }
        if self.manual {
            self.queue_for_app(id, msg);
            return Ok(());
        }
        let new_globally = !self.anyone_has(&prefix);
        let Some(trie) = self.subs.get_mut(&id) else {
            return Ok(());
        };
        if subscribe {
            if let Err(reason) = trie.subscribe(&prefix) {
                pipes.refuse(id, reason);
                return Ok(());
            }
            if self.xpub && (new_globally || self.verbose || self.verboser) {
                self.queue_for_app(id, msg);
            }
        } else {
            let removed = trie.unsubscribe(&prefix);
            if self.xpub && ((removed && !self.anyone_has(&prefix)) || self.verboser) {
                self.queue_for_app(id, msg);
            }
        }
        Ok(())
    }

    fn send(&mut self, msg: Parts, pipes: &mut Pipes) -> Result<(), SendError> {
        let topic = msg.first().cloned().unwrap_or_default();
        if let Some(id) = self.last_value_for.take() {
            if self.subs.get(&id).is_some_and(|subs| self.wants(subs, &topic)) {
                pipes.push_out(id, msg);
            }
            return Ok(());
        }
        if self.nodrop
            && self
                .subs
                .iter()
                .any(|(id, subs)| self.wants(subs, &topic) && !pipes.can_write(*id))
        {
            return Err(SendError::WouldBlock(msg));
        }
        for (id, trie) in &self.subs {
            // A subscriber past its high-water mark loses this message; nobody else does.
            if !self.wants(trie, &topic) {
                continue;
            }
            if pipes.can_write(*id) {
                pipes.push_out(*id, msg.clone());
            } else {
                pipes.dropped += 1;
            }
        }
        Ok(())
    }

    fn recv(&mut self, _pipes: &mut Pipes) -> Result<Option<Parts>, Error> {
        if !self.xpub {
            return Err(Error::NotSupported("PUB sockets cannot receive"));
        }
        let Some((from, msg)) = self.to_app.pop_front() else {
            return Ok(None);
        };
        if let Some(id) = from {
            self.taken_from(id);
        }
        if self.manual {
            self.last_pipe = from;
        }
        Ok(Some(msg))
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
            PatternOption::XpubManual(on) if self.xpub => {
                self.manual_explicit = on;
                self.manual = on || self.manual_last_value;
            }
            PatternOption::XpubWelcomeMsg(msg) if self.xpub => self.welcome = msg.map(Frame::from),
            PatternOption::XpubNodrop(on) => self.nodrop = on,
            PatternOption::InvertMatching(on) => self.invert = on,
            PatternOption::OnlyFirstSubscribe(on) if self.xpub => self.only_first = on,
            PatternOption::XpubManualLastValue(on) if self.xpub => {
                self.manual_last_value = on;
                self.manual = on || self.manual_explicit;
            }
            PatternOption::Subscribe(prefix) if self.manual => {
                if let Some(trie) = self.last_pipe.and_then(|id| self.subs.get_mut(&id)) {
                    trie.subscribe(&prefix)
                        .map_err(|reason| Error::InvalidOption(reason.to_string()))?;
                    if self.manual_last_value {
                        self.last_value_for = self.last_pipe;
                    }
                }
            }
            PatternOption::Unsubscribe(prefix) if self.manual => {
                if let Some(trie) = self.last_pipe.and_then(|id| self.subs.get_mut(&id)) {
                    trie.unsubscribe(&prefix);
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
    /// INVERT_MATCHING: keep the messages that match no subscription.
    invert: bool,
    /// XSUB_VERBOSE_UNSUBSCRIBE: forward every unsubscription, not only the last for a prefix.
    verbose_unsubscribe: bool,
    /// ONLY_FIRST_SUBSCRIBE: a multipart message sent whose first frame is a subscription
    /// changes the subscriptions; the whole message goes upstream.
    only_first: bool,
}

impl Subscriber {
    pub fn new(xsub: bool) -> Subscriber {
        Subscriber {
            xsub,
            fq: FairQueue::default(),
            peers: Vec::new(),
            subs: Trie::default(),
            invert: false,
            verbose_unsubscribe: false,
            only_first: false,
        }
    }

    fn send_to_all(&self, msg: &Parts, pipes: &mut Pipes) {
        for &id in &self.peers {
            pipes.push_out(id, msg.clone());
        }
    }

    fn resubscribe(&self, id: PipeId, pipes: &mut Pipes) {
        for prefix in self.subs.prefixes() {
            pipes.push_out(id, subscription::encode(true, &prefix));
        }
    }

    /// Applies a subscription change and forwards it upstream when it matters: every
    /// subscribe, and an unsubscribe only when the last subscription to the prefix goes.
    fn change(&mut self, subscribe: bool, prefix: &[u8], pipes: &mut Pipes) {
        let forward = if subscribe {
            self.subs.add(prefix);
            true
        } else {
            self.subs.remove(prefix) || self.verbose_unsubscribe
        };
        if forward {
            self.send_to_all(&subscription::encode(subscribe, prefix), pipes);
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

    fn inspects_incoming(&self) -> bool {
        true
    }

    fn incoming(&mut self, id: PipeId, msg: Parts, pipes: &mut Pipes) -> Result<(), Parts> {
        let topic = msg.first().map(|f| &f[..]).unwrap_or(&[]);
        if self.subs.matches(topic) == self.invert {
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
        match subscription::decode(&msg) {
            Some((subscribe, prefix)) => self.change(subscribe, &prefix, pipes),
            None if self.only_first && msg.len() > 1 => {
                if let Some((subscribe, prefix)) = subscription::decode(&msg[..1]) {
                    if subscribe {
                        self.subs.add(&prefix);
                    } else {
                        self.subs.remove(&prefix);
                    }
                }
                self.send_to_all(&msg, pipes);
            }
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
            PatternOption::InvertMatching(on) => self.invert = on,
            PatternOption::XsubVerboseUnsubscribe(on) if self.xsub => self.verbose_unsubscribe = on,
            PatternOption::OnlyFirstSubscribe(on) if self.xsub => self.only_first = on,
            other => return Err(Error::InvalidOption(format!("{other:?} does not apply here"))),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::Pipe;

    /// An XPUB with one subscriber pipe (receive high-water mark `rcvhwm`, served by
    /// connection 7).
    fn xpub_with_pipe(rcvhwm: usize) -> (Publisher, Pipes, PipeId) {
        let mut xpub = Publisher::new(true);
        let mut pipes = Pipes::default();
        let mut pipe = Pipe::new(10, rcvhwm);
        pipe.conn = Some(7);
        let id = pipes.insert(pipe);
        assert!(xpub.attach(id, &mut pipes));
        (xpub, pipes, id)
    }

    /// Whether the pattern took the message (the socket holds it back otherwise).
    fn deliver(xpub: &mut Publisher, pipes: &mut Pipes, id: PipeId, msg: Parts) -> bool {
        xpub.incoming(id, msg, pipes).is_ok()
    }

    #[test]
    fn xpub_subscriptions_wait_at_the_receive_hwm() {
        let (mut xpub, mut pipes, id) = xpub_with_pipe(4);
        for i in 0..4u8 {
            assert!(deliver(
                &mut xpub,
                &mut pipes,
                id,
                subscription::encode(true, &[i])
            ));
        }
        assert!(!deliver(
            &mut xpub,
            &mut pipes,
            id,
            subscription::encode(true, &[4])
        ));
        assert!(!xpub.subs[&id].contains(&[4]), "held back, not applied");
        assert_eq!(xpub.to_app.len(), 4);

        assert_eq!(xpub.recv(&mut pipes).unwrap().unwrap()[0][..], [1, 0]);
        xpub.recv(&mut pipes).unwrap().unwrap();
        assert!(deliver(
            &mut xpub,
            &mut pipes,
            id,
            subscription::encode(true, &[4])
        ));
        assert!(xpub.subs[&id].contains(&[4]));
        assert!(deliver(
            &mut xpub,
            &mut pipes,
            id,
            subscription::encode(true, &[5])
        ));
        assert!(!deliver(
            &mut xpub,
            &mut pipes,
            id,
            subscription::encode(true, &[6])
        ));
        // As the connection closes, what it held back is taken whatever the mark.
        pipes.get_mut(id).unwrap().conn = None;
        assert!(deliver(
            &mut xpub,
            &mut pipes,
            id,
            subscription::encode(true, &[6])
        ));
    }

    #[test]
    fn xpub_peers_have_their_own_share() {
        let (mut xpub, mut pipes, flooder) = xpub_with_pipe(2);
        let other = pipes.insert(Pipe::new(10, 2));
        xpub.attach(other, &mut pipes);
        for i in 0..3u8 {
            deliver(&mut xpub, &mut pipes, flooder, subscription::encode(true, &[i]));
        }
        assert!(!deliver(
            &mut xpub,
            &mut pipes,
            flooder,
            subscription::encode(true, b"x")
        ));
        assert!(deliver(
            &mut xpub,
            &mut pipes,
            other,
            subscription::encode(true, b"good")
        ));
        assert!(xpub.subs[&other].contains(b"good"));
        // A subscriber that leaves frees its share; its unsubscriptions are owed to nobody.
        xpub.detach(flooder, &mut pipes);
        assert!(!xpub.queued_from.contains_key(&flooder));
        let mut got = Vec::new();
        while let Some(msg) = xpub.recv(&mut pipes).unwrap() {
            got.push(msg[0].to_vec());
        }
        assert_eq!(
            got.len(),
            5,
            "2 subscriptions + good + 2 unsubscriptions: {got:?}"
        );
    }

    #[test]
    fn xpub_manual_decides_for_the_pipe_of_the_message_received() {
        let (mut xpub, mut pipes, first) = xpub_with_pipe(10);
        let second = pipes.insert(Pipe::new(10, 10));
        xpub.attach(second, &mut pipes);
        xpub.set_option(PatternOption::XpubManual(true), &mut pipes)
            .unwrap();
        deliver(&mut xpub, &mut pipes, first, subscription::encode(true, b"a"));
        deliver(&mut xpub, &mut pipes, second, subscription::encode(true, b"b"));
        xpub.recv(&mut pipes).unwrap().unwrap();
        xpub.set_option(
            PatternOption::Subscribe(bytes::Bytes::from_static(b"a")),
            &mut pipes,
        )
        .unwrap();
        assert!(xpub.subs[&first].contains(b"a") && !xpub.subs[&second].contains(b"a"));
    }
}
