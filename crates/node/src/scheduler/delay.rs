//! Short, precise delays: tens to hundreds of microseconds, which tokio's millisecond timer wheel rounds
//! up to a millisecond or more.
//!
//! One thread, started on first use, sleeps until the earliest deadline and wakes the tasks that are
//! due. Distribution readers use it to let a stream of small packets gather before they read it (see
//! `dist::tcp_read`); it is not meant for many timers (each insertion is linear in the number pending).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The pending deadlines, earliest last, and what to wake at each.
#[derive(Default)]
struct Timers {
    pending: Mutex<Vec<(Instant, Waker)>>,
    changed: Condvar,
}

static TIMERS: OnceLock<Arc<Timers>> = OnceLock::new();

impl Timers {
    fn lock(&self) -> MutexGuard<'_, Vec<(Instant, Waker)>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get() -> &'static Arc<Timers> {
        TIMERS.get_or_init(|| {
            let timers = Arc::new(Timers::default());
            let keeper = Arc::clone(&timers);
            super::spawn_thread("erlnode-timer".into(), move || keeper.run());
            timers
        })
    }

    /// Wakes what is due, then sleeps until the next deadline or a new earlier one.
    fn run(&self) {
        let mut pending = self.lock();
        loop {
            let now = Instant::now();
            while pending.last().is_some_and(|(at, _)| *at <= now) {
                if let Some((_, waker)) = pending.pop() {
                    waker.wake();
                }
            }
            pending = match pending.last() {
                Some((at, _)) => {
                    let wait = at.saturating_duration_since(now);
                    self.changed.wait_timeout(pending, wait).unwrap_or_else(PoisonError::into_inner).0
                }
                None => self.changed.wait(pending).unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    fn add(&self, at: Instant, waker: Waker) {
        let mut pending = self.lock();
        let index = pending.partition_point(|(other, _)| *other > at);
        pending.insert(index, (at, waker));
        if index == pending.len() - 1 {
            self.changed.notify_one();
        }
    }
}

/// Completes `duration` from now, to within the operating system's timer slack (about 50 us on Linux).
pub(crate) fn delay(duration: Duration) -> Delay {
    Delay { at: Instant::now() + duration, registered: false }
}

/// The future of [`delay`].
#[derive(Debug)]
pub(crate) struct Delay {
    at: Instant,
    registered: bool,
}

impl Future for Delay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        // A spurious poll before the deadline keeps the first registration: the waker of a task does not
        // change between its polls.
        if !self.registered {
            self.registered = true;
            Timers::get().add(self.at, cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_complete_in_deadline_order() {
        let (tx, rx) = std::sync::mpsc::channel();
        for (i, us) in [(0, 3000u64), (1, 500), (2, 1500)] {
            let tx = tx.clone();
            crate::scheduler::spawn(async move {
                delay(Duration::from_micros(us)).await;
                let _ = tx.send(i);
            });
        }
        let order: Vec<i32> = (0..3).map(|_| rx.recv_timeout(Duration::from_secs(5)).expect("a delay ends")).collect();
        assert_eq!(order, [1, 2, 0]);
    }

    #[test]
    fn a_delay_is_not_shorter_than_asked() {
        let (tx, rx) = std::sync::mpsc::channel();
        crate::scheduler::spawn(async move {
            let start = Instant::now();
            delay(Duration::from_micros(200)).await;
            let _ = tx.send(start.elapsed());
        });
        let took = rx.recv_timeout(Duration::from_secs(5)).expect("the delay ends");
        assert!(took >= Duration::from_micros(200), "{took:?}");
    }
}
