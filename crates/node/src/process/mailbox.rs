//! A process's mailbox: unbounded, lossless, in arrival order, with selective receive.
//!
//! Messages arrive on an unbounded tokio channel. A selective receive that passes over a message keeps it in
//! a local save queue, in order, ahead of everything still in the channel; every later receive looks there
//! first, so the mailbox always reads as one queue in arrival order. All receives are cancel-safe: a receive
//! that times out or is dropped loses no message.

use std::collections::VecDeque;
use std::time::Duration;

use erlnode_etf::Term;
use tokio::sync::mpsc;

/// The receiving side of a mailbox.
#[derive(Debug)]
pub(crate) struct Mailbox {
    rx: mpsc::UnboundedReceiver<Term>,
    saved: VecDeque<Term>,
}

impl Mailbox {
    /// The mailbox that reads `rx`.
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<Term>) -> Mailbox {
        Mailbox { rx, saved: VecDeque::new() }
    }

    /// The next message from the channel; waits forever once the channel is closed (the process owns a
    /// sender for as long as it runs, so that only happens while it is being torn down).
    async fn next_arrival(&mut self) -> Term {
        match self.rx.recv().await {
            Some(message) => message,
            None => std::future::pending().await,
        }
    }

    /// The oldest message, waiting for one if there is none.
    pub(crate) async fn recv(&mut self) -> Term {
        match self.saved.pop_front() {
            Some(message) => message,
            None => self.next_arrival().await,
        }
    }

    /// The oldest message, or `None` if none arrives within `timeout` (a zero timeout only looks).
    pub(crate) async fn recv_timeout(&mut self, timeout: Duration) -> Option<Term> {
        tokio::time::timeout(timeout, self.recv()).await.ok()
    }

    /// The oldest message for which `matches` is true, waiting for one; the others stay, in order.
    pub(crate) async fn recv_match(&mut self, mut matches: impl FnMut(&Term) -> bool) -> Term {
        if let Some(at) = self.saved.iter().position(&mut matches)
            && let Some(message) = self.saved.remove(at)
        {
            return message;
        }
        loop {
            let message = self.next_arrival().await;
            if matches(&message) {
                return message;
            }
            self.saved.push_back(message);
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
    pub(crate) fn take_delivered(&mut self, matches: impl FnMut(&Term) -> bool) -> Option<Term> {
        while let Ok(message) = self.rx.try_recv() {
            self.saved.push_back(message);
        }
        let at = self.saved.iter().position(matches)?;
        self.saved.remove(at)
    }

    /// The number of messages delivered and not yet received.
    pub(crate) fn len(&self) -> usize {
        self.saved.len() + self.rx.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox_with(messages: &[i64]) -> (mpsc::UnboundedSender<Term>, Mailbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        for &m in messages {
            tx.send(Term::from(m)).ok();
        }
        (tx, Mailbox::new(rx))
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
