//! Aliases (OTP 24): references that a process makes so that messages sent to them reach it.
//!
//! An alias is an ordinary reference of this node, kept in the node's alias table with the process that
//! made it. A message sent to an active alias goes to that process's mailbox, in order with its other
//! messages from the same sender; a message sent to an alias that was never made, was deactivated, belongs to
//! a process that ended, or was made on another node is dropped without a trace, as in Erlang. Only the
//! process that made an alias can deactivate it ([`Process::unalias`](crate::Process::unalias)). A one-shot
//! alias ([`Process::alias_reply`](crate::Process::alias_reply), Erlang's `alias([reply])`) is deactivated by
//! the first message sent to it.
//!
//! # Locks
//! The alias table lock is never held together with a process state lock. The process's own set of aliases
//! (so that they die with it) is changed after the table on creation and before it on removal, and a process
//! found ending on creation takes its fresh alias back out of the table.

use std::collections::hash_map::Entry;
use std::sync::{Mutex, MutexGuard, PoisonError};

use erlnode_etf::{Pid, Ref, Term};

use super::ProcEntry;
use crate::Node;
use crate::hash::NumberMap;

/// How long an alias stays active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Until `unalias` or the end of its process.
    Explicit,
    /// Also until the first message sent to it.
    Reply,
}

/// The active aliases of one node: alias to the process that made it.
#[derive(Debug, Default)]
pub(crate) struct AliasTable {
    aliases: Mutex<NumberMap<Ref, (Pid, Mode)>>,
}

impl AliasTable {
    fn lock(&self) -> MutexGuard<'_, NumberMap<Ref, (Pid, Mode)>> {
        self.aliases.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes `alias` of `pid`; `true` if it was active.
    pub(crate) fn remove(&self, alias: &Ref, pid: Pid) -> bool {
        let mut aliases = self.lock();
        if aliases.get(alias).is_some_and(|&(owner, _)| owner == pid) {
            aliases.remove(alias);
            true
        } else {
            false
        }
    }

    /// The number of active aliases (for tests and introspection).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Makes an alias for `me`; `reply` makes it one-shot.
pub(crate) fn alias(node: &Node, me: &ProcEntry, reply: bool) -> Ref {
    let alias = node.make_ref();
    let mode = if reply { Mode::Reply } else { Mode::Explicit };
    node.aliases().lock().insert(alias, (me.pid, mode));
    let mut state = me.lock();
    if state.alive {
        state.ties().aliases.insert(alias);
    } else {
        drop(state);
        node.aliases().remove(&alias, me.pid);
    }
    alias
}

/// Deactivates the alias `alias` of `me`; `true` if it was active.
pub(crate) fn unalias(node: &Node, me: &ProcEntry, alias: Ref) -> bool {
    if !me.lock().ties_if_any().is_some_and(|ties| ties.aliases.remove(&alias)) {
        return false;
    }
    node.aliases().remove(&alias, me.pid)
}

/// Sends `message` to the process that holds the alias `alias`, or drops it.
pub(crate) fn send(node: &Node, alias: Ref, message: Term) {
    let target = {
        let mut aliases = node.aliases().lock();
        match aliases.entry(alias) {
            Entry::Occupied(found) if found.get().1 == Mode::Reply => Some((found.remove().0, true)),
            Entry::Occupied(found) => Some((found.get().0, false)),
            Entry::Vacant(_) => None,
        }
    };
    let Some((pid, used_up)) = target else {
        tracing::trace!(%alias, "message to an inactive alias dropped");
        return;
    };
    if let Some(entry) = node.lookup(pid) {
        if used_up {
            if let Some(ties) = entry.lock().ties_if_any() {
                ties.aliases.remove(&alias);
            }
        }
        entry.deliver(message);
    }
}

/// Deactivates the aliases of a process that is ending.
pub(crate) fn release_all(node: &Node, pid: Pid, aliases: impl IntoIterator<Item = Ref>) {
    let mut table = node.aliases().lock();
    for alias in aliases {
        if table.get(&alias).is_some_and(|&(owner, _)| owner == pid) {
            table.remove(&alias);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn aliases_leave_the_table_with_their_process() {
        let node = Node::new("alias@h", 1).unwrap_or_else(|e| panic!("{e}"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        node.spawn(move |p| async move {
            let a = p.alias();
            let _b = p.alias_reply();
            tx.send(a).ok();
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let a = rx.await.unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..200 {
            if node.aliases().len() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(node.aliases().len(), 0);
        node.send_alias(a, Term::from(1));
    }
}
