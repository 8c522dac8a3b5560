//! A task: one future the schedulers run, and the atomic state that decides who queues it.
//!
//! A task is queued at most once at a time. Its state holds three bits: `NOTIFIED` (a wake is pending:
//! the task is in a run queue, or will be put back there when its current poll ends), `RUNNING` and
//! `DONE`. A wake sets `NOTIFIED` with one atomic operation and queues the task only when no other bit was
//! set; the worker that polls it swaps `NOTIFIED` for `RUNNING` before the poll and, after it, goes back
//! to idle unless a wake came meanwhile, in which case it queues the task again. Every wake is an atomic
//! read-modify-write on the state, so whatever the waker did before it is visible to the next poll.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// The future of a task, boxed so tasks of all kinds share one queue.
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A wake is pending.
const NOTIFIED: u8 = 1;
/// A worker is polling the task.
const RUNNING: u8 = 2;
/// The future has completed (or panicked); wakes are ignored.
const DONE: u8 = 4;

/// One future and its scheduling state.
pub(crate) struct Task {
    state: AtomicU8,
    /// The worker that last polled it: where a wake from outside the schedulers queues it.
    pub(super) home: AtomicUsize,
    /// The future and, once it has been polled, the task's own waker (kept so a poll need not make one;
    /// both are dropped when the future completes, which breaks the cycle the waker makes).
    future: Mutex<Option<(BoxFuture, Option<Waker>)>>,
}

impl Task {
    /// A task for `future`, already notified: the caller queues it.
    pub(super) fn new(future: BoxFuture, home: usize) -> Arc<Task> {
        Arc::new(Task {
            state: AtomicU8::new(NOTIFIED),
            home: AtomicUsize::new(home),
            future: Mutex::new(Some((future, None))),
        })
    }

    /// Marks the task notified; `true` when the caller must queue it.
    fn notify(&self) -> bool {
        self.state.fetch_or(NOTIFIED, Ordering::AcqRel) == 0
    }

    /// Polls the task once on worker `worker`; `true` when it was woken during the poll and must be
    /// queued again.
    pub(super) fn poll(self: &Arc<Task>, worker: usize) -> bool {
        self.home.store(worker, Ordering::Relaxed);
        self.state.swap(RUNNING, Ordering::AcqRel);
        let done = {
            let mut slot = self.future.lock().unwrap_or_else(PoisonError::into_inner);
            let done = match slot.as_mut() {
                Some((future, waker)) => {
                    let waker = waker.get_or_insert_with(|| Waker::from(Arc::clone(self)));
                    let mut cx = Context::from_waker(waker);
                    // A panic that escapes the future ends the task, never the worker.
                    !matches!(catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))), Ok(Poll::Pending))
                }
                None => true,
            };
            if done {
                *slot = None;
            }
            done
        };
        if done {
            self.state.store(DONE, Ordering::Release);
            return false;
        }
        match self.state.compare_exchange(RUNNING, 0, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => false,
            Err(_) => {
                self.state.store(NOTIFIED, Ordering::Release);
                true
            }
        }
    }
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        if self.notify() {
            super::queue(self);
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.notify() {
            super::queue(Arc::clone(self));
        }
    }
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task").field("state", &self.state.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}
