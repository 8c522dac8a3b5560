//! A process's mailbox: unbounded, lossless, in arrival order, with selective receive.
//!
//! Messages arrive in an [`Inbox`], part of the process table entry: a FIFO behind a mutex, shared by the senders
//! and the receiving [`Mailbox`], with one waker slot for the receive that waits. It allocates nothing
//! until the first message. A receive registers its waker under the same lock as it finds the queue empty,
//! and a sender wakes it after pushing, so no wake-up is lost. Once the mailbox is dropped (the process has
//! ended) the inbox is closed and drops what it is given.
//!
//! A selective receive that passes over a message keeps it in a local save queue, in order, ahead of
//! everything still in the inbox; every later receive looks there first, so the mailbox always reads as one
//! queue in arrival order. All receives are cancel-safe: a message leaves the inbox only in the poll that
//! returns it, so a receive that times out or is dropped loses no message.
//!
//! Each message travels with its approximate size (see [`approx_size`]); the mailbox's [`Stats`], shared
//! with the process table entry, count the messages delivered and received and the bytes waiting, so that
//! `process_info` can read them without touching the mailbox.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use erlnode_etf::Term;

use super::ProcEntry;

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

    /// The number of messages waiting.
    pub(crate) fn queue_len(&self) -> usize {
        let delivered = self.delivered.load(Ordering::Relaxed);
        let received = self.received.load(Ordering::Relaxed);
        usize::try_from(delivered.saturating_sub(received)).unwrap_or(usize::MAX)
    }
}

/// The queue of an [`Inbox`] and the waker of the receive waiting on it.
#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Envelope>,
    waker: Option<Waker>,
    /// True once the mailbox has been dropped: nothing is put in any more.
    closed: bool,
}

/// The shared side of a mailbox: the messages delivered and not yet taken by the process, and the counters.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    queue: Mutex<Queue>,
    pub(crate) stats: Stats,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `message` in, waking the receive that waits, if any (a no-op once the mailbox has gone).
    pub(crate) fn put(&self, message: Term) {
        let size = approx_size(&message);
        let waker = {
            let mut queue = self.lock();
            if queue.closed {
                return;
            }
            self.stats.put(size);
            queue.messages.push_back((message, size));
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
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
    /// The entry of the process, which holds the [`Inbox`].
    entry: Arc<ProcEntry>,
    saved: VecDeque<Envelope>,
}

impl Mailbox {
    /// The mailbox that reads the inbox of `entry`.
    pub(crate) fn new(entry: Arc<ProcEntry>) -> Mailbox {
        Mailbox { entry, saved: VecDeque::new() }
    }

    /// The entry of the process.
    pub(crate) fn entry(&self) -> &Arc<ProcEntry> {
        &self.entry
    }

    fn inbox(&self) -> &Inbox {
        &self.entry.inbox
    }

    /// Counts `envelope` as received and opens it.
    fn take(&self, (message, size): Envelope) -> Term {
        self.inbox().stats.queued_bytes.fetch_sub(size, Ordering::Relaxed);
        self.inbox().stats.received.fetch_add(1, Ordering::Relaxed);
        message
    }

    /// The next message from the inbox, waiting for one.
    async fn next_arrival(&mut self) -> Envelope {
        if let Some(envelope) = self.inbox().lock().messages.pop_front() {
            return envelope;
        }
        self.inbox().stats.waiting.store(true, Ordering::Relaxed);
        let _waiting = Waiting(&self.inbox().stats.waiting);
        std::future::poll_fn(|cx| {
            let mut queue = self.inbox().lock();
            if let Some(envelope) = queue.messages.pop_front() {
                return Poll::Ready(envelope);
            }
            match &mut queue.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
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
        self.saved.extend(self.entry.inbox.lock().messages.drain(..));
        let at = self.saved.iter().position(|(m, _)| matches(m))?;
        let envelope = self.saved.remove(at)?;
        Some(self.take(envelope))
    }

    /// The number of messages delivered and not yet received.
    pub(crate) fn len(&self) -> usize {
        self.saved.len() + self.inbox().lock().messages.len()
    }
}

impl Drop for Mailbox {
    /// Closes the inbox and empties it, dropping its waker too (which would otherwise keep the process's
    /// task alive for as long as the table entry is referenced).
    fn drop(&mut self) {
        let (messages, waker) = {
            let mut queue = self.inbox().lock();
            queue.closed = true;
            (std::mem::take(&mut queue.messages), queue.waker.take())
        };
        drop(messages);
        drop(waker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox_with(messages: &[i64]) -> (Arc<ProcEntry>, Mailbox) {
        let pid = erlnode_etf::Pid::new(erlnode_etf::Atom::new("test@localhost"), 0, 0, 0);
        let entry = Arc::new(ProcEntry::new(pid, super::super::State::new(), 0));
        for &m in messages {
            entry.deliver(Term::from(m));
        }
        (Arc::clone(&entry), Mailbox::new(entry))
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
        assert_eq!(mb.inbox().stats.queue_len(), 3);
        assert_eq!(mb.recv_match(|t| t.as_i64() == Some(2)).await, Term::from(2));
        assert_eq!(mb.inbox().stats.queue_len(), 2);
        assert_eq!(mb.inbox().stats.received.load(Ordering::Relaxed), 1);
        assert_eq!(mb.inbox().stats.queued_bytes.load(Ordering::Relaxed), 2 * std::mem::size_of::<Term>());
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
    async fn a_waiting_receive_is_woken_by_a_later_put() {
        let (entry, mut mb) = mailbox_with(&[]);
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            for m in 1..=3 {
                entry.deliver(Term::from(m));
            }
            entry
        });
        assert_eq!(mb.recv_match(|t| t.as_i64() == Some(2)).await, Term::from(2));
        assert_eq!(mb.recv().await, Term::from(1));
        assert_eq!(mb.recv().await, Term::from(3));
        let entry = sender.await.unwrap();
        assert!(!entry.stats().waiting.load(Ordering::Relaxed));
        drop(mb);
        entry.deliver(Term::from(4));
        assert_eq!(entry.stats().queue_len(), 0);
        assert_eq!(entry.inbox.lock().messages.len(), 0);
    }

    #[tokio::test]
    async fn timed_out_selective_receive_loses_nothing() {
        let (_tx, mut mb) = mailbox_with(&[1, 2]);
        assert_eq!(mb.recv_match_timeout(|t| t.as_i64() == Some(9), Duration::from_millis(5)).await, None);
        assert_eq!(mb.recv().await, Term::from(1));
        assert_eq!(mb.recv().await, Term::from(2));
    }
}
