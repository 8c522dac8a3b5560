//! Processes: spawning, the process table entry, and what happens when a process ends.
//!
//! A process is a task on erlnode's [schedulers](crate::scheduler) running the future its closure
//! returned, raced against a one-shot kill notification (a field of its `State`, set once, with the task's
//! waker beside it, and an atomic flag for the task to check without the lock), so that an exit signal
//! takes effect at the process's next await point whether or not it is receiving. The future is wrapped so
//! that a panic is caught and becomes the exit reason.
//!
//! # Shared state and locks
//! Each process has an entry in the node's table: its pid, the shared side of its mailbox (see the `mailbox` module),
//! and a small `State` behind a mutex (alive flag, trap_exit, registered name, the kill notification, and,
//! created with the first of them, its `Ties`: links, monitors both ways, aliases and timers). An idle
//! process allocates nothing beyond its entry, its mailbox's shared side and its task. Locks are held only
//! for a few map operations and never across an await. Lock order: the name registry before a process
//! state; never two process states at once; a process's last-send cache, then a process table shard (held
//! only around a lookup, an insert or a delivery), then a mailbox's queue lock, which is a leaf apart from
//! the schedulers' run-queue locks taken by a wake-up (those are leaves: nothing is locked under them). Operations
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
mod body;
pub(crate) mod call;
mod context;
pub mod exit;
pub mod info;
mod link;
mod mailbox;
pub(crate) mod monitor;
pub(crate) mod pid_alloc;
pub(crate) mod ref_alloc;
pub(crate) mod registry;
mod remote;
pub(crate) mod table;
pub mod timer;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use erlnode_etf::{Atom, Pid, Ref, Term};

pub use context::Process;
pub use exit::ExitResult;
pub use link::LinkError;
pub use monitor::MonitorTarget;
pub use registry::{RegisterError, SendError, UnregisterError};
pub(crate) use remote::{
    lose_peer, remote_demonitor, remote_down, remote_exit, remote_link, remote_monitor, remote_unlink, tie,
};

use crate::Node;
use crate::hash::{NumberMap, NumberSet};
use crate::small_map::SmallMap;
use body::Body;
use mailbox::{Inbox, Mailbox, Stats};

/// Why a process could not be spawned (Erlang raises `system_limit` for the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// The node already runs its maximum number of processes.
    #[error("system_limit: the node runs {0} processes, its maximum")]
    SystemLimit(usize),
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
    /// Links, monitors, aliases and timers: created with the first of them (most processes have none).
    pub(crate) ties: Option<Box<Ties>>,
    /// Fired by the first exit signal that kills the process.
    kill: Kill,
}

/// What ties a process to others: its links, monitors both ways, aliases, and the timers aimed at it.
#[derive(Debug, Default)]
pub(crate) struct Ties {
    pub(crate) links: NumberSet<Pid>,
    /// Monitors this process holds: reference to target.
    pub(crate) monitors: SmallMap<Ref, monitor::Held<Pid>>,
    /// Monitors this process holds on registered names of other nodes: reference to `(Name, Node)`.
    pub(crate) remote_names: NumberMap<Ref, monitor::Held<(Atom, Atom)>>,
    /// Monitors held on this process.
    pub(crate) watchers: SmallMap<Ref, Watcher>,
    /// Active aliases this process made, and until when each stays active.
    pub(crate) aliases: NumberMap<Ref, alias::Mode>,
    /// Pending timers aimed at this process.
    pub(crate) timers: NumberSet<Ref>,
    /// Spawn requests this process made that are not answered yet: the node asked, and which answers the
    /// process wants as messages.
    pub(crate) spawn_requests: NumberMap<Ref, crate::rpc::spawn::Pending>,
    /// True once the process has called `monitor_node` or `monitor_nodes` (its end must forget them).
    pub(crate) node_monitors: bool,
}

/// The kill notification of a process: set once, by the first exit signal that kills it.
#[derive(Debug)]
enum Kill {
    /// Not fired yet; the waker of the process's task once it has run.
    Armed(Option<Waker>),
    /// Fired with this reason, not yet seen by the task (boxed: most processes are never killed).
    Fired(Box<Term>),
    /// Seen by the task, or the process has ended.
    Done,
}

impl State {
    /// The state of a process that has just been spawned.
    fn new() -> State {
        State { alive: true, trap_exit: false, name: None, ties: None, kill: Kill::Armed(None) }
    }

    /// The process's ties, created empty if it has none yet.
    pub(crate) fn ties(&mut self) -> &mut Ties {
        self.ties.get_or_insert_default()
    }

    /// The process's ties, if it has had any (for removals, which need not create them).
    pub(crate) fn ties_if_any(&mut self) -> Option<&mut Ties> {
        self.ties.as_deref_mut()
    }

    /// Ends the process with `reason` at its next await point, unless an earlier signal already did;
    /// `killed` is the process's flag that its task reads on each poll.
    pub(crate) fn kill(&mut self, killed: &AtomicBool, reason: Term) {
        if let Kill::Armed(waker) = &mut self.kill {
            // Dead from here on for everyone (is_process_alive, link, monitor, register), as in Erlang,
            // where a signal's sender sees its effect; the task winds down at its next await point.
            self.alive = false;
            let waker = waker.take();
            self.kill = Kill::Fired(Box::new(reason));
            killed.store(true, Ordering::Release);
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// The kill reason once the process has been killed; until then, remembers the task to wake.
    fn poll_kill(&mut self, cx: &mut Context<'_>) -> Poll<Term> {
        match &mut self.kill {
            Kill::Armed(slot) => {
                match slot {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Kill::Fired(_) => match std::mem::replace(&mut self.kill, Kill::Done) {
                Kill::Fired(reason) => Poll::Ready(*reason),
                _ => Poll::Pending,
            },
            Kill::Done => Poll::Pending,
        }
    }
}

/// A process's entry in the node's table.
///
/// In declared order (`repr(C)`), so that the mailbox's queue, which every sender locks, and the counters,
/// which the receiver writes on every receive, are more than a cache line apart.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct ProcEntry {
    /// The shared side of the mailbox.
    pub(crate) inbox: Inbox,
    pub(crate) pid: Pid,
    state: Mutex<State>,
    /// Set (under the state lock) when an exit signal kills the process: read without the lock on every poll.
    pub(crate) killed: AtomicBool,
    /// The size of the process's future when it was spawned (its state machine, not what it allocates).
    pub(crate) future_size: usize,
    /// The mailbox's counters, written by the receiver.
    pub(crate) stats: Stats,
    /// Set when the process runs an erlnode supervisor: tools that walk supervision trees (observer's
    /// Applications tab) ask only these for their children, since a child's declared type is only a label.
    pub(crate) supervisor: AtomicBool,
}

impl ProcEntry {
    /// The entry of a new process `pid` with `state`.
    fn new(pid: Pid, state: State, future_size: usize) -> ProcEntry {
        ProcEntry {
            inbox: Inbox::default(),
            pid,
            state: Mutex::new(state),
            killed: AtomicBool::new(false),
            future_size,
            stats: Stats::default(),
            supervisor: AtomicBool::new(false),
        }
    }

    /// The process's state, locked (a panic elsewhere does not make it unusable).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `message` in the mailbox (dropped once the process has gone).
    pub(crate) fn deliver(&self, message: Term) {
        let _ = self.inbox.put(message);
    }

    /// Kills the process with `reason` (see [`State::kill`]); `state` is this entry's state, locked.
    pub(crate) fn kill(&self, state: &mut State, reason: Term) {
        state.kill(&self.killed, reason);
    }

    /// The number of messages delivered and not yet received (`message_queue_len`).
    pub(crate) fn queue_len(&self) -> usize {
        self.inbox.len() + self.stats.taken_len()
    }

    /// The approximate bytes of the messages delivered and not yet received.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.inbox.bytes() + self.stats.taken_bytes()
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
    /// Asked for by a spawn request of `pid` (usually on another node): linked to it if `link`, watched
    /// by it with the monitor `monitor`; `announce` tells the requester the new pid before the process
    /// first runs, so the answer goes out ahead of anything the process sends.
    Requester { pid: Pid, link: bool, monitor: Option<Ref>, announce: &'a dyn Fn(Pid) },
}

/// Sends the exit signal `reason` from `from` to `to`, as `exit(To, Reason)` does.
pub(crate) fn exit_signal(node: &Node, to: Pid, from: Pid, reason: Term) {
    link::exit_signal(node, to, from, reason, link::Origin::Exit);
}

/// Sends the exit signal `reason` from `from` to `to` through their link.
pub(crate) fn exit_signal_via_link(node: &Node, to: Pid, from: Pid, reason: Term) {
    link::exit_signal(node, to, from, reason, link::Origin::Link);
}

/// Spawns a process on `node` running `body`, tied to `parent` before it first runs.
pub(crate) fn spawn<F, Fut>(node: &Node, body: F, parent: Parent<'_>) -> Result<Pid, SpawnError>
where
    F: FnOnce(Process) -> Fut + Send + 'static,
    Fut: Future<Output = ExitResult> + Send + 'static,
{
    let future_size = std::mem::size_of::<F>() + std::mem::size_of::<Fut>();
    let entry = node.insert_process(|pid| {
        let mut state = State::new();
        match &parent {
            Parent::None => {}
            Parent::Link(p) => {
                state.ties().links.insert(p.pid);
            }
            Parent::Monitor(p, r) => {
                state.ties().watchers.insert(*r, Watcher { pid: p.pid, object: Term::Pid(pid) });
            }
            Parent::Requester { pid: requester, link, monitor, .. } => {
                if *link {
                    state.ties().links.insert(*requester);
                }
                if let Some(r) = monitor {
                    state.ties().watchers.insert(*r, Watcher { pid: *requester, object: Term::Pid(pid) });
                }
            }
        }
        Arc::new(ProcEntry::new(pid, state, future_size))
    })?;
    let pid = entry.pid;
    // The parent's side is in place before the child can run, so the child's end always finds it.
    match parent {
        Parent::None => {}
        Parent::Link(p) => {
            p.lock().ties().links.insert(pid);
        }
        Parent::Monitor(p, r) => {
            p.lock().ties().monitors.insert(r, monitor::Held::plain(pid));
        }
        Parent::Requester { announce, .. } => announce(pid),
    }
    let process = Process::new(node.clone(), Mailbox::new(Arc::clone(&entry)));
    crate::scheduler::spawn_boxed(Box::pin(run(node.clone(), entry, async move { body(process).await })));
    tracing::trace!(%pid, "spawned");
    Ok(pid)
}

/// Runs a process to its end and then tells its links and monitors.
async fn run(node: Node, entry: Arc<ProcEntry>, body: impl Future<Output = ExitResult>) {
    let body = std::pin::pin!(body);
    let reason = Body::new(&entry, body).await;
    finish(&node, &entry, reason);
}

/// Ends the process of `entry` with `reason`: see the module documentation for the order of the steps.
fn finish(node: &Node, entry: &ProcEntry, reason: Term) {
    let pid = entry.pid;
    tracing::trace!(%pid, %reason, "exited");
    let (name, ties) = {
        let mut state = entry.lock();
        state.alive = false;
        state.kill = Kill::Done;
        let mut ties = state.ties.take().map(|ties| *ties).unwrap_or_default();
        // Under the lock: an answer that finds this process ended also finds its exit reason kept.
        crate::rpc::spawn::requester_ended(node, std::mem::take(&mut ties.spawn_requests), &reason);
        (state.name.take(), ties)
    };
    // Aliases die with the ties: a send to one finds no table that holds it.
    let Ties { links, monitors, remote_names, watchers, aliases: _, timers, node_monitors, spawn_requests: _ } = ties;
    if node_monitors {
        crate::dist::forget_node_monitors(node, pid);
    }
    for (monitor, monitor::Held { target: (name, on), .. }) in remote_names {
        let control = erlnode_dist::control::Control::DemonitorP {
            from: pid,
            to: erlnode_dist::control::Proc::Name(name),
            reference: monitor,
        };
        crate::dist::send(node, on, control, None);
    }
    node.remove_process(pid);
    if let Some(name) = name {
        node.registry().release(name, pid);
    }
    timer::cancel_all(node, timers);
    for (monitor, monitor::Held { target, .. }) in monitors {
        if !node.is_local(target) {
            if target.node != node.name() {
                let control = erlnode_dist::control::Control::DemonitorP {
                    from: pid,
                    to: erlnode_dist::control::Proc::Pid(target),
                    reference: monitor,
                };
                crate::dist::send(node, target.node, control, None);
            }
            continue;
        }
        if let Some(target) = node.lookup(target) {
            if let Some(ties) = target.lock().ties_if_any() {
                ties.watchers.remove(&monitor);
            }
        }
    }
    // The last signal takes the reason itself (most processes have one link or monitor, or none).
    let mut left = links.len() + watchers.len();
    let mut reason = Some(reason);
    let mut next_reason = || {
        left -= 1;
        if left == 0 { reason.take() } else { reason.clone() }.unwrap_or_default()
    };
    for linked in links {
        link::exit_signal(node, linked, pid, next_reason(), link::Origin::Link);
    }
    for (monitor, watcher) in watchers {
        monitor::down(node, monitor, watcher, next_reason());
    }
}
