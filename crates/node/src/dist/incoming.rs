//! What a peer's messages and signals do to local processes, and what a lost connection does.
//!
//! Each control message acts as the same operation between local processes would: a `SEND` delivers, an
//! `EXIT` through a link follows the link rules, a `MONITOR_P` adds a watcher (or answers `noproc` at once
//! when the target does not exist: an Erlang `gen_server:call` to a name this node does not host would
//! otherwise wait forever). When a connection is lost, every link to a process of the peer gets the exit
//! signal `noconnection`, every monitor on one fires `DOWN` with `noconnection`, and the peer's monitors
//! on local processes are dropped.

use std::sync::Arc;

use erlnode_dist::control::{Control, Proc};
use erlnode_etf::{Atom, Pid, Ref, Term};

use crate::Node;
use crate::process::exit;
use crate::process::{self, ProcEntry, Watcher};
use crate::rpc::spawn;

/// Acts on one control message from `peer`.
pub(crate) fn dispatch(node: &Node, peer: Atom, control: Control, payload: Option<Term>) {
    // Each control message uses its payload at most once: take it, never copy it.
    let payload = payload.unwrap_or_default();
    // Only this node's processes are a peer's business: a node never relays for another.
    let here = |pid: &Pid| node.is_local(*pid);
    match control {
        Control::Send { .. } | Control::SendSender { .. } | Control::RegSend { .. } => {
            deliver(node, &control, payload, &mut Recipient::default())
        }
        Control::AliasSend { alias, .. } if alias.node != node.name() => {}
        Control::AliasSend { alias, .. } => node.send_alias(alias, payload),
        Control::Link { from, to } => process::remote_link(node, to, from),
        Control::Unlink { from, to } => process::remote_unlink(node, to, from),
        Control::UnlinkId { id, from, to } => {
            process::remote_unlink(node, to, from);
            super::send(node, peer, Control::UnlinkIdAck { id, from: to, to: from }, None);
        }
        Control::UnlinkIdAck { .. } | Control::GroupLeader { .. } => {}
        Control::Exit { from, to, reason } => process::remote_exit(node, to, from, reason, true),
        Control::PayloadExit { from, to } => process::remote_exit(node, to, from, payload, true),
        Control::Exit2 { from, to, reason } => process::remote_exit(node, to, from, reason, false),
        Control::PayloadExit2 { from, to } => process::remote_exit(node, to, from, payload, false),
        Control::MonitorP { from, to, reference } => monitor(node, peer, from, to, reference),
        Control::DemonitorP { to, reference, .. } => {
            if let Some(pid) = resolve(node, to) {
                process::remote_demonitor(node, pid, reference);
            }
        }
        Control::MonitorPExit { from, to, reference, reason } => down(node, peer, from, to, reference, reason),
        Control::PayloadMonitorPExit { from, to, reference } => down(node, peer, from, to, reference, payload),
        Control::SpawnRequest { req_id, from, module, function, arity, opts, .. } => {
            let request = spawn::Request { req_id, from, module, function, arity, opts, args: payload };
            spawn::from_peer(node, peer, request);
        }
        Control::SpawnReply { req_id, to, flags, result } if here(&to) => {
            spawn::reply(node, peer, req_id, to, flags, result)
        }
        Control::SpawnReply { .. } => {}
    }
}

/// The local process a stream of sends from a peer reaches: looked up for the stream's first message and
/// kept while the stream lasts, since the lookups cost more than the delivery.
#[derive(Default)]
pub(crate) struct Recipient {
    /// The process found (a process that has ended drops what is delivered to it, as the table would).
    /// Kept for a pid while the stream lasts: should the pid be given to a new process meanwhile (after
    /// 2^28 others), the stream's messages are dropped rather than delivered to it.
    entry: Option<Arc<ProcEntry>>,
    /// For a name: the registry's change count when it was looked up; the lookup holds until it changes.
    names: Option<u64>,
}

/// Delivers the payload of a send (`SEND`, `SEND_SENDER`, `REG_SEND`) from a peer to `recipient`, which
/// the caller keeps for the next send with the same control message.
pub(crate) fn deliver(node: &Node, control: &Control, payload: Term, recipient: &mut Recipient) {
    match *control {
        // Only this node's processes are a peer's business: a node never relays for another.
        Control::Send { to } | Control::SendSender { to, .. } => {
            if recipient.entry.as_ref().is_none_or(|entry| entry.pid != to) {
                recipient.entry = node.lookup(to);
            }
        }
        Control::RegSend { to, .. } => {
            let names = node.registry_changes();
            if recipient.names != Some(names) {
                recipient.entry = node.whereis(to).and_then(|pid| node.lookup(pid));
                recipient.names = Some(names);
            }
        }
        _ => return,
    }
    match &recipient.entry {
        Some(entry) => entry.deliver(payload),
        None => tracing::trace!(?control, "message to a process or name not here dropped"),
    }
}

/// A local process by pid, or by a name this node hosts.
fn resolve(node: &Node, proc: Proc) -> Option<Pid> {
    match proc {
        Proc::Pid(pid) => Some(pid),
        Proc::Name(name) => node.whereis(name),
    }
}

/// `MONITOR_P` from the peer's process `from` on the local `to`.
fn monitor(node: &Node, peer: Atom, from: Pid, to: Proc, reference: Ref) {
    let object = match to {
        Proc::Pid(pid) => Term::Pid(pid),
        Proc::Name(name) => Term::Atom(name),
    };
    let target = resolve(node, to);
    let watched =
        target.is_some_and(|pid| process::remote_monitor(node, pid, reference, Watcher { pid: from, object }));
    if !watched {
        let reply = Control::PayloadMonitorPExit { from: to, to: from, reference };
        super::send(node, peer, reply, Some(exit::noproc()));
    }
}

/// `MONITOR_P_EXIT`: the remote process a local one monitors has ended.
fn down(node: &Node, peer: Atom, from: Proc, to: Pid, reference: Ref, reason: Term) {
    let object = match from {
        Proc::Pid(pid) => Term::Pid(pid),
        Proc::Name(name) => Term::tuple(vec![Term::Atom(name), Term::Atom(peer)]),
    };
    process::remote_down(node, peer, to, reference, object, reason);
}

/// The connection to `peer` is gone: `noconnection` to every link and monitor across it.
pub(crate) fn connection_lost(node: &Node, peer: Atom) {
    node.rpc().forget_orphans(peer);
    for pid in node.processes() {
        process::lose_peer(node, pid, peer);
    }
}
