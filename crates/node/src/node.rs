//! The node: its name and creation, and the tables of its processes and names.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use erlnode_etf::{Atom, Pid, Ref, Term};

use crate::process::alias::{self, AliasTable};
use crate::process::info::{self, ProcessInfo};
use crate::process::ref_alloc::RefAlloc;
use crate::process::registry::Registry;
use crate::process::table::ProcessTable;
use crate::process::timer::{self, TimerTable};
use crate::process::{
    self, ExitResult, Parent, ProcEntry, Process, RegisterError, SendError, SpawnError, UnregisterError,
};

/// Why a node could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// The name is not `name@host` with both parts non-empty, or is not a valid atom.
    #[error("invalid node name {0:?}: expected name@host")]
    InvalidName(String),
}

/// An Erlang node: a name, a creation, and the processes that run on it.
///
/// `Node` is a cheap handle; clones share the node. Pids and references it makes carry its name and creation.
#[derive(Debug, Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: Atom,
    creation: u32,
    table: ProcessTable,
    registry: Registry,
    refs: RefAlloc,
    aliases: AliasTable,
    timers: TimerTable,
}

impl Node {
    /// A node named `name` (`name@host`) with the creation `creation` (the incarnation number EPMD gives).
    pub fn new(name: &str, creation: u32) -> Result<Node, NodeError> {
        let valid = name.split_once('@').is_some_and(|(n, h)| !n.is_empty() && !h.is_empty());
        let atom = Atom::try_new(name).ok().filter(|_| valid).ok_or_else(|| NodeError::InvalidName(name.into()))?;
        Ok(Node {
            inner: Arc::new(Inner {
                name: atom,
                creation,
                table: ProcessTable::default(),
                registry: Registry::default(),
                refs: RefAlloc::new(atom, creation),
                aliases: AliasTable::default(),
                timers: TimerTable::default(),
            }),
        })
    }

    /// The node's name.
    pub fn name(&self) -> Atom {
        self.inner.name
    }

    /// The node's creation.
    pub fn creation(&self) -> u32 {
        self.inner.creation
    }

    /// Spawns a process running the future that `body` returns; the process ends when the future returns
    /// (`Ok(())` with reason `normal`, `Err(reason)` with `reason`), panics (reason `{panic, <<"message">>}`;
    /// the node lives on), or is killed by an exit signal. Processes run on erlnode's schedulers (see
    /// [`scheduler`](crate::scheduler)), so no tokio runtime is needed to call this.
    ///
    /// To tie the new process to the spawner, spawn from a [`Process`] with [`Process::spawn_link`] or
    /// [`Process::spawn_monitor`].
    pub fn spawn<F, Fut>(&self, body: F) -> Result<Pid, SpawnError>
    where
        F: FnOnce(Process) -> Fut + Send + 'static,
        Fut: Future<Output = ExitResult> + Send + 'static,
    {
        process::spawn(self, body, Parent::None)
    }

    /// Sends `message` to the process `to`; a message to a process that does not exist is dropped, as in
    /// Erlang. Pids of other nodes are dropped too until distribution exists.
    pub fn send(&self, to: Pid, message: impl Into<Term>) {
        let message = message.into();
        if !self.is_local(to) || self.inner.table.with(&to, |entry| entry.deliver(message)).is_none() {
            tracing::trace!(%to, "message to a process that does not exist dropped");
        }
    }

    /// Sends `message` to the process registered as `name`.
    pub fn send_named(&self, name: Atom, message: impl Into<Term>) -> Result<(), SendError> {
        let pid = self.whereis(name).ok_or(SendError::NotRegistered(name))?;
        self.send(pid, message);
        Ok(())
    }

    /// Registers the process `pid` as `name`, with Erlang's rules (see [`RegisterError`]).
    pub fn register(&self, name: Atom, pid: Pid) -> Result<(), RegisterError> {
        self.inner.registry.register(self, name, pid)
    }

    /// Removes the name `name`.
    pub fn unregister(&self, name: Atom) -> Result<(), UnregisterError> {
        self.inner.registry.unregister(self, name)
    }

    /// The process registered as `name`, if any.
    pub fn whereis(&self, name: Atom) -> Option<Pid> {
        self.inner.registry.whereis(name)
    }

    /// The registered names (Erlang's `registered()`), in no particular order.
    pub fn registered(&self) -> Vec<Atom> {
        self.inner.registry.names()
    }

    /// `true` while `pid` is a live process of this node (Erlang's `is_process_alive/1`).
    pub fn is_alive(&self, pid: Pid) -> bool {
        self.lookup(pid).is_some_and(|entry| entry.lock().alive)
    }

    /// The pids of the live processes (Erlang's `processes()`), in no particular order.
    pub fn processes(&self) -> Vec<Pid> {
        self.inner.table.pids()
    }

    /// A new reference of this node (Erlang's `make_ref()`).
    pub fn make_ref(&self) -> Ref {
        self.inner.refs.make()
    }

    /// The pid that stands for the node itself, `<node.0.0>` (no process ever has it, as `<0.0.0>` is
    /// `init` on the BEAM): the sender of exit signals sent with [`Node::exit`].
    pub fn node_pid(&self) -> Pid {
        Pid::new(self.inner.name, 0, 0, self.inner.creation)
    }

    /// Sends the exit signal `reason` to `to` from outside any process (Erlang's `exit(Pid, Reason)` with
    /// the node as the caller). The sender is [`Node::node_pid`]: a process that traps exits gets
    /// `{'EXIT', <node.0.0>, Reason}`; otherwise the rules of [`Process::exit`] apply (`kill` ends it with
    /// `killed`, `normal` is ignored, any other reason ends it with that reason).
    pub fn exit(&self, to: Pid, reason: impl Into<Term>) {
        process::exit_signal(self, to, self.node_pid(), reason.into());
    }

    /// Sends `message` to the process that holds the alias `alias` (Erlang's `Alias ! Message`). A message
    /// to an alias that is not active (never made, deactivated, its process ended, made on another node) is
    /// dropped, as in Erlang.
    pub fn send_alias(&self, alias: Ref, message: impl Into<Term>) {
        alias::send(self, alias, message.into());
    }

    /// Sends `message` to `to` after `delay` (Erlang's `erlang:send_after/3`), for code outside processes;
    /// returns the timer's reference. The timer is cancelled if `to` is not alive or ends first.
    pub fn send_after(&self, delay: Duration, to: Pid, message: impl Into<Term>) -> Ref {
        timer::send_after(self, delay, to, message.into())
    }

    /// Cancels the timer `timer` (Erlang's `erlang:cancel_timer/1`): the time it had left, or `None` if it
    /// has fired, was cancelled (also by the end of its destination), or never existed.
    pub fn cancel_timer(&self, timer: Ref) -> Option<Duration> {
        self.inner.timers.cancel(&timer)
    }

    /// The time the timer `timer` has left (Erlang's `erlang:read_timer/1`), or `None` as for
    /// [`Node::cancel_timer`].
    pub fn read_timer(&self, timer: Ref) -> Option<Duration> {
        self.inner.timers.read(&timer)
    }

    /// What the process `pid` is doing and holds (Erlang's `process_info/1`), or `None` when it is not a
    /// process of this node or has ended. A process caught while ending shows [`Status::Exiting`](crate::Status).
    /// See [`ProcessInfo`] for each field and how memory is estimated.
    pub fn process_info(&self, pid: Pid) -> Option<ProcessInfo> {
        self.lookup(pid).map(|entry| info::process_info(&entry))
    }

    /// `true` when `pid` was made by this node in this incarnation.
    pub(crate) fn is_local(&self, pid: Pid) -> bool {
        pid.node == self.inner.name && pid.creation == self.inner.creation
    }

    /// The entry of the local process `pid`.
    pub(crate) fn lookup(&self, pid: Pid) -> Option<Arc<ProcEntry>> {
        if !self.is_local(pid) {
            return None;
        }
        self.inner.table.get(&pid)
    }

    /// Allocates a pid and puts the entry `make` builds for it in the table.
    pub(crate) fn insert_process(
        &self,
        make: impl FnOnce(Pid) -> Arc<ProcEntry>,
    ) -> Result<Arc<ProcEntry>, SpawnError> {
        let (name, creation) = (self.inner.name, self.inner.creation);
        self.inner.table.insert(|id, serial| Pid::new(name, id, serial, creation), make)
    }

    /// Takes the process `pid` out of the table.
    pub(crate) fn remove_process(&self, pid: Pid) {
        self.inner.table.remove(&pid);
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub(crate) fn aliases(&self) -> &AliasTable {
        &self.inner.aliases
    }

    pub(crate) fn timers(&self) -> &TimerTable {
        &self.inner.timers
    }
}
