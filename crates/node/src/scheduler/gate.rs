//! Gates: where a process waits while something it uses is over its limit, as the BEAM suspends a
//! process that sends to a busy distribution port until the port's queue drains.
//!
//! A sender cannot wait inside a synchronous `send`; instead it asks, during its poll, to be held at a
//! gate (see [`hold`](super::hold)). When that poll ends the task is not run again, whatever wakes it,
//! until the gate opens; a wake that came meanwhile is kept and acted on then.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::task::Task;

/// A gate, open or closed, and the tasks held at it.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    closed: bool,
    held: Vec<Arc<Task>>,
}

impl Gate {
    /// A gate, open.
    pub(crate) fn new() -> Arc<Gate> {
        Arc::new(Gate::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the gate: tasks asked to be held here wait until [`Gate::open`].
    pub(crate) fn close(&self) {
        self.lock().closed = true;
    }

    /// Opens the gate and lets every task held at it go on.
    pub(crate) fn open(&self) {
        let held = {
            let mut state = self.lock();
            if !state.closed {
                return;
            }
            state.closed = false;
            std::mem::take(&mut state.held)
        };
        for task in held {
            task.release();
        }
    }

    /// Holds `task` (already marked held) here, or lets it go at once if the gate has opened.
    pub(super) fn hold(&self, task: Arc<Task>) {
        let mut state = self.lock();
        if state.closed {
            state.held.push(task);
        } else {
            drop(state);
            task.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_held_task_runs_again_only_once_the_gate_opens_and_keeps_its_wake() {
        let gate = Gate::new();
        gate.close();
        let polls = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let (g, p) = (Arc::clone(&gate), Arc::clone(&polls));
        crate::scheduler::spawn(async move {
            crate::scheduler::hold(&g);
            p.fetch_add(1, Ordering::SeqCst);
            // Woken at once: a plain task would run again straight away.
            tokio::task::yield_now().await;
            p.fetch_add(1, Ordering::SeqCst);
            let _ = tx.send(());
        });
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(polls.load(Ordering::SeqCst), 1, "the held task ran again while its gate was closed");
        gate.open();
        rx.recv_timeout(Duration::from_secs(5)).expect("the task goes on once the gate opens");
        assert_eq!(polls.load(Ordering::SeqCst), 2);
    }
}
