//! The node: its name and creation, and the tables of its processes and names.

use std::future::Future;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use erlnode_dist::control::Control;
use erlnode_etf::{Atom, Pid, Ref, Term};

use crate::dist::{self, Distribution, NodeOptions, StartError};
use crate::process::alias;
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
    /// Set once by [`Node::start`]: the listener, EPMD registration and connections.
    dist: OnceLock<Arc<Distribution>>,
    name: Atom,
    creation: u32,
    table: ProcessTable,
    registry: Registry,
    refs: RefAlloc,
    timers: TimerTable,
    applications: crate::application::Controller,
    rpc: crate::rpc::Rpc,
    /// When the node was made, for its uptime.
    started: std::time::Instant,
}

impl Node {
    /// A node named `name` (`name@host`) with the creation `creation` (the incarnation number EPMD gives).
    pub fn new(name: &str, creation: u32) -> Result<Node, NodeError> {
        let valid = name.split_once('@').is_some_and(|(n, h)| !n.is_empty() && !h.is_empty());
        let atom = Atom::try_new(name).ok().filter(|_| valid).ok_or_else(|| NodeError::InvalidName(name.into()))?;
        Ok(Node {
            inner: Arc::new(Inner {
                dist: OnceLock::new(),
                name: atom,
                creation,
                table: ProcessTable::default(),
                registry: Registry::default(),
                refs: RefAlloc::new(atom, creation),
                timers: TimerTable::default(),
                applications: crate::application::Controller::default(),
                rpc: crate::rpc::Rpc::new(),
                started: std::time::Instant::now(),
            }),
        })
    }

    /// Starts a node that joins an Erlang cluster: it listens for distribution connections, registers with
    /// EPMD (starting one inside this process when none runs) and takes the creation EPMD gives, answers
    /// `net_adm:ping`, and connects to other nodes on first use. See [`NodeOptions`].
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use erlnode::{Node, NodeOptions};
    /// let node = Node::start(NodeOptions::new("rust").cookie("secret")).await?;
    /// println!("{} is up", node.name());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(options: NodeOptions) -> Result<Node, StartError> {
        crate::scheduler::tokio_handle().spawn(dist::start(options)).await.map_err(|_| StartError::Runtime)?
    }

    /// Connects to `node` (Erlang's `net_kernel:connect_node/1`): `true` once the connection is up.
    pub async fn connect(&self, node: Atom) -> bool {
        if node == self.inner.name {
            return true;
        }
        let this = self.clone();
        crate::scheduler::tokio_handle()
            .spawn(async move { dist::connect_node(&this, node).await })
            .await
            .unwrap_or(false)
    }

    /// Pings `node` as `net_adm:ping/1` does: connects if need be and asks its `net_kernel`; `true` for
    /// `pong`, `false` for `pang` (no connection, a wrong cookie, or no answer within `timeout`).
    pub async fn ping(&self, node: Atom, timeout: Duration) -> bool {
        if node == self.inner.name {
            return true;
        }
        // An unreachable node is pang at once, as in Erlang, not after the timeout.
        if !self.connect(node).await {
            return false;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = self.spawn(move |mut p| async move {
            let tag = p.make_ref();
            let from = Term::tuple(vec![Term::Pid(p.self_pid()), Term::Ref(tag)]);
            let request = Term::tuple(vec![Term::atom("is_auth"), Term::Atom(p.node().name())]);
            p.send_to_name_on(Atom::new("net_kernel"), node, Term::tuple(vec![Term::atom("$gen_call"), from, request]));
            let is_answer = |m: &Term| matches!(m.as_tuple(), Some([Term::Ref(r), _]) if *r == tag);
            let answer = p.recv_match_timeout(is_answer, timeout).await;
            let pong = answer.is_some_and(
                |m| matches!(m.as_tuple(), Some([_, yes]) if yes.as_atom().map(|a| a.as_str()) == Some("yes")),
            );
            tx.send(pong).ok();
            Ok(())
        });
        spawned.is_ok() && rx.await.unwrap_or(false)
    }

    /// The nodes this node has a connection with (Erlang's `nodes(connected)`), in no particular order.
    pub fn nodes(&self) -> Vec<Atom> {
        self.distribution().map(|d| d.connected()).unwrap_or_default()
    }

    /// The port this node accepts distribution connections on, if it was started with [`Node::start`].
    pub fn dist_port(&self) -> Option<u16> {
        self.distribution().map(|d| d.port())
    }

    /// The functions other nodes may call and spawn here (see [`crate::rpc`]).
    pub fn rpc(&self) -> &crate::rpc::Rpc {
        &self.inner.rpc
    }

    /// The node's applications (see [`crate::application`]).
    pub(crate) fn applications(&self) -> &crate::application::Controller {
        &self.inner.applications
    }

    pub(crate) fn set_distribution(&self, dist: Arc<Distribution>) {
        let _ = self.inner.dist.set(dist);
    }

    pub(crate) fn distribution(&self) -> Option<&Arc<Distribution>> {
        self.inner.dist.get()
    }

    /// A handle that does not keep the node alive.
    pub(crate) fn downgrade(&self) -> WeakNode {
        WeakNode(Arc::downgrade(&self.inner))
    }

    /// How long ago the node was made (Erlang's `statistics(wall_clock)`).
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
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

    /// Sends `message` to the process `to`, on this node or another (connecting to it first if need be);
    /// a message to a process that does not exist, or to a node that cannot be reached, is dropped, as
    /// in Erlang.
    pub fn send(&self, to: Pid, message: impl Into<Term>) {
        self.send_from(None, to, message.into());
    }

    /// [`Node::send`] on behalf of the local process `from` (the sender a remote node is told).
    pub(crate) fn send_from(&self, from: Option<Pid>, to: Pid, message: Term) {
        if self.is_local(to) {
            if self.inner.table.with(&to, |entry| entry.deliver(message)).is_none() {
                tracing::trace!(%to, "message to a process that does not exist dropped");
            }
        } else if to.node != self.inner.name {
            let control = match from {
                Some(from) => Control::SendSender { from, to },
                None => Control::Send { to },
            };
            dist::send(self, to.node, control, Some(message));
        }
    }

    /// Sends `message` to the process registered as `name` on the node `node` (Erlang's
    /// `{Name, Node} ! Message`); dropped when there is none.
    pub fn send_to_name_on(&self, name: Atom, node: Atom, message: impl Into<Term>) {
        self.send_name_from(self.node_pid(), name, node, message.into());
    }

    /// [`Node::send_to_name_on`] on behalf of the local process `from`.
    pub(crate) fn send_name_from(&self, from: Pid, name: Atom, node: Atom, message: Term) {
        if node == self.inner.name {
            if let Some(pid) = self.whereis(name) {
                self.send_from(Some(from), pid, message);
            }
        } else {
            dist::send(self, node, Control::RegSend { from, to: name }, Some(message));
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
        self.send_alias_from(self.node_pid(), alias, message.into());
    }

    /// [`Node::send_alias`] on behalf of the local process `from`.
    pub(crate) fn send_alias_from(&self, from: Pid, alias: Ref, message: Term) {
        if alias.node == self.inner.name {
            alias::send(self, alias, message);
        } else {
            dist::send(self, alias.node, Control::AliasSend { from, alias }, Some(message));
        }
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

    /// The name `pid` is registered under, and whether it runs an erlnode supervisor; `None` when it is not
    /// alive. Cheaper than [`Node::process_info`], for walking a supervision tree.
    pub(crate) fn name_and_kind(&self, pid: Pid) -> Option<(Option<Atom>, bool)> {
        self.lookup(pid).map(|entry| {
            let supervisor = entry.supervisor.load(std::sync::atomic::Ordering::Relaxed);
            (entry.lock().name, supervisor)
        })
    }

    /// Copies of the messages that arrived for `pid` since it last looked at its mailbox, oldest first;
    /// `None` when it is not alive. A receive moves everything that arrived to the process's own queue,
    /// which only the process reads: messages it has looked at and left are counted, not seen here.
    pub(crate) fn unread_messages(&self, pid: Pid) -> Option<Vec<Term>> {
        self.lookup(pid).map(|entry| entry.inbox.messages())
    }

    /// `true` when `pid` was made by this node in this incarnation.
    pub(crate) fn is_local(&self, pid: Pid) -> bool {
        pid.node == self.inner.name && pid.creation == self.inner.creation
    }

    /// How many times a registered name has changed holder (see [`Registry::changes`]).
    pub(crate) fn registry_changes(&self) -> u64 {
        self.inner.registry.changes()
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

    /// A fresh pid of this node that no process holds (see [`ProcessTable::reserve`]).
    pub(crate) fn reserve_pid(&self) -> Pid {
        let (name, creation) = (self.inner.name, self.inner.creation);
        self.inner.table.reserve(|id, serial| Pid::new(name, id, serial, creation))
    }

    /// Takes the process `pid` out of the table.
    pub(crate) fn remove_process(&self, pid: Pid) {
        self.inner.table.remove(&pid);
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// A new alias of the local process `pid` (see [`alias`]).
    pub(crate) fn make_alias_ref(&self, pid: Pid) -> Ref {
        self.inner.refs.make_alias(crate::process::table::number(&pid))
    }

    /// The local process with number `number`, whatever its pid's node and creation.
    pub(crate) fn lookup_number(&self, number: u32) -> Option<Arc<ProcEntry>> {
        self.inner.table.get_number(number)
    }

    pub(crate) fn timers(&self) -> &TimerTable {
        &self.inner.timers
    }
}

/// A [`Node`] handle that does not keep it alive (for tasks that should end with it).
#[derive(Debug, Clone)]
pub(crate) struct WeakNode(Weak<Inner>);

impl WeakNode {
    /// The node, if it still lives.
    pub(crate) fn upgrade(&self) -> Option<Node> {
        self.0.upgrade().map(|inner| Node { inner })
    }
}
