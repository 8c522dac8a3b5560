//! Links and exit signals, with Erlang's rules.
//!
//! A link is symmetric: when either process ends, the other gets an exit signal carrying the reason. What an
//! exit signal does to its receiver:
//! - a process that traps exits gets the message `{'EXIT', From, Reason}` instead, except for
//!   `exit(Pid, kill)`, which cannot be trapped and ends the process with reason `killed`;
//! - otherwise reason `normal` is ignored (unless a process sent it to itself, which ends it with `normal`),
//!   and any other reason ends the receiver with that same reason. A `kill` reason arriving through a link
//!   (a linked process exited with reason `kill`) is an ordinary reason: it ends the receiver with `kill`.
//!
//! An exit signal that arrives through a link that no longer exists (the receiver unlinked first) is dropped.

use erlnode_etf::{Pid, Term};

use super::{ProcEntry, exit};
use crate::Node;

/// Why [`Process::link`](crate::Process::link) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The process does not exist (Erlang raises `noproc` in a caller that does not trap exits).
    #[error("noproc: {0} does not exist")]
    NoProc(Pid),
}

/// How an exit signal was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// By a linked process that ended.
    Link,
    /// By `exit(Pid, Reason)`.
    Exit,
}

/// Sends the exit signal `reason` from `from` to `to`.
pub(crate) fn exit_signal(node: &Node, to: Pid, from: Pid, reason: Term, origin: Origin) {
    if !node.is_local(to) {
        if to.node != node.name() {
            match origin {
                Origin::Link => super::remote::link_exit(node, from, to, reason),
                Origin::Exit => super::remote::exit2(node, from, to, reason),
            }
        }
        return;
    }
    let Some(target) = node.lookup(to) else { return };
    let mut state = target.lock();
    if !state.alive || (origin == Origin::Link && !state.ties_if_any().is_some_and(|ties| ties.links.remove(&from))) {
        return;
    }
    if origin == Origin::Exit && exit::is_kill(&reason) {
        target.kill(&mut state, exit::killed());
    } else if state.trap_exit {
        target.deliver(exit::exit_message(from, reason));
    } else if !exit::is_normal(&reason) || from == to {
        target.kill(&mut state, reason);
    }
}

/// Links `me` with `other`.
pub(crate) fn link(node: &Node, me: &ProcEntry, other: Pid) -> Result<(), LinkError> {
    if other == me.pid {
        return Ok(());
    }
    if !node.is_local(other) {
        if other.node == node.name() {
            // A pid of an earlier incarnation of this node: it cannot exist.
            return noproc(me, other);
        }
        let control = erlnode_dist::control::Control::Link { from: me.pid, to: other };
        if !super::remote::tie(node, me, other.node, control, None, |ties| {
            ties.links.insert(other);
        }) {
            exit_signal(node, me.pid, other, exit::noconnection(), Origin::Link);
        }
        return Ok(());
    }
    me.lock().ties().links.insert(other);
    let linked = node.lookup(other).is_some_and(|target| {
        let mut state = target.lock();
        if state.alive {
            state.ties().links.insert(me.pid);
        }
        state.alive
    });
    if linked {
        return Ok(());
    }
    noproc(me, other)
}

/// The answer to a link with `other`, which does not exist: `{'EXIT', Other, noproc}` for a process that
/// traps exits, an error otherwise.
fn noproc(me: &ProcEntry, other: Pid) -> Result<(), LinkError> {
    let mut state = me.lock();
    if let Some(ties) = state.ties_if_any() {
        ties.links.remove(&other);
    }
    if state.trap_exit {
        me.deliver(exit::exit_message(other, exit::noproc()));
        Ok(())
    } else {
        Err(LinkError::NoProc(other))
    }
}

/// Removes the link between `me` and `other`, if there is one.
pub(crate) fn unlink(node: &Node, me: &ProcEntry, other: Pid) {
    let was_linked = me.lock().ties_if_any().is_some_and(|ties| ties.links.remove(&other));
    if !node.is_local(other) {
        if was_linked && other.node != node.name() {
            static UNLINK_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            let id = UNLINK_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let unlink = erlnode_dist::control::Control::UnlinkId { id, from: me.pid, to: other };
            crate::dist::send(node, other.node, unlink, None);
        }
        return;
    }
    if let Some(target) = node.lookup(other) {
        if let Some(ties) = target.lock().ties_if_any() {
            ties.links.remove(&me.pid);
        }
    }
}
