//! Catching a panic in a process's future, so that it becomes the process's exit reason.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that completes with `Err(payload)` when polling the inner future panics.
///
/// The inner future is never polled again after a panic. `AssertUnwindSafe` is sound here in the sense
/// that matters: the future is dropped right after the panic, and what it shared with others (the node's
/// tables) is only ever changed under locks that tolerate poisoning.
pub(crate) struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> CatchUnwind<F> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: F) -> CatchUnwind<F> {
        CatchUnwind { inner: Box::pin(inner) }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
