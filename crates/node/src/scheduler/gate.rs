//! Gates: where a process waits while something it uses is over its limit, as the BEAM suspends a
//! process that sends to a busy distribution port until the port's queue drains.
//!
//! A sender cannot wait inside a synchronous `send`; instead it asks, during its poll, to be held at a
//! gate (see [`hold`](super::hold)). When that poll ends, the process's body is not polled again until
//! the gate opens; wakes meanwhile only find it still held. Exit signals are seen as before, so a held
//! process can still be killed.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

/// A gate, open or closed, and who waits at it.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    closed: bool,
    waiting: Vec<Waker>,
}

impl Gate {
    /// A gate, open.
    pub(crate) fn new() -> std::sync::Arc<Gate> {
        std::sync::Arc::new(Gate::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the gate: processes asked to be held here wait until [`Gate::open`].
    pub(crate) fn close(&self) {
        self.lock().closed = true;
    }

    /// Opens the gate and wakes every process that waits at it.
    pub(crate) fn open(&self) {
        let waiting = {
            let mut state = self.lock();
            state.closed = false;
            std::mem::take(&mut state.waiting)
        };
        for waker in waiting {
            waker.wake();
        }
    }

    /// `true` if the gate is open; otherwise `waker` is woken when it opens.
    pub(crate) fn pass(&self, waker: &Waker) -> bool {
        let mut state = self.lock();
        if !state.closed {
            return true;
        }
        if !state.waiting.iter().any(|w| w.will_wake(waker)) {
            state.waiting.push(waker.clone());
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_held_process_goes_on_only_once_the_gate_opens() {
        let node = crate::Node::new("gate@localhost", 1).expect("a node");
        let gate = Gate::new();
        gate.close();
        let steps = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let (g, s) = (Arc::clone(&gate), Arc::clone(&steps));
        let pid = node
            .spawn(move |p| async move {
                crate::scheduler::hold(&g);
                s.fetch_add(1, Ordering::SeqCst);
                // Woken at once: a process that is not held would go on straight away.
                tokio::task::yield_now().await;
                s.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(p.self_pid());
                Ok(())
            })
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(steps.load(Ordering::SeqCst), 1, "the held process went on while its gate was closed");
        gate.open();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).expect("it goes on once the gate opens"), pid);
        assert_eq!(steps.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_held_process_can_be_killed() {
        let node = crate::Node::new("gate@localhost", 1).expect("a node");
        let gate = Gate::new();
        gate.close();
        let g = Arc::clone(&gate);
        let held = node
            .spawn(move |_p| async move {
                crate::scheduler::hold(&g);
                tokio::task::yield_now().await;
                Ok(())
            })
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(50));
        // Its monitor fires only once the process has really ended, which a held one must still do.
        let (tx, rx) = std::sync::mpsc::channel();
        node.spawn(move |mut w| async move {
            let monitor = w.monitor(held);
            w.exit(held, crate::exit::kill());
            let down = w.recv_match(|m| crate::exit::is_down_of(m, &monitor)).await;
            let _ = tx.send(down);
            Ok(())
        })
        .expect("spawn the watcher");
        let down = rx.recv_timeout(Duration::from_secs(5)).expect("a held process ends when killed");
        assert_eq!(down.as_tuple().map(|t| t[4].clone()), Some(erlnode_etf::Term::atom("killed")));
    }
}
