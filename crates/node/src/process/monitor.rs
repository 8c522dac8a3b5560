//! Monitors: one-way watches that deliver `{'DOWN', Ref, process, Object, Reason}` when the target ends.
//!
//! `Object` is the pid when the monitor was set by pid, and `{Name, Node}` when it was set by registered
//! name. A target that does not exist (a dead pid, a name nobody holds) gives an immediate `DOWN` with reason
//! `noproc`. Monitoring a name monitors the process that holds it at that moment; the monitor follows that
//! process, not the name.

use std::sync::Arc;

use erlnode_dist::control::{Control, Proc};
use erlnode_etf::{Atom, Pid, Ref, Term};

use super::{ProcEntry, Watcher, exit};
use crate::Node;

/// What to monitor: a pid, or the process registered under a name on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorTarget {
    /// A process by pid.
    Pid(Pid),
    /// The process registered under this name.
    Name(Atom),
    /// The process registered under a name (first) on a node (second): `{Name, Node}` in Erlang.
    NameOn(Atom, Atom),
}

impl From<(Atom, Atom)> for MonitorTarget {
    fn from((name, node): (Atom, Atom)) -> MonitorTarget {
        MonitorTarget::NameOn(name, node)
    }
}

impl From<Pid> for MonitorTarget {
    fn from(pid: Pid) -> MonitorTarget {
        MonitorTarget::Pid(pid)
    }
}

impl From<Atom> for MonitorTarget {
    fn from(name: Atom) -> MonitorTarget {
        MonitorTarget::Name(name)
    }
}

/// A monitor as its holder keeps it: what it watches, and whether its reference is also an alias of the
/// holder (active until the monitor is removed or fires, or `unalias`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Held<T> {
    pub(crate) target: T,
    pub(crate) alias: bool,
}

impl<T> Held<T> {
    /// A monitor without an alias.
    pub(crate) fn plain(target: T) -> Held<T> {
        Held { target, alias: false }
    }
}

/// Sets a monitor held by `me` on `target`.
pub(crate) fn monitor(node: &Node, me: &ProcEntry, target: MonitorTarget) -> Ref {
    set(node, me, target, node.make_ref(), false, None)
}

/// Sets a monitor held by `me` on `target` whose reference is also an alias of `me`, active until the
/// monitor is removed or fires (`monitor(process, Target, [{alias, demonitor}])`, as `gen_server:call`
/// sets it): one reference for the reply and the `DOWN`.
/// `known`: an entry the caller holds already, used if it is the target's.
pub(crate) fn monitor_alias(node: &Node, me: &ProcEntry, target: MonitorTarget, known: Option<&Arc<ProcEntry>>) -> Ref {
    set(node, me, target, node.make_alias_ref(me.pid), true, known)
}

/// Sets the monitor `monitor`; `alias`: it is an alias of `me` as well; `known`: as for
/// [`monitor_alias`].
fn set(
    node: &Node,
    me: &ProcEntry,
    target: MonitorTarget,
    monitor: Ref,
    alias: bool,
    known: Option<&Arc<ProcEntry>>,
) -> Ref {
    let target = match target {
        MonitorTarget::NameOn(name, on) if on == node.name() => MonitorTarget::Name(name),
        MonitorTarget::NameOn(name, on) => {
            let control = Control::MonitorP { from: me.pid, to: Proc::Name(name), reference: monitor };
            if !super::remote::tie(node, me, on, control, None, |ties| {
                ties.remote_names.insert(monitor, Held { target: (name, on), alias });
            }) {
                let object = Term::tuple(vec![Term::Atom(name), Term::Atom(on)]);
                super::remote::remote_down(node, on, me.pid, monitor, object, exit::noconnection());
            }
            return monitor;
        }
        target => target,
    };
    let (pid, object) = match target {
        MonitorTarget::Pid(pid) => (Some(pid), Term::Pid(pid)),
        MonitorTarget::Name(name) => (node.whereis(name), Term::tuple(vec![Term::Atom(name), Term::Atom(node.name())])),
        MonitorTarget::NameOn(..) => return monitor,
    };
    if let Some(remote) = pid.filter(|p| !node.is_local(*p) && p.node != node.name()) {
        let control = Control::MonitorP { from: me.pid, to: Proc::Pid(remote), reference: monitor };
        if !super::remote::tie(node, me, remote.node, control, None, |ties| {
            ties.monitors.insert(monitor, Held { target: remote, alias });
        }) {
            super::remote::remote_down(node, remote.node, me.pid, monitor, Term::Pid(remote), exit::noconnection());
        }
        return monitor;
    }
    // Sets the monitor on `target` if it is still alive.
    let watch = |target: &ProcEntry| {
        me.lock().ties().monitors.insert(monitor, Held { target: target.pid, alias });
        let mut state = target.lock();
        if state.alive {
            state.ties().watchers.insert(monitor, Watcher { pid: me.pid, object: object.clone() });
            return true;
        }
        drop(state);
        if let Some(ties) = me.lock().ties_if_any() {
            ties.monitors.remove(&monitor);
        }
        false
    };
    let from_table = || pid.and_then(|pid| node.lookup(pid));
    let watching = match pid.and_then(|pid| known.filter(|entry| entry.pid == pid)) {
        Some(known) if watch(known) => true,
        // A known entry that has ended may be an older process with the same pid (after the pid space
        // went round): the table decides then.
        Some(known) => from_table().is_some_and(|live| !Arc::ptr_eq(&live, known) && watch(&live)),
        None => from_table().is_some_and(|live| watch(&live)),
    };
    if watching {
        return monitor;
    }
    // The monitor fires at once, so its alias is never active.
    me.deliver(exit::down_message(monitor, object, exit::noproc()));
    monitor
}

/// Removes the monitor `monitor` held by `me`; `true` if it was still active. Once it returns, no DOWN
/// of this monitor can arrive: one is delivered only together with the removal of the holder's entry
/// (under the holder's lock), so `false` means it is in the mailbox already. `known`: an entry the caller
/// holds already, used if it is the target's.
pub(crate) fn demonitor(node: &Node, me: &ProcEntry, monitor: Ref, known: Option<&Arc<ProcEntry>>) -> bool {
    // One look at this process's ties: a monitor of a pid, or of a name on another node.
    let (target, remote_name) = {
        let mut state = me.lock();
        let Some(ties) = state.ties_if_any() else { return false };
        // A monitor's alias ends with it.
        match ties.monitors.remove(&monitor) {
            Some(held) => (Some(held.target), None),
            None => (None, ties.remote_names.remove(&monitor).map(|held| held.target)),
        }
    };
    if let Some((name, on)) = remote_name {
        let control = Control::DemonitorP { from: me.pid, to: Proc::Name(name), reference: monitor };
        crate::dist::send(node, on, control, None);
        return true;
    }
    let Some(target) = target else { return false };
    if !node.is_local(target) {
        let control = Control::DemonitorP { from: me.pid, to: Proc::Pid(target), reference: monitor };
        crate::dist::send(node, target.node, control, None);
        return true;
    }
    // The target's side is only tidied: a target that is ending may have taken its watchers already, and
    // its DOWN then finds no monitor here to fire.
    let forget = |entry: &ProcEntry| {
        if let Some(ties) = entry.lock().ties_if_any() {
            ties.watchers.remove(&monitor);
        }
    };
    match known.filter(|entry| entry.pid == target) {
        Some(entry) => forget(entry),
        None => node.lookup(target).iter().for_each(|entry| forget(entry)),
    }
    true
}

/// Tells `watcher` that the monitor `monitor` fired with `reason`.
pub(crate) fn down(node: &Node, monitor: Ref, watcher: Watcher, reason: Term) {
    if !node.is_local(watcher.pid) {
        if watcher.pid.node != node.name() {
            super::remote::down(node, monitor, watcher.pid, &watcher.object, reason);
        }
        return;
    }
    if let Some(entry) = node.lookup(watcher.pid) {
        // A watcher that demonitored meanwhile gets nothing. The DOWN goes in under the watcher's lock,
        // with the removal of its monitor, so `demonitor` finds either the monitor or the DOWN delivered
        // (which lets `demonitor_flush` skip the mailbox when it found the monitor).
        let mut state = entry.lock();
        if state.ties_if_any().is_some_and(|ties| ties.monitors.remove(&monitor).is_some()) {
            entry.deliver(exit::down_message(monitor, watcher.object, reason));
        }
        drop(state);
    }
}
