//! Links, monitors and exit signals with processes of other nodes: the local half of each.
//!
//! A local process's side of a link or monitor with a remote process lives in its `Ties` like any other
//! (a remote pid in `links`, a remote watcher in `watchers`, a remote target in `monitors`); what would
//! touch the remote process's state is a control message to its node instead (see
//! [`dist`](crate::dist)). The functions here are the receiving end: what a peer's `LINK`, `EXIT`,
//! `MONITOR_P`, `MONITOR_P_EXIT` do to a local process, and what a lost connection does.

use erlnode_dist::control::{Control, Proc};
use erlnode_etf::{Atom, Pid, Ref, Term};

use super::link::{self, Origin};
use super::monitor::Held;
use super::{Watcher, exit};
use crate::Node;
use crate::dist;
use crate::rpc::spawn::Reply;

/// Makes a tie of the local `me` with something on `peer`: `record` keeps this side in `me`'s ties and
/// `control` asks the peer for its side, both under `me`'s lock. The walk that cuts a lost connection's
/// ties takes each process's lock in turn, so it either finds the tie or came before it; and while it
/// runs the request is refused rather than queued for the next connection, where the peer would keep a
/// side that the walk cut here. `false`: refused (the connection to `peer` is being cut, or this node
/// is not distributed); the caller then ends the tie with `noconnection`, as Erlang does when a node
/// cannot be reached. The request is encoded (and may be written) under the lock, which a large
/// payload such as a spawn request's arguments holds longer.
pub(crate) fn tie(
    node: &Node,
    me: &super::ProcEntry,
    peer: Atom,
    control: Control,
    payload: Option<Term>,
    record: impl FnOnce(&mut super::Ties),
) -> bool {
    let mut state = me.lock();
    record(state.ties());
    dist::send(node, peer, control, payload)
}

/// `LINK` from the remote `from` to the local `to`; a `to` that does not exist answers `noproc`.
pub(crate) fn remote_link(node: &Node, to: Pid, from: Pid) {
    let linked = node.lookup(to).is_some_and(|entry| {
        let mut state = entry.lock();
        if state.alive {
            state.ties().links.insert(from);
        }
        state.alive
    });
    if !linked {
        dist::send(node, from.node, Control::PayloadExit { from: to, to: from }, Some(exit::noproc()));
    }
}

/// `UNLINK` from the remote `from`: the link with the local `to` is gone.
pub(crate) fn remote_unlink(node: &Node, to: Pid, from: Pid) {
    if let Some(entry) = node.lookup(to) {
        if let Some(ties) = entry.lock().ties_if_any() {
            ties.links.remove(&from);
        }
    }
}

/// An exit signal from the remote `from`: through a link (`EXIT`) or sent with `exit/2` (`EXIT2`).
pub(crate) fn remote_exit(node: &Node, to: Pid, from: Pid, reason: Term, via_link: bool) {
    link::exit_signal(node, to, from, reason, if via_link { Origin::Link } else { Origin::Exit });
}

/// `MONITOR_P` on the local `pid` for a remote watcher; `false` when `pid` is not alive.
pub(crate) fn remote_monitor(node: &Node, pid: Pid, reference: Ref, watcher: Watcher) -> bool {
    node.lookup(pid).is_some_and(|entry| {
        let mut state = entry.lock();
        if state.alive {
            state.ties().watchers.insert(reference, watcher);
        }
        state.alive
    })
}

/// `DEMONITOR_P` of a remote watcher's monitor on the local `pid`.
pub(crate) fn remote_demonitor(node: &Node, pid: Pid, reference: Ref) {
    if let Some(entry) = node.lookup(pid) {
        if let Some(ties) = entry.lock().ties_if_any() {
            ties.watchers.remove(&reference);
        }
    }
}

/// `MONITOR_P_EXIT` from `peer`: the process there that the local `to` monitors with `reference` has
/// ended. Only a monitor on a process of `peer` is touched, so no peer can end another's monitors.
pub(crate) fn remote_down(node: &Node, peer: Atom, to: Pid, reference: Ref, object: Term, reason: Term) {
    if let Some(entry) = node.lookup(to) {
        // Delivered under the watcher's lock, with the removal of its monitor (see `monitor::down`).
        let mut state = entry.lock();
        let active = state.ties_if_any().is_some_and(|ties| {
            if ties.monitors.get(&reference).is_some_and(|held| held.target.node == peer) {
                ties.monitors.remove(&reference);
                true
            } else if ties.remote_names.get(&reference).is_some_and(|held| held.target.1 == peer) {
                ties.remote_names.remove(&reference);
                true
            } else {
                false
            }
        });
        if active {
            entry.deliver(exit::down_message(reference, object, reason));
        }
        drop(state);
    }
}

/// The connection to `peer` is gone: the local `pid`'s links to processes there get `noconnection`, its
/// monitors on them fire with `noconnection`, their monitors on it are dropped, and its spawn requests
/// to `peer` are answered `noconnection`.
pub(crate) fn lose_peer(node: &Node, pid: Pid, peer: Atom) {
    let Some(entry) = node.lookup(pid) else { return };
    let (links, monitors, requests) =
        {
            let mut state = entry.lock();
            let Some(ties) = state.ties_if_any() else { return };
            ties.watchers.retain(|_, watcher| watcher.pid.node != peer);
            let mut requests = Vec::new();
            ties.spawn_requests.retain(|req_id, pending| {
                if pending.node == peer && pending.reply != Reply::No {
                    requests.push(*req_id);
                }
                pending.node != peer
            });
            let links: Vec<Pid> = ties.links.iter().filter(|p| p.node == peer).copied().collect();
            let mut monitors: Vec<(Ref, Term)> = ties
                .monitors
                .iter()
                .filter(|(_, held)| held.target.node == peer)
                .map(|(r, held)| (*r, Term::Pid(held.target)))
                .collect();
            monitors.extend(ties.remote_names.iter().filter(|(_, held)| held.target.1 == peer).map(
                |(r, Held { target: (name, on), .. })| (*r, Term::tuple(vec![Term::Atom(*name), Term::Atom(*on)])),
            ));
            (links, monitors, requests)
        };
    for req_id in requests {
        entry.deliver(crate::rpc::spawn::answer(req_id, Term::atom("error"), exit::noconnection()));
    }
    for remote in links {
        link::exit_signal(node, pid, remote, exit::noconnection(), Origin::Link);
    }
    for (reference, object) in monitors {
        remote_down(node, peer, pid, reference, object, exit::noconnection());
    }
}

/// The local `from` sends the exit signal `reason` to the remote `to` through their link.
pub(crate) fn link_exit(node: &Node, from: Pid, to: Pid, reason: Term) {
    dist::send(node, to.node, Control::PayloadExit { from, to }, Some(reason));
}

/// The local `from` sends the exit signal `reason` to the remote `to` (`exit/2`).
pub(crate) fn exit2(node: &Node, from: Pid, to: Pid, reason: Term) {
    dist::send(node, to.node, Control::PayloadExit2 { from, to }, Some(reason));
}

/// The local process `object` (a pid, or the name it was monitored by) has ended: tell the remote
/// `watcher`.
pub(crate) fn down(node: &Node, reference: Ref, watcher: Pid, object: &Term, reason: Term) {
    let from = match object {
        Term::Atom(name) => Proc::Name(*name),
        Term::Pid(pid) => Proc::Pid(*pid),
        // A name monitored locally by {Name, Node}; remote watchers name the process by atom.
        other => match other.as_tuple() {
            Some([Term::Atom(name), _]) => Proc::Name(*name),
            _ => return,
        },
    };
    dist::send(node, watcher.node, Control::PayloadMonitorPExit { from, to: watcher, reference }, Some(reason));
}
