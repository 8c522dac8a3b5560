//! A process's mailbox: unbounded, lossless, in arrival order, with selective receive.
//!
//! Messages arrive on an unbounded tokio channel. A selective receive that passes over a message keeps it in
//! a local save queue, in order, ahead of everything still in the channel; every later receive looks there
//! first, so the mailbox always reads as one queue in arrival order. All receives are cancel-safe: a receive
//! that times out or is dropped loses no message.
//!
//! Each message travels with its approximate size (see [`approx_size`]); the mailbox's [`Stats`], shared
//! with the process table entry, count the messages delivered and received and the bytes waiting, so that
//! `process_info` can read them without touching the mailbox.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use erlnode_etf::Term;
use tokio::sync::mpsc;

/// A message on its way, with its approximate size in bytes.
pub(crate) type Envelope = (Term, usize);

/// Counters of one mailbox, readable from outside the process.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Messages put in the mailbox.
    pub(crate) delivered: AtomicU64,
    /// Messages taken out of it by a receive.
    pub(crate) received: AtomicU64,
    /// The approximate bytes of the messages waiting.
    pub(crate) queued_bytes: AtomicUsize,
    /// True while the process is blocked in a receive with nothing to take.
    pub(crate) waiting: AtomicBool,
}

impl Stats {
    /// Counts a message going into the mailbox.
    pub(crate) fn put(&self, size: usize) {
        self.queued_bytes.fetch_add(size, Ordering::Relaxed);
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes back the count of a message that could not be put in (the process has gone).
    pub(crate) fn unput(&self, size: usize) {
        self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
        self.delivered.fetch_sub(1, Ordering::Relaxed);
    }

    /// The number of messages waiting.
    pub(crate) fn queue_len(&self) -> usize {
        let delivered = self.delivered.load(Ordering::Relaxed);
        let received = self.received.load(Ordering::Relaxed);
        usize::try_from(delivered.saturating_sub(received)).unwrap_or(usize::MAX)
    }
}

/// Clears the waiting flag when a blocked receive ends, by a message or by being dropped.
struct Waiting<'a>(&'a AtomicBool);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// The approximate memory of `term`, in bytes: its own [`Term`] slot plus what the top of the term holds
/// directly (binary and big-integer bytes, the slots of its elements, a boxed fun). Shallow on purpose: it
/// runs on every send, which must not cost a walk of the whole message; nested payloads go uncounted.
pub(crate) fn approx_size(term: &Term) -> usize {
    let slot = std::mem::size_of::<Term>();
    slot + match term {
        Term::Big(b) => b.magnitude().len(),
        Term::Binary(b) | Term::Charlist(b) => b.len(),
        Term::Bits(b) => b.data().len(),
        Term::Tuple(items) | Term::List(items) => items.len() * slot,
        Term::Improper(items, _) => (items.len() + 1) * slot,
        Term::Map(map) => map.len() * 2 * slot,
        Term::Fun(fun) => std::mem::size_of_val(fun.as_ref()) + fun.free_vars.len() * slot,
        Term::Int(_)
        | Term::Float(_)
        | Term::Atom(_)
        | Term::Ref(_)
        | Term::Export(_)
        | Term::Port(_)
        | Term::Pid(_) => 0,
    }
}

/// The receiving side of a mailbox.
#[derive(Debug)]
pub(crate) struct Mailbox {
    rx: mpsc::UnboundedReceiver<Envelope>,
    saved: VecDeque<Envelope>,
    stats: std::sync::Arc<Stats>,
}

impl Mailbox {
    /// The mailbox that reads `rx` and keeps `stats`.
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<Envelope>, stats: std::sync::Arc<Stats>) -> Mailbox {
        Mailbox { rx, saved: VecDeque::new(), stats }
    }

    /// Counts `envelope` as received and opens it.
    fn take(&self, (message, size): Envelope) -> Term {
        self.stats.queued_bytes.fetch_sub(size, Ordering::Relaxed);
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        message
    }

    /// The next message from the channel; waits forever once the channel is closed (the process owns a
    /// sender for as long as it runs, so that only happens while it is being torn down).
    async fn next_arrival(&mut self) -> Envelope {
        if let Ok(envelope) = self.rx.try_recv() {
            return envelope;
        }
        self.stats.waiting.store(true, Ordering::Relaxed);
        let _waiting = Waiting(&self.stats.waiting);
        match self.rx.recv().await {
            Some(envelope) => envelope,
            None => std::future::pending().await,
        }
    }

    /// The oldest message, waiting for one if there is none.
    pub(crate) async fn recv(&mut self) -> Term {
        let envelope = match self.saved.pop_front() {
            Some(envelope) => envelope,
            None => self.next_arrival().await,
        };
        self.take(envelope)
    }

    /// The oldest message, or `None` if none arrives within `timeout` (a zero timeout only looks).
    pub(crate) async fn recv_timeout(&mut self, timeout: Duration) -> Option<Term> {
        tokio::time::timeout(timeout, self.recv()).await.ok()
    }

    /// The oldest message for which `matches` is true, waiting for one; the others stay, in order.
    pub(crate) async fn recv_match(&mut self, mut matches: impl FnMut(&Term) -> bool) -> Term {
        if let Some(at) = self.saved.iter().position(|(m, _)| matches(m))
            && let Some(envelope) = self.saved.remove(at)
        {
            return self.take(envelope);
        }
        loop {
            let envelope = self.next_arrival().await;
            if matches(&envelope.0) {
                return self.take(envelope);
            }
            self.saved.push_back(envelope);
        }
    }

    /// [`Mailbox::recv_match`] that gives up with `None` after `timeout`.
    pub(crate) async fn recv_match_timeout(
        &mut self,
        matches: impl FnMut(&Term) -> bool,
        timeout: Duration,
    ) -> Option<Term> {
        tokio::time::timeout(timeout, self.recv_match(matches)).await.ok()
    }

    /// Removes and returns the oldest message already delivered for which `matches` is true, without waiting.
    pub(crate) fn take_delivered(&mut self, mut matches: impl FnMut(&Term) -> bool) -> Option<Term> {
        while let Ok(envelope) = self.rx.try_recv() {
            self.saved.push_back(envelope);
        }
        let at = self.saved.iter().position(|(m, _)| matches(m))?;
        let envelope = self.saved.remove(at)?;
        Some(self.take(envelope))
    }

    /// The number of messages delivered and not yet received.
    pub(crate) fn len(&self) -> usize {
        self.saved.len() + self.rx.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox_with(messages: &[i64]) -> (mpsc::UnboundedSender<Envelope>, Mailbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = std::sync::Arc::new(Stats::default());
        for &m in messages {
            let term = Term::from(m);
            let size = approx_size(&term);
            stats.put(size);
            tx.send((term, size)).ok();
        }
        (tx, Mailbox::new(rx, stats))
    }

    #[test]
    fn sizes_count_the_top_of_a_term() {
        let slot = std::mem::size_of::<Term>();
        assert_eq!(approx_size(&Term::from(1)), slot);
        let t: Term = "{a, <<\"hello\">>, [1, 2]}".parse().unwrap();
        assert_eq!(approx_size(&t), 4 * slot);
        assert_eq!(approx_size(&Term::from("hello")), slot + 5);
        assert_eq!(approx_size(&Term::list(vec![Term::from(1); 10])), 11 * slot);
    }

    #[tokio::test]
    async fn stats_follow_the_queue() {
        let (_tx, mut mb) = mailbox_with(&[1, 2, 3]);
        assert_eq!(mb.stats.queue_len(), 3);
        assert_eq!(mb.recv_match(|t| t.as_i64() == Some(2)).await, Term::from(2));
        assert_eq!(mb.stats.queue_len(), 2);
        assert_eq!(mb.stats.received.load(Ordering::Relaxed), 1);
        assert_eq!(mb.stats.queued_bytes.load(Ordering::Relaxed), 2 * std::mem::size_of::<Term>());
    }

    #[tokio::test]
    async fn selective_receive_keeps_the_rest_in_order() {
        let (_tx, mut mb) = mailbox_with(&[1, 2, 3, 4]);
        assert_eq!(mb.recv_match(|t| t.as_i64() == Some(3)).await, Term::from(3));
        assert_eq!(mb.len(), 3);
        assert_eq!(mb.recv().await, Term::from(1));
        assert_eq!(mb.take_delivered(|t| t.as_i64() == Some(4)), Some(Term::from(4)));
        assert_eq!(mb.recv().await, Term::from(2));
        assert_eq!(mb.recv_timeout(Duration::ZERO).await, None);
    }

    #[tokio::test]
    async fn timed_out_selective_receive_loses_nothing() {
        let (_tx, mut mb) = mailbox_with(&[1, 2]);
        assert_eq!(mb.recv_match_timeout(|t| t.as_i64() == Some(9), Duration::from_millis(5)).await, None);
        assert_eq!(mb.recv().await, Term::from(1));
        assert_eq!(mb.recv().await, Term::from(2));
    }
}
