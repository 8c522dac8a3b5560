//! Aliases (OTP 24): references that a process makes so that messages sent to them reach it.
//!
//! A message sent to an active alias goes to its process's mailbox, in order with its other messages from
//! the same sender; a message sent to an alias that was never made, was deactivated, belongs to a process
//! that ended, or was made on another node is dropped without a trace, as in Erlang. Only the process that
//! made an alias can deactivate it ([`Process::unalias`](crate::Process::unalias)). A one-shot alias
//! ([`Process::alias_reply`](crate::Process::alias_reply), Erlang's `alias([reply])`) is deactivated by
//! the first message sent to it; a monitor's alias (`monitor(process, P, [{alias, demonitor}])`, what
//! `gen_server:call` uses) by the end of its monitor. A monitor keeps its own alias flag, so a call holds
//! one entry for both.
//!
//! An alias carries its process's number in its last id word (the BEAM's aliases likewise carry their
//! process), so a send finds the process through the process table, and the process's own table of active
//! aliases decides. There is no node-wide alias table to keep: an alias dies with its process's state, and
//! a number reused by a later process finds a table without the alias.

use erlnode_etf::{Ref, Term};

use super::ProcEntry;
use crate::Node;

/// How long an alias stays active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Until `unalias` or the end of its process.
    Explicit,
    /// Also until the first message sent to it.
    Reply,
}

/// The process number an alias of this node names, if `alias` is one.
pub(crate) fn owner_number(node: &Node, alias: &Ref) -> Option<u32> {
    if alias.node != node.name() || alias.creation != node.creation() {
        return None;
    }
    super::ref_alloc::alias_owner(alias)
}

/// Makes an alias for `me` that stays active as `mode` says.
pub(crate) fn alias(node: &Node, me: &ProcEntry, mode: Mode) -> Ref {
    let alias = node.make_alias_ref(me.pid);
    let mut state = me.lock();
    if state.alive {
        state.ties().aliases.insert(alias, mode);
    }
    alias
}

/// Deactivates the alias `alias` of `me` (a monitor's too); `true` if it was active.
pub(crate) fn unalias(me: &ProcEntry, alias: Ref) -> bool {
    me.lock().ties_if_any().is_some_and(|ties| {
        if ties.aliases.remove(&alias).is_some() {
            return true;
        }
        let held = match ties.monitors.get_mut(&alias) {
            Some(held) => &mut held.alias,
            None => match ties.remote_names.get_mut(&alias) {
                Some(held) => &mut held.alias,
                None => return false,
            },
        };
        std::mem::replace(held, false)
    })
}

/// Sends `message` to the process that holds the alias `alias`, or drops it.
pub(crate) fn send(node: &Node, alias: Ref, message: Term) {
    let entry = owner_number(node, &alias).and_then(|number| node.lookup_number(number));
    match entry {
        Some(entry) => {
            let _ = deliver(&entry, alias, message);
        }
        None => tracing::trace!(%alias, "message to an inactive alias dropped"),
    }
}

/// Delivers `message` to `entry`, the process with the number in `alias`, if the alias is active there.
/// Gives the message back if that process has ended (its pid may since belong to another).
pub(crate) fn deliver(entry: &ProcEntry, alias: Ref, message: Term) -> Result<(), Term> {
    // Delivered under the process's lock, so a message is either in the mailbox before the alias ends
    // (by unalias, demonitor or DOWN) or dropped: a caller that takes a late reply after its demonitor
    // never gets one later.
    let mut state = entry.lock();
    if !state.alive {
        return Err(message);
    }
    let active = state.ties_if_any().is_some_and(|ties| {
        // A monitor's alias (`gen_server:call`'s) is the common case: looked for first.
        if let Some(held) = ties.monitors.get(&alias) {
            return held.alias;
        }
        match ties.aliases.get(&alias) {
            Some(Mode::Reply) => ties.aliases.remove(&alias).is_some(),
            Some(Mode::Explicit) => true,
            None => ties.remote_names.get(&alias).is_some_and(|held| held.alias),
        }
    });
    if active {
        entry.deliver(message);
    } else {
        tracing::trace!(%alias, "message to an inactive alias dropped");
    }
    drop(state);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_this_nodes_aliases_name_a_process() {
        let node = Node::new("alias@h", 1).unwrap_or_else(|e| panic!("{e}"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        node.spawn(move |mut p| async move {
            tx.send((p.self_pid(), p.alias(), p.make_ref())).ok();
            p.recv().await;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let (pid, alias, plain) = rx.await.unwrap_or_else(|e| panic!("{e}"));
        let owner = owner_number(&node, &alias).and_then(|n| node.lookup_number(n)).map(|entry| entry.pid);
        assert_eq!(owner, Some(pid));
        assert_eq!(owner_number(&node, &plain), None);
        let elsewhere = Ref::new(erlnode_etf::Atom::new("other@h"), 1, alias.ids()).unwrap_or_else(|| panic!("a ref"));
        assert_eq!(owner_number(&node, &elsewhere), None);
        let older = Ref::new(node.name(), 2, alias.ids()).unwrap_or_else(|| panic!("a ref"));
        assert_eq!(owner_number(&node, &older), None);
    }
}
