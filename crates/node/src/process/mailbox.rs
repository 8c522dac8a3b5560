//! A process's mailbox: unbounded, lossless, in arrival order, with selective receive.
//!
//! Messages arrive in an [`Inbox`], part of the process table entry: a FIFO behind a mutex that the senders
//! share, with one waker slot for the receive that waits. It allocates nothing until the first message. A
//! receive registers its waker under the same lock as it finds the queue empty, and a sender wakes it after
//! pushing, so no wake-up is lost. Once the mailbox is dropped (the process has ended) the inbox is closed
//! and drops what it is given.
//!
//! The receiving [`Mailbox`] does not take messages one at a time: whenever it has nothing left of its
//! own, it moves everything in the inbox to its private queue under one lock, so a receiver that falls
//! behind a fast sender touches the shared lock once per batch rather than once per message, and the
//! sender finds it free. The private queue is the front of the mailbox: every receive looks there first,
//! and a selective receive that passes over messages leaves them there in order, so the mailbox always
//! reads as one queue in arrival order. All receives are cancel-safe: messages move only between the
//! inbox and the private queue, never into a receive's future, so a receive that times out or is dropped
//! loses no message.
//!
//! The counters that `process_info` reads from outside the process ([`Stats`]) are written by the receiver
//! alone, with plain stores; the approximate size of the messages waiting (see [`approx_size`]) is
//! computed by the receiver as batches move, and for the inbox only when asked, so a send does no
//! accounting beyond the push.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use erlnode_etf::Term;

use super::ProcEntry;

/// What the receiver publishes about its side of the mailbox, for `process_info`.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Messages taken out of the mailbox by a receive.
    pub(crate) received: AtomicU64,
    /// Messages in the receiver's private queue, and their approximate bytes.
    taken_len: AtomicUsize,
    taken_bytes: AtomicUsize,
    /// True while the process is blocked in a receive with nothing to take.
    pub(crate) waiting: AtomicBool,
    /// Its reductions: one a poll, and what the poll charged (see `ProcessInfo::reductions`).
    pub(crate) reductions: AtomicU64,
}

/// The queue of an [`Inbox`] and the waker of the receive waiting on it.
#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Term>,
    waker: Option<Waker>,
    /// True once the mailbox has been dropped: nothing is put in any more.
    closed: bool,
}

/// The shared side of a mailbox: the messages delivered and not yet moved to the receiver.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    queue: Mutex<Queue>,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `message` in, waking the receive that waits, if any; once the mailbox has gone (the process
    /// has ended), gives the message back.
    pub(crate) fn put(&self, message: Term) -> Result<(), Term> {
        let waker = {
            let mut queue = self.lock();
            if queue.closed {
                return Err(message);
            }
            queue.messages.push_back(message);
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// The number of messages in the inbox.
    pub(crate) fn len(&self) -> usize {
        self.lock().messages.len()
    }

    /// Copies of the messages in the inbox, oldest first.
    pub(crate) fn messages(&self) -> Vec<Term> {
        self.lock().messages.iter().cloned().collect()
    }

    /// The approximate bytes of the messages in the inbox (a walk of the queue: `process_info` is rare,
    /// sends are not).
    pub(crate) fn bytes(&self) -> usize {
        self.lock().messages.iter().map(approx_size).sum()
    }
}

impl Stats {
    /// Messages moved to the receiver's private queue and not yet received.
    pub(crate) fn taken_len(&self) -> usize {
        self.taken_len.load(Ordering::Relaxed)
    }

    /// Their approximate bytes.
    pub(crate) fn taken_bytes(&self) -> usize {
        self.taken_bytes.load(Ordering::Relaxed)
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
    /// Messages moved out of the inbox and not yet received: the front of the mailbox.
    front: Front,
}

/// The receiver's private queue, apart from the entry so that both can be borrowed at once.
#[derive(Debug, Default)]
struct Front {
    /// The messages, in arrival order.
    taken: VecDeque<Term>,
    taken_bytes: usize,
    received: u64,
}

impl Front {
    /// Publishes the queue's length and bytes and the count of messages received.
    fn publish(&self, stats: &Stats) {
        stats.taken_len.store(self.taken.len(), Ordering::Relaxed);
        stats.taken_bytes.store(self.taken_bytes, Ordering::Relaxed);
        stats.received.store(self.received, Ordering::Relaxed);
    }

    /// Moves everything in `queue` here.
    fn move_all(&mut self, queue: &mut Queue, stats: &Stats) {
        self.taken_bytes += queue.messages.iter().map(approx_size).sum::<usize>();
        if self.taken.is_empty() {
            // Swapping keeps both buffers' capacity in use, so a steady stream allocates nothing.
            std::mem::swap(&mut self.taken, &mut queue.messages);
        } else {
            self.taken.append(&mut queue.messages);
        }
        self.publish(stats);
    }
}

/// The timers of timed receives, kept on each scheduler thread from one receive to the next.
///
/// A new tokio timer per timed receive took the runtime's timer lock twice, to arm it and to drop it,
/// and every `gen_server` call and erpc that waits for a peer waits with one. A kept timer whose deadline
/// moves later (the usual case: a call after a call, with the same timeout) is moved by one atomic
/// update. Kept per thread, not per process, so no process grows by a timer, and only on the
/// schedulers, whose tokio runtime lives as long as the OS process. A kept timer that runs out while
/// kept (or is moved to a deadline already past) wakes the process that last polled it once, for
/// nothing.
mod timers {
    use std::cell::RefCell;
    use std::pin::Pin;

    use tokio::time::{Instant, Sleep};

    /// Timers kept per thread: as many as timed receives that wait at once on one thread, usually one.
    const KEPT: usize = 4;

    thread_local! {
        static KEPT_TIMERS: RefCell<Vec<Pin<Box<Sleep>>>> = const { RefCell::new(Vec::new()) };
    }

    /// A timer for `deadline`: a kept one if this scheduler thread has one.
    pub(super) fn take(deadline: Instant) -> Pin<Box<Sleep>> {
        if crate::scheduler::current().is_none() {
            return Box::pin(tokio::time::sleep_until(deadline));
        }
        match KEPT_TIMERS.with(|kept| kept.borrow_mut().pop()) {
            Some(mut timer) => {
                timer.as_mut().reset(deadline);
                timer
            }
            None => {
                // In the schedulers' runtime even if the process entered another one: this timer will be
                // kept, and a timer of a runtime that shuts down panics when polled.
                let _runtime = crate::scheduler::tokio_handle().enter();
                Box::pin(tokio::time::sleep_until(deadline))
            }
        }
    }

    /// Keeps `timer` for the next timed receive on this scheduler thread (dropped elsewhere).
    pub(super) fn keep(timer: Pin<Box<Sleep>>) {
        if crate::scheduler::current().is_some() {
            KEPT_TIMERS.with(|kept| {
                let mut kept = kept.borrow_mut();
                if kept.len() < KEPT {
                    kept.push(timer);
                }
            });
        }
    }
}

impl Mailbox {
    /// The mailbox that reads the inbox of `entry`.
    pub(crate) fn new(entry: Arc<ProcEntry>) -> Mailbox {
        Mailbox { entry, front: Front::default() }
    }

    /// The entry of the process.
    pub(crate) fn entry(&self) -> &Arc<ProcEntry> {
        &self.entry
    }

    fn inbox(&self) -> &Inbox {
        &self.entry.inbox
    }

    /// Moves what the inbox holds to the private queue without waiting; `false` if it held nothing.
    fn refill(&mut self) -> bool {
        let entry = &self.entry;
        let mut queue = entry.inbox.lock();
        if queue.messages.is_empty() {
            return false;
        }
        self.front.move_all(&mut queue, &entry.stats);
        true
    }

    /// Waits until the inbox holds something and moves it all to the private queue.
    async fn arrival(&mut self) {
        let Mailbox { entry, front } = self;
        let mut waiting = None;
        std::future::poll_fn(|cx| {
            let mut queue = entry.inbox.lock();
            if !queue.messages.is_empty() {
                front.move_all(&mut queue, &entry.stats);
                return Poll::Ready(());
            }
            match &mut queue.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
            drop(queue);
            crate::scheduler::run_deferred();
            if waiting.is_none() {
                entry.stats.waiting.store(true, Ordering::Relaxed);
                waiting = Some(Waiting(&entry.stats.waiting));
            }
            Poll::Pending
        })
        .await;
    }

    /// Takes the message at `at` of the private queue, counting it as received.
    fn take(&mut self, at: usize) -> Option<Term> {
        let front = &mut self.front;
        let message = if at == 0 { front.taken.pop_front() } else { front.taken.remove(at) }?;
        front.taken_bytes -= approx_size(&message);
        front.received += 1;
        front.publish(&self.entry.stats);
        Some(message)
    }

    /// The oldest message, waiting for one if there is none.
    pub(crate) async fn recv(&mut self) -> Term {
        if self.front.taken.is_empty() {
            self.arrival().await;
        }
        // An arrival leaves at least one message in the private queue.
        self.take(0).unwrap_or_default()
    }

    /// The oldest message, or `None` if none arrives within `timeout` (a zero timeout only looks).
    pub(crate) async fn recv_timeout(&mut self, timeout: Duration) -> Option<Term> {
        self.recv_match_timeout(|_| true, timeout).await
    }

    /// The oldest message for which `matches` is true, waiting for one; the others stay, in order.
    pub(crate) async fn recv_match(&mut self, mut matches: impl FnMut(&Term) -> bool) -> Term {
        let mut scanned = 0;
        loop {
            if let Some(at) = self.front.taken.range(scanned..).position(&mut matches) {
                if let Some(message) = self.take(scanned + at) {
                    return message;
                }
            }
            scanned = self.front.taken.len();
            self.arrival().await;
        }
    }

    /// [`Mailbox::recv_match`] that gives up with `None` after `timeout`.
    ///
    /// A timer costs as much as the rest of a local request and reply, and the reply usually comes
    /// without one: the server, woken by the request, runs on this scheduler before this process does
    /// again. So the process first lets others run once and looks again; only then does it arm a timer,
    /// for what is left of `timeout`.
    ///
    /// The timer then goes back to the scheduler thread the receive ends on, for the next timed receive
    /// there, which moves its deadline (see [`timers`]).
    pub(crate) async fn recv_match_timeout(
        &mut self,
        mut matches: impl FnMut(&Term) -> bool,
        timeout: Duration,
    ) -> Option<Term> {
        if timeout.is_zero() {
            return self.take_delivered(&mut matches);
        }
        // A timeout too long to count is no timeout at all.
        self.recv_match_until(matches, tokio::time::Instant::now().checked_add(timeout)).await
    }

    /// [`Mailbox::recv_match_timeout`] until `deadline` (`None`: for ever), for a caller that has its
    /// deadline already.
    pub(crate) async fn recv_match_until(
        &mut self,
        mut matches: impl FnMut(&Term) -> bool,
        deadline: Option<tokio::time::Instant>,
    ) -> Option<Term> {
        if let Some(message) = self.take_delivered(&mut matches) {
            return Some(message);
        }
        // What this process sent goes out now, not once it has unwound from this poll: the answer it
        // waits for comes that much sooner.
        crate::scheduler::run_deferred();
        tokio::task::yield_now().await;
        if let Some(message) = self.take_delivered(&mut matches) {
            return Some(message);
        }
        let Some(deadline) = deadline else { return Some(self.recv_match(matches).await) };
        // A receive dropped before its end drops its timer with it.
        let mut timer = timers::take(deadline);
        let found = {
            let mut receive = std::pin::pin!(self.recv_match(matches));
            std::future::poll_fn(|cx| {
                if let Poll::Ready(message) = receive.as_mut().poll(cx) {
                    return Poll::Ready(Some(message));
                }
                timer.as_mut().poll(cx).map(|()| None)
            })
            .await
        };
        timers::keep(timer);
        found
    }

    /// Removes and returns the oldest message already delivered for which `matches` is true, without waiting.
    pub(crate) fn take_delivered(&mut self, matches: impl FnMut(&Term) -> bool) -> Option<Term> {
        self.refill();
        let at = self.front.taken.iter().position(matches)?;
        self.take(at)
    }

    /// The number of messages delivered and not yet received.
    pub(crate) fn len(&self) -> usize {
        self.front.taken.len() + self.inbox().lock().messages.len()
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
        self.front.taken.clear();
        self.front.taken_bytes = 0;
        self.front.publish(&self.entry.stats);
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

    fn entry_deliver_after(mb: &Mailbox, m: i64) {
        mb.entry().deliver(Term::from(m));
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
        assert_eq!(mb.entry().queue_len(), 3);
        assert_eq!(mb.recv_match(|t| t.as_i64() == Some(2)).await, Term::from(2));
        assert_eq!(mb.entry().queue_len(), 2);
        assert_eq!(mb.entry().stats.received.load(Ordering::Relaxed), 1);
        assert_eq!(mb.entry().queued_bytes(), 2 * std::mem::size_of::<Term>());
        entry_deliver_after(&mb, 5);
        assert_eq!(mb.entry().queue_len(), 3);
        assert_eq!(mb.recv().await, Term::from(1));
        assert_eq!(mb.entry().queue_len(), 2);
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
    async fn timed_receives_find_what_comes_and_an_endless_timeout_just_waits() {
        let (entry, mut mb) = mailbox_with(&[]);
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            entry.deliver(Term::from(1));
            tokio::time::sleep(Duration::from_millis(20)).await;
            entry.deliver(Term::from(2));
            entry
        });
        assert_eq!(mb.recv_timeout(Duration::MAX).await, Some(Term::from(1)));
        assert_eq!(mb.recv_match_timeout(|t| t.as_i64() == Some(2), Duration::from_secs(5)).await, Some(Term::from(2)));
        assert_eq!(mb.recv_timeout(Duration::from_millis(10)).await, None);
        drop(sender.await.unwrap());
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
        assert!(!entry.stats.waiting.load(Ordering::Relaxed));
        drop(mb);
        entry.deliver(Term::from(4));
        assert_eq!(entry.queue_len(), 0);
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
