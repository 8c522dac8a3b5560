//! The context a process runs with: its pid, its mailbox, and the operations Erlang gives a process.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use erlnode_etf::{Atom, Pid, Ref, Term};

use super::mailbox::Mailbox;
use super::{ExitResult, LinkError, MonitorTarget, Parent, ProcEntry, RegisterError, SendError, SpawnError};
use super::{alias, exit, link, monitor, timer};
use crate::Node;

/// A running process, as its own code sees it: the value a spawned closure receives.
///
/// It owns the process's mailbox, so receiving takes `&mut self`; everything else takes `&self`. Dropping it
/// (by returning from the process's future) ends the process.
#[derive(Debug)]
pub struct Process {
    node: Node,
    /// The mailbox, which also holds the process's table entry.
    mailbox: Mailbox,
    /// The entry of the local process this one last sent to, so that a stream of sends to one process
    /// (a reply to a caller, a producer's output) skips the table.
    last_sent: Mutex<Option<Arc<ProcEntry>>>,
}

impl Process {
    pub(crate) fn new(node: Node, mailbox: Mailbox) -> Process {
        Process { node, mailbox, last_sent: Mutex::new(None) }
    }

    /// This process's entry in the node's table.
    pub(crate) fn entry(&self) -> &Arc<ProcEntry> {
        self.mailbox.entry()
    }

    /// This process's pid (Erlang's `self()`).
    pub fn self_pid(&self) -> Pid {
        self.entry().pid
    }

    /// The node this process runs on.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Sends `message` to `to` (Erlang's `To ! Message`). Like Erlang's, it never fails: a message to a
    /// process that does not exist is dropped. Messages from one process to another arrive in the order sent.
    pub fn send(&self, to: Pid, message: impl Into<Term>) {
        crate::scheduler::charge();
        let mut message = message.into();
        let mut last = self.last_sent.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = last.as_ref().filter(|entry| entry.pid == to) {
            // A closed inbox means the process ended; its pid may since have been reused (after 2^28
            // spawns), so the table decides.
            match entry.inbox.put(message) {
                Ok(()) => return,
                Err(back) => message = back,
            }
        }
        *last = self.node.lookup(to);
        match last.as_ref() {
            Some(entry) => entry.deliver(message),
            None => self.node.send_from(Some(self.self_pid()), to, message),
        }
    }

    /// Sends `message` to the process registered as `name`; fails like Erlang's `badarg` if there is none.
    pub fn send_named(&self, name: Atom, message: impl Into<Term>) -> Result<(), SendError> {
        self.node.send_named(name, message)
    }

    /// Runs `f` with the entry of the process this one sent to last, if any: a caller's server, which then
    /// needs no look-up in the process table. (Borrowed: only this process uses the cache, so holding its
    /// lock blocks nobody; `f` must not send from this process, which would take the lock again.)
    fn with_last_sent<R>(&self, f: impl FnOnce(Option<&Arc<ProcEntry>>) -> R) -> R {
        f(self.last_sent.lock().unwrap_or_else(PoisonError::into_inner).as_ref())
    }

    /// The oldest message in the mailbox, waiting for one.
    pub async fn recv(&mut self) -> Term {
        self.mailbox.recv().await
    }

    /// The oldest message, or `None` when none arrives within `timeout` (`after` in Erlang; a zero timeout
    /// only looks at what has arrived).
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<Term> {
        self.mailbox.recv_timeout(timeout).await
    }

    /// Selective receive: the oldest message for which `matches` is true, waiting for one. The messages it
    /// passes over stay in the mailbox, in order.
    pub async fn recv_match(&mut self, matches: impl FnMut(&Term) -> bool) -> Term {
        self.mailbox.recv_match(matches).await
    }

    /// [`Process::recv_match`] with a timeout: `None` when no matching message arrives in time.
    pub async fn recv_match_timeout(&mut self, matches: impl FnMut(&Term) -> bool, timeout: Duration) -> Option<Term> {
        self.mailbox.recv_match_timeout(matches, timeout).await
    }

    /// [`Process::recv_match_timeout`] with the deadline given (`None`: no deadline).
    pub(crate) async fn recv_match_until(
        &mut self,
        matches: impl FnMut(&Term) -> bool,
        deadline: Option<tokio::time::Instant>,
    ) -> Option<Term> {
        self.mailbox.recv_match_until(matches, deadline).await
    }

    /// The number of messages in the mailbox (Erlang's `message_queue_len`).
    pub fn mailbox_len(&self) -> usize {
        self.mailbox.len()
    }

    /// Spawns a process on this node (see [`Node::spawn`]).
    pub fn spawn<F, Fut>(&self, body: F) -> Result<Pid, SpawnError>
    where
        F: FnOnce(Process) -> Fut + Send + 'static,
        Fut: Future<Output = ExitResult> + Send + 'static,
    {
        super::spawn(&self.node, body, Parent::None)
    }

    /// Spawns a process linked to this one; the link exists before the new process runs.
    pub fn spawn_link<F, Fut>(&self, body: F) -> Result<Pid, SpawnError>
    where
        F: FnOnce(Process) -> Fut + Send + 'static,
        Fut: Future<Output = ExitResult> + Send + 'static,
    {
        super::spawn(&self.node, body, Parent::Link(self.entry()))
    }

    /// Spawns a process monitored by this one; the monitor exists before the new process runs.
    pub fn spawn_monitor<F, Fut>(&self, body: F) -> Result<(Pid, Ref), SpawnError>
    where
        F: FnOnce(Process) -> Fut + Send + 'static,
        Fut: Future<Output = ExitResult> + Send + 'static,
    {
        let monitor = self.node.make_ref();
        let pid = super::spawn(&self.node, body, Parent::Monitor(self.entry(), monitor))?;
        Ok((pid, monitor))
    }

    /// Registers this process as `name` (see [`Node::register`]).
    pub fn register(&self, name: Atom) -> Result<(), RegisterError> {
        self.node.register(name, self.self_pid())
    }

    /// Sets whether exit signals become `{'EXIT', From, Reason}` messages (Erlang's
    /// `process_flag(trap_exit, Flag)`); returns the old value.
    pub fn trap_exit(&self, trap: bool) -> bool {
        std::mem::replace(&mut self.entry().lock().trap_exit, trap)
    }

    /// Links this process with `other`. When `other` does not exist, a process that traps exits gets
    /// `{'EXIT', Other, noproc}` and `Ok`; one that does not gets [`LinkError::NoProc`] (Erlang raises
    /// `noproc`). Linking to oneself does nothing.
    pub fn link(&self, other: Pid) -> Result<(), LinkError> {
        link::link(&self.node, self.entry(), other)
    }

    /// Removes the link with `other`, if any. Afterwards the link has no effect on this process; an
    /// `{'EXIT', Other, _}` message delivered before the call stays in the mailbox.
    pub fn unlink(&self, other: Pid) {
        link::unlink(&self.node, self.entry(), other);
    }

    /// Sends the exit signal `reason` to `to` (Erlang's `exit(Pid, Reason)`): `kill` ends it with `killed`
    /// even if it traps exits; otherwise see the [link rules](crate::process::exit). An exit signal that ends
    /// this process itself takes effect at its next await point.
    pub fn exit(&self, to: Pid, reason: impl Into<Term>) {
        link::exit_signal(&self.node, to, self.self_pid(), reason.into(), link::Origin::Exit);
    }

    /// Monitors `target` (a [`Pid`] of any node, a registered name as an [`Atom`], or `(Name, Node)` for a
    /// name on another node, Erlang's `{Name, Node}`); returns the monitor's reference.
    /// The `DOWN` message comes at once, with reason `noproc`, if the target does not exist.
    pub fn monitor(&self, target: impl Into<MonitorTarget>) -> Ref {
        monitor::monitor(&self.node, self.entry(), target.into())
    }

    /// [`Process::monitor`] whose reference is also an alias of this process (Erlang's
    /// `monitor(process, Target, [{alias, demonitor}])`): messages sent to it with
    /// [`Process::send_alias`] arrive until the monitor is removed, fires, or the alias is
    /// [`unalias`](Process::unalias)ed. One reference serves for a request's reply and for its `DOWN`,
    /// which is how `gen_server:call` waits (see [`gen_server::call`](crate::gen_server::call)).
    pub fn monitor_alias(&self, target: impl Into<MonitorTarget>) -> Ref {
        self.with_last_sent(|known| monitor::monitor_alias(&self.node, self.entry(), target.into(), known))
    }

    /// Removes the monitor `monitor` (Erlang's `demonitor/1`); `true` if it was still active. No `DOWN`
    /// message for it arrives afterwards, but one may have arrived before.
    pub fn demonitor(&self, monitor: Ref) -> bool {
        self.with_last_sent(|known| monitor::demonitor(&self.node, self.entry(), monitor, known))
    }

    /// Removes the monitor and also the `DOWN` message it may have delivered already
    /// (`demonitor(Ref, [flush])`); `true` if the monitor was still active.
    pub fn demonitor_flush(&mut self, monitor: Ref) -> bool {
        let active = self.with_last_sent(|known| monitor::demonitor(&self.node, self.entry(), monitor, known));
        // An active monitor had not fired, and now cannot: there is no DOWN to look for.
        if !active {
            self.mailbox.take_delivered(|m| exit::is_down_of(m, &monitor));
        }
        active
    }

    /// A new reference (Erlang's `make_ref()`).
    pub fn make_ref(&self) -> Ref {
        self.node.make_ref()
    }

    /// Makes an alias for this process (Erlang's `alias()`): a reference whose messages, sent with
    /// [`Process::send_alias`] or [`Node::send_alias`], reach this process until [`Process::unalias`] or the
    /// end of this process. See [`alias`](crate::process::alias).
    pub fn alias(&self) -> Ref {
        alias::alias(&self.node, self.entry(), alias::Mode::Explicit)
    }

    /// Makes a one-shot alias (Erlang's `alias([reply])`): like [`Process::alias`], but the first message
    /// sent to it deactivates it, so later ones are dropped.
    pub fn alias_reply(&self) -> Ref {
        alias::alias(&self.node, self.entry(), alias::Mode::Reply)
    }

    /// Deactivates the alias `alias` (Erlang's `unalias/1`); `true` if it was an active alias of this
    /// process. Messages sent to it afterwards are dropped; ones already delivered stay in the mailbox.
    pub fn unalias(&self, alias: Ref) -> bool {
        alias::unalias(self.entry(), alias)
    }

    /// Sends `message` to the process that holds the alias `alias` (Erlang's `Alias ! Message`); dropped if
    /// the alias is not active.
    pub fn send_alias(&self, alias: Ref, message: impl Into<Term>) {
        self.node.send_alias_from(self.self_pid(), alias, message.into());
    }

    /// [`Process::send_alias`] of an answer to `caller`, who made `alias` as far as its call said. The
    /// caller is kept as the process this one sent to last, as [`Process::send`] keeps it: a server
    /// answers the same client again and again.
    pub(crate) fn answer_alias(&self, caller: Pid, alias: Ref, message: Term) {
        crate::scheduler::charge();
        let mut message = message;
        if alias::owner_number(&self.node, &alias) == Some(crate::process::table::number(&caller)) {
            let mut last = self.last_sent.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(entry) = last.as_ref().filter(|entry| entry.pid == caller) {
                // An entry that has ended may be an older process with the same pid: the table decides.
                match alias::deliver(entry, alias, message) {
                    Ok(()) => return,
                    Err(back) => message = back,
                }
            }
            *last = self.node.lookup(caller);
            if let Some(entry) = last.as_ref() {
                let _ = alias::deliver(entry, alias, message);
                return;
            }
        }
        self.node.send_alias_from(self.self_pid(), alias, message);
    }

    /// Monitors the node `node` (Erlang's `monitor_node(Node, true)`): `{nodedown, Node}` arrives when the
    /// connection to it goes down, or at once when it cannot be made. Each call adds one monitor; with
    /// `on` false, one is removed.
    pub fn monitor_node(&self, node: Atom, on: bool) {
        self.entry().lock().ties().node_monitors = true;
        crate::dist::monitor_node(&self.node, self.self_pid(), node, on);
    }

    /// Subscribes to every node connection coming up or going down (Erlang's
    /// `net_kernel:monitor_nodes(true)`): `{nodeup, Node}` and `{nodedown, Node}` messages.
    pub fn monitor_nodes(&self, on: bool) {
        self.entry().lock().ties().node_monitors = true;
        crate::dist::monitor_nodes(&self.node, self.self_pid(), on);
    }

    /// Answers a `gen_server:call` (`{'$gen_call', From, Request}`) whose `From` is `from` with `reply`,
    /// as `gen_server:reply/2` does: `{Tag, Reply}` to the caller's alias when its tag carries one (OTP 24+
    /// callers), else to its pid.
    pub fn reply(&self, from: &Term, reply: impl Into<Term>) {
        super::call::reply(self, from, reply.into());
    }

    /// Sends `message` to the process registered as `name` on the node `node` (Erlang's
    /// `{Name, Node} ! Message`); dropped when there is none, as in Erlang.
    pub fn send_to_name_on(&self, name: Atom, node: Atom, message: impl Into<Term>) {
        crate::scheduler::charge();
        self.node.send_name_from(self.self_pid(), name, node, message.into());
    }

    /// Sends `message` to `to` after `delay` (Erlang's `erlang:send_after/3`); returns the timer's reference.
    /// The timer is cancelled if `to` is not alive or ends first. See [`timer`](crate::process::timer).
    pub fn send_after(&self, delay: Duration, to: Pid, message: impl Into<Term>) -> Ref {
        timer::send_after(&self.node, delay, to, message.into())
    }

    /// Cancels the timer `timer` (Erlang's `erlang:cancel_timer/1`): the time it had left, or `None` if it
    /// has fired, was cancelled, or never existed.
    pub fn cancel_timer(&self, timer: Ref) -> Option<Duration> {
        self.node.cancel_timer(timer)
    }
}
