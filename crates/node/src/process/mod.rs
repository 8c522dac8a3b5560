//! Processes: spawning, the process table entry, and what happens when a process ends.
//!
//! A process is a tokio task running the future its closure returned, raced against a one-shot kill
//! notification, so that an exit signal takes effect at the process's next await point whether or not it is
//! receiving. The future is wrapped so that a panic is caught and becomes the exit reason.
//!
//! # Shared state and locks
//! Each process has an entry in the node's table: its pid, the sending side of its mailbox, and a small
//! `State` behind a mutex (alive flag, trap_exit, registered name, links, monitors both ways, and the kill
//! notification). Locks are held only for a few map operations and never across an await. Lock order: the
//! name registry before a process state; the table lock alone; never two process states at once. Operations
//! that touch two processes (link, monitor) change the caller's side first and the target's second, so a
//! target found dead is seen as dead and rolled back, and a target that dies afterwards finds the caller's
//! side in place.
//!
//! The node's alias and timer tables have locks of their own, never held together with a process state (see
//! [`alias`] and [`timer`]).
//!
//! # Ending
//! When a process ends, its entry is marked dead, taken out of the table, its name released, its aliases
//! deactivated, the timers aimed at it cancelled, the monitors it held removed, and then its links get exit
//! signals and its monitors `DOWN` messages, in that order: a process that sees the `DOWN` also sees the
//! name free and the aliases inactive.

pub mod alias;
mod context;
pub mod exit;
pub mod info;
mod link;
mod mailbox;
mod monitor;
pub(crate) mod pid_alloc;
pub(crate) mod ref_alloc;
pub(crate) mod registry;
pub mod timer;
mod unwind;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use erlnode_etf::{Atom, Pid, Ref, Term};
use tokio::sync::{mpsc, oneshot};

pub use context::Process;
pub use exit::ExitResult;
pub use link::LinkError;
pub use monitor::MonitorTarget;
pub use registry::{RegisterError, SendError, UnregisterError};

use crate::Node;
use mailbox::{Envelope, Mailbox, Stats};
use unwind::CatchUnwind;

/// Why a process could not be spawned (Erlang raises `system_limit` for the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// The node already runs its maximum number of processes.
    #[error("system_limit: the node runs {0} processes, its maximum")]
    SystemLimit(usize),
    /// There is no tokio runtime to run the process on.
    #[error("spawn called outside a tokio runtime")]
    NoRuntime,
}

/// A monitor held by a process on another: who to tell, and the object the `DOWN` message names.
#[derive(Debug)]
pub(crate) struct Watcher {
    pub(crate) pid: Pid,
    pub(crate) object: Term,
}

/// The mutable state of one process.
#[derive(Debug)]
pub(crate) struct State {
    /// False from the moment the process starts ending.
    pub(crate) alive: bool,
    pub(crate) trap_exit: bool,
    pub(crate) name: Option<Atom>,
    pub(crate) links: HashSet<Pid>,
    /// Monitors this process holds: reference to target.
    pub(crate) monitors: HashMap<Ref, Pid>,
    /// Monitors held on this process.
    pub(crate) watchers: HashMap<Ref, Watcher>,
    /// Active aliases this process made.
    pub(crate) aliases: HashSet<Ref>,
    /// Pending timers aimed at this process.
    pub(crate) timers: HashSet<Ref>,
    /// Fired by the first exit signal that kills the process.
    kill: Option<oneshot::Sender<Term>>,
}

impl State {
    /// Ends the process with `reason` at its next await point, unless an earlier signal already did.
    pub(crate) fn kill(&mut self, reason: Term) {
        if let Some(kill) = self.kill.take() {
            kill.send(reason).ok();
        }
    }
}

/// A process's entry in the node's table.
#[derive(Debug)]
pub(crate) struct ProcEntry {
    pub(crate) pid: Pid,
    tx: mpsc::UnboundedSender<Envelope>,
    state: Mutex<State>,
    /// The mailbox's counters.
    pub(crate) stats: Arc<Stats>,
    /// The size of the process's future when it was spawned (its state machine, not what it allocates).
    pub(crate) future_size: usize,
}

impl ProcEntry {
    /// The process's state, locked (a panic elsewhere does not make it unusable).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `message` in the mailbox (a no-op once the process has gone).
    pub(crate) fn deliver(&self, message: Term) {
        let size = mailbox::approx_size(&message);
        self.stats.put(size);
        if self.tx.send((message, size)).is_err() {
            self.stats.unput(size);
        }
    }
}

/// How a new process is tied to the process that spawns it.
pub(crate) enum Parent<'a> {
    /// Not at all.
    None,
    /// Linked to it.
    Link(&'a ProcEntry),
    /// Monitored by it, with this reference.
    Monitor(&'a ProcEntry, Ref),
}

/// Sends the exit signal `reason` from `from` to `to`, as `exit(To, Reason)` does.
pub(crate) fn exit_signal(node: &Node, to: Pid, from: Pid, reason: Term) {
    link::exit_signal(node, to, from, reason, link::Origin::Exit);
}

/// Spawns a process on `node` running `body`, tied to `parent` before it first runs.
pub(crate) fn spawn<F, Fut>(node: &Node, body: F, parent: Parent<'_>) -> Result<Pid, SpawnError>
where
    F: FnOnce(Process) -> Fut + Send + 'static,
    Fut: Future<Output = ExitResult> + Send + 'static,
{
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| SpawnError::NoRuntime)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let (kill_tx, kill_rx) = oneshot::channel();
    let stats = Arc::new(Stats::default());
    let future_size = std::mem::size_of::<F>() + std::mem::size_of::<Fut>();
    let entry = node.insert_process(|pid| {
        let mut state = State {
            alive: true,
            trap_exit: false,
            name: None,
            links: HashSet::new(),
            monitors: HashMap::new(),
            watchers: HashMap::new(),
            aliases: HashSet::new(),
            timers: HashSet::new(),
            kill: Some(kill_tx),
        };
        match &parent {
            Parent::None => {}
            Parent::Link(p) => {
                state.links.insert(p.pid);
            }
            Parent::Monitor(p, r) => {
                state.watchers.insert(*r, Watcher { pid: p.pid, object: Term::Pid(pid) });
            }
        }
        Arc::new(ProcEntry { pid, tx, state: Mutex::new(state), stats: Arc::clone(&stats), future_size })
    })?;
    let pid = entry.pid;
    // The parent's side is in place before the child can run, so the child's end always finds it.
    match parent {
        Parent::None => {}
        Parent::Link(p) => {
            p.lock().links.insert(pid);
        }
        Parent::Monitor(p, r) => {
            p.lock().monitors.insert(r, pid);
        }
    }
    let process = Process::new(node.clone(), Arc::clone(&entry), Mailbox::new(rx, stats), runtime.clone());
    runtime.spawn(run(node.clone(), entry, async move { body(process).await }, kill_rx));
    tracing::trace!(%pid, "spawned");
    Ok(pid)
}

/// Runs a process to its end and then tells its links and monitors.
async fn run(node: Node, entry: Arc<ProcEntry>, body: impl Future<Output = ExitResult>, kill: oneshot::Receiver<Term>) {
    let reason = tokio::select! {
        biased;
        killed = kill => killed.unwrap_or_else(|_| exit::killed()),
        outcome = CatchUnwind::new(body) => match outcome {
            Ok(Ok(())) => exit::normal(),
            Ok(Err(reason)) => reason,
            Err(payload) => exit::from_panic(payload.as_ref()),
        },
    };
    finish(&node, &entry, reason);
}

/// Ends the process of `entry` with `reason`: see the module documentation for the order of the steps.
fn finish(node: &Node, entry: &ProcEntry, reason: Term) {
    let pid = entry.pid;
    tracing::trace!(%pid, %reason, "exited");
    let (name, links, monitors, watchers, aliases, timers) = {
        let mut state = entry.lock();
        state.alive = false;
        state.kill = None;
        (
            state.name.take(),
            std::mem::take(&mut state.links),
            std::mem::take(&mut state.monitors),
            std::mem::take(&mut state.watchers),
            std::mem::take(&mut state.aliases),
            std::mem::take(&mut state.timers),
        )
    };
    node.remove_process(pid);
    if let Some(name) = name {
        node.registry().release(name, pid);
    }
    alias::release_all(node, pid, aliases);
    timer::cancel_all(node, timers);
    for (monitor, target) in monitors {
        if let Some(target) = node.lookup(target) {
            target.lock().watchers.remove(&monitor);
        }
    }
    for linked in links {
        link::exit_signal(node, linked, pid, reason.clone(), link::Origin::Link);
    }
    for (monitor, watcher) in watchers {
        monitor::down(node, monitor, watcher, reason.clone());
    }
}
