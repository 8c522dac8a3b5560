//! Timers: `erlang:send_after/3`, `erlang:cancel_timer/1` and `erlang:read_timer/1`.
//!
//! A timer is a task on erlnode's tokio runtime (see [`scheduler`](crate::scheduler)) that sleeps until its deadline and then sends its message to its destination
//! pid. Each timer has a reference of this node, kept in the node's timer table until the timer fires or
//! is cancelled: whichever of the two takes it out of the table first wins, so a cancelled timer never
//! sends and a timer that has sent cannot be cancelled. As in Erlang, a timer to a pid is cancelled when the
//! destination process ends (or was not alive when the timer was set); the message of a timer that fires
//! is ordered after everything the node delivered to the destination before.
//!
//! # Locks
//! The timer table lock is never held together with a process state lock. The destination's set of timers
//! (so that they are cancelled when it ends) is changed after the table on creation and found stale at
//! worst afterwards.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use erlnode_etf::{Pid, Ref, Term};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::Node;
use crate::hash::NumberMap;

/// A timer that has not fired: when it fires, and how to stop its task.
#[derive(Debug)]
struct Pending {
    deadline: Instant,
    task: Option<AbortHandle>,
}

/// The pending timers of one node.
#[derive(Debug, Default)]
pub(crate) struct TimerTable {
    timers: Mutex<NumberMap<Ref, Pending>>,
}

impl TimerTable {
    fn lock(&self) -> MutexGuard<'_, NumberMap<Ref, Pending>> {
        self.timers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancels the timer `timer`; the time it had left, or `None` if it had fired or never existed.
    pub(crate) fn cancel(&self, timer: &Ref) -> Option<Duration> {
        let pending = self.lock().remove(timer)?;
        if let Some(task) = pending.task {
            task.abort();
        }
        Some(pending.deadline.saturating_duration_since(Instant::now()))
    }

    /// The time the timer `timer` has left, or `None` if it has fired or never existed.
    pub(crate) fn read(&self, timer: &Ref) -> Option<Duration> {
        self.lock().get(timer).map(|p| p.deadline.saturating_duration_since(Instant::now()))
    }

    /// The number of pending timers.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Sets a timer that sends `message` to `to` after `delay`.
pub(crate) fn send_after(node: &Node, delay: Duration, to: Pid, message: Term) -> Ref {
    let timer = node.make_ref();
    let deadline = Instant::now() + delay;
    // The entry is in the table before the task can look for it.
    node.timers().lock().insert(timer, Pending { deadline, task: None });
    let fire = {
        let node = node.clone();
        async move {
            tokio::time::sleep_until(deadline).await;
            if node.timers().lock().remove(&timer).is_none() {
                return;
            }
            if let Some(entry) = node.lookup(to) {
                if let Some(ties) = entry.lock().ties_if_any() {
                    ties.timers.remove(&timer);
                }
                entry.deliver(message);
            }
        }
    };
    let task = crate::scheduler::tokio_handle().spawn(fire).abort_handle();
    if let Some(pending) = node.timers().lock().get_mut(&timer) {
        pending.task = Some(task);
    }
    let watched = node.lookup(to).is_some_and(|entry| {
        let mut state = entry.lock();
        if state.alive {
            state.ties().timers.insert(timer);
        }
        state.alive
    });
    if !watched {
        node.timers().cancel(&timer);
    }
    timer
}

/// Cancels the timers aimed at a process that is ending.
pub(crate) fn cancel_all(node: &Node, timers: impl IntoIterator<Item = Ref>) {
    for timer in timers {
        node.timers().cancel(&timer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_timer_to_a_dead_pid_is_cancelled_at_once() {
        let node = Node::new("timer@h", 1).unwrap();
        let dead = Pid::new(node.name(), 9999, 0, node.creation());
        let timer = node.send_after(Duration::from_secs(60), dead, Term::from(1));
        assert_eq!(node.timers().len(), 0);
        assert_eq!(node.cancel_timer(timer), None);
    }
}
