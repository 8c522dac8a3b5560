//! A process's body as its task runs it: raced against the process's kill notification, with panics caught,
//! so that either becomes the process's exit reason.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use erlnode_etf::Term;

use super::{ExitResult, ProcEntry, exit};
use crate::scheduler::Gate;

/// A future that completes with the exit reason of the process of `entry`: the outcome of its body, the
/// reason of the exit signal that killed it, or `{panic, Message}` when the body panicked.
///
/// The kill flag is an atomic read on each poll; the state lock is taken only on the first poll (to leave
/// the waker for the signal) and once the flag is up. After a panic the body is never polled again.
/// `AssertUnwindSafe` is sound in the sense that matters: the body is dropped right after the panic, and
/// what it shared with others (the node's tables) is only changed under locks that tolerate poisoning.
pub(crate) struct Body<'a, F> {
    entry: &'a ProcEntry,
    body: Pin<&'a mut F>,
    armed: bool,
    /// The gates the process waits at before its body runs again (see [`crate::scheduler::hold`]); a boxed
    /// slice, the smallest field for what most processes never use.
    held: Box<[Arc<Gate>]>,
}

impl<'a, F: Future<Output = ExitResult>> Body<'a, F> {
    /// Runs `body` as the body of the process of `entry`.
    pub(crate) fn new(entry: &'a ProcEntry, body: Pin<&'a mut F>) -> Body<'a, F> {
        Body { entry, body, armed: false, held: Box::default() }
    }
}

impl<F: Future<Output = ExitResult>> Future for Body<'_, F> {
    type Output = Term;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Term> {
        let this = self.get_mut();
        if !this.armed || this.entry.killed.load(Ordering::Acquire) {
            this.armed = true;
            if let Poll::Ready(reason) = this.entry.lock().poll_kill(cx) {
                return Poll::Ready(reason);
            }
        }
        // Held at a gate (a peer that does not keep up): not a step further until it opens.
        if !this.held.is_empty() {
            if !this.held.iter().all(|gate| gate.pass(cx.waker())) {
                return Poll::Pending;
            }
            this.held = Box::default();
        }
        let body = this.body.as_mut();
        let charged = crate::scheduler::charged();
        let polled = catch_unwind(AssertUnwindSafe(|| body.poll(cx)));
        let reductions = 1 + crate::scheduler::charged().wrapping_sub(charged);
        this.entry.stats.reductions.fetch_add(reductions, Ordering::Relaxed);
        match polled {
            Ok(Poll::Pending) => {
                let holds = crate::scheduler::take_holds();
                if !holds.is_empty() {
                    this.held = holds.into_boxed_slice();
                }
                Poll::Pending
            }
            Ok(Poll::Ready(Ok(()))) => Poll::Ready(exit::normal()),
            Ok(Poll::Ready(Err(reason))) => Poll::Ready(reason),
            Err(payload) => Poll::Ready(exit::from_panic(payload.as_ref())),
        }
    }
}
