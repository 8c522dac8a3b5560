//! Introspection: what `process_info/1` tells about a process, for observers and debugging.
//!
//! The fields are a snapshot: each is read under the process's own lock or from its mailbox counters, and
//! the process may change right after.

use std::sync::atomic::Ordering;

use erlnode_etf::{Atom, Pid, Ref};

use super::{ProcEntry, Ties};

/// What a process is doing (a subset of Erlang's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Blocked in a receive with no message to take (Erlang's `waiting`).
    Waiting,
    /// Anything else: running, runnable, or awaiting something other than its mailbox (Erlang would say
    /// `running` or `runnable`; a task does not tell the two apart).
    Running,
    /// Ending: exit signals to its links and monitors are on their way (Erlang's `exiting`).
    Exiting,
}

/// A snapshot of one process (Erlang's `process_info/1`, the parts this runtime has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// The process.
    pub pid: Pid,
    /// Its registered name (`registered_name`).
    pub registered_name: Option<Atom>,
    /// Messages delivered and not yet received (`message_queue_len`).
    pub message_queue_len: usize,
    /// Messages it has taken out of its mailbox so far, by any receive (no Erlang counterpart).
    pub messages_received: u64,
    /// Its reductions (`reductions`): one each time it ran (each poll of its future) and one for each
    /// message it sent. The BEAM counts function calls, which a Rust process has no counterpart of; this
    /// count tells busy processes from idle ones as the BEAM's does, not the same numbers.
    pub reductions: u64,
    /// The processes it is linked with (`links`), sorted.
    pub links: Vec<Pid>,
    /// The monitors it holds, as reference and monitored pid (`monitors`), sorted.
    pub monitors: Vec<(Ref, Pid)>,
    /// The processes that monitor it (`monitored_by`), sorted; one entry per monitor.
    pub monitored_by: Vec<Pid>,
    /// Whether it traps exits (`trap_exit`).
    pub trap_exit: bool,
    /// What it is doing (`status`).
    pub status: Status,
    /// Its active aliases, sorted.
    pub aliases: Vec<Ref>,
    /// An estimate of its memory in bytes (`memory`): the table entry and state, the capacity of its link,
    /// monitor, alias and timer tables, the size of its future as spawned (the closure and its async state
    /// machine; memory the future allocates on the heap afterwards is not seen), and the approximate size
    /// of each message waiting in its mailbox (its top level only: a term slot, its elements' slots, and
    /// binary or big-integer bytes; nested payloads are not walked, since that would cost every send).
    pub memory: usize,
}

/// The snapshot of the process of `entry`.
pub(crate) fn process_info(entry: &ProcEntry) -> ProcessInfo {
    let state = entry.lock();
    let none = Ties::default();
    let ties = state.ties.as_deref().unwrap_or(&none);
    let mut links: Vec<Pid> = ties.links.iter().copied().collect();
    links.sort_unstable();
    let mut monitors: Vec<(Ref, Pid)> = ties.monitors.iter().map(|(r, held)| (*r, held.target)).collect();
    monitors.sort_unstable();
    let mut monitored_by: Vec<Pid> = ties.watchers.values().map(|w| w.pid).collect();
    monitored_by.sort_unstable();
    let monitor_aliases = ties.monitors.iter().filter(|(_, held)| held.alias).map(|(r, _)| *r);
    let name_aliases = ties.remote_names.iter().filter(|(_, held)| held.alias).map(|(r, _)| *r);
    let mut aliases: Vec<Ref> = ties.aliases.keys().copied().chain(monitor_aliases).chain(name_aliases).collect();
    aliases.sort_unstable();
    let status = if !state.alive {
        Status::Exiting
    } else if entry.stats.waiting.load(Ordering::Relaxed) {
        Status::Waiting
    } else {
        Status::Running
    };
    let tables = state.ties.as_ref().map_or(0, |_| std::mem::size_of::<Ties>())
        + ties.links.capacity() * std::mem::size_of::<Pid>()
        + ties.monitors.capacity() * std::mem::size_of::<(Ref, super::monitor::Held<Pid>)>()
        + ties.watchers.capacity() * std::mem::size_of::<(Ref, super::Watcher)>()
        + ties.aliases.capacity() * std::mem::size_of::<(Ref, super::alias::Mode)>()
        + ties.timers.capacity() * std::mem::size_of::<Ref>();
    let memory = std::mem::size_of::<ProcEntry>() + tables + entry.future_size + entry.queued_bytes();
    ProcessInfo {
        pid: entry.pid,
        registered_name: state.name,
        message_queue_len: entry.queue_len(),
        messages_received: entry.stats.received.load(Ordering::Relaxed),
        reductions: entry.stats.reductions.load(Ordering::Relaxed),
        links,
        monitors,
        monitored_by,
        trap_exit: state.trap_exit,
        status,
        aliases,
        memory,
    }
}
