//! `global_name_server`: takes part in OTP's `global` the way a node with no global names of its own does.
//!
//! When two published nodes connect, each one's `global` syncs with the other's: a session tagged on
//! both sides, a cluster-wide lock taken by the Erlang side's locker, an exchange of the global names, and
//! then each side counts the other as synced. `global:sync()` on an Erlang node waits, without a
//! timeout, until every node it is connected to is synced; so does the locker that registers names.
//! Silent, this node would hold them up for ever. This process answers as a passive peer (protocol
//! version 8, OTP 25.2 and later):
//!
//! - each `init_connect` a visible peer sends (one per connection, or per restarted session) gets one
//!   back, with a fresh tag; this node never starts a session itself, so a peer too old for version 8
//!   (before OTP 25.2) is left alone, as if this node were not there;
//! - the peer's `lock_set` is answered with this node's `lock_set`, then an `exchange` of no names;
//! - the peer's `exchange` with this node's `resolved`, and its `resolved` marks it synced, after which
//!   this node tells the nodes the peer knows that it is in sync with them; a node's `in_sync` is
//!   answered with this node's, once;
//! - `set_lock`/`del_lock` calls follow OTP's lock rules (one request id per resource at a time, released
//!   when its holders end); `register`/`unregister` calls keep the names other nodes register, dropped
//!   when their process or its node goes;
//! - a `remove_connection` (OTP's protection against overlapping partitions) disconnects the sender.
//!
//! The names it keeps are what [`crate::global::whereis_name`] finds. Names are never registered from
//! this node, so the lists it sends are always empty: a peer takes
//! nothing from it that it does not already have. The messages and their shapes follow OTP's
//! `global.erl` (kernel 8.5, OTP 25.2.3; unchanged in OTP 27).

use erlnode_etf::{Atom, Pid, Ref, Term};

use crate::hash::NumberMap;
use crate::process::Process;
use crate::{Node, exit};

/// The `global` protocol version this node speaks.
const VERSION: i64 = 8;

/// Starts `global_name_server` on `node`.
pub(crate) fn start(node: &Node) {
    let spawned = node.spawn(|mut p| async move {
        p.monitor_nodes(true);
        let mut global = Global::default();
        loop {
            let message = p.recv().await;
            global.handle(&p, message);
        }
    });
    if let Ok(pid) = spawned {
        if node.register(Atom::new("global_name_server"), pid).is_err() {
            node.exit(pid, exit::kill());
        }
    }
}

/// The sync session with one connected node.
#[derive(Debug, Default)]
struct Session {
    /// The tag this node gave the session (the peer echoes it).
    mine: Option<i64>,
    /// The peer's tag, from its `init_connect`.
    theirs: Option<Term>,
}

/// A lock on one resource: the request id that holds it, and its holders with their monitors.
#[derive(Debug)]
struct Lock {
    resource: Term,
    request: Term,
    holders: Vec<(Pid, Ref)>,
}

#[derive(Debug, Default)]
struct Global {
    sessions: NumberMap<Atom, Session>,
    /// Nodes this node is in sync with, directly or through a third one; forgotten on `nodedown`.
    known: Vec<Atom>,
    next_tag: i64,
    /// Global names registered by other nodes: name, process, and the monitor on it.
    names: Vec<(Term, Pid, Ref)>,
    locks: Vec<Lock>,
}

impl Global {
    fn handle(&mut self, p: &Process, message: Term) {
        let Some(parts) = message.as_tuple() else { return };
        match parts {
            [Term::Atom(tag), Term::Atom(peer)] if tag.as_str() == "nodedown" => self.node_down(p, *peer),
            [Term::Atom(tag), cast] if tag.as_str() == "$gen_cast" => self.cast(p, cast),
            [Term::Atom(tag), from, request] if tag.as_str() == "$gen_call" => {
                let reply = self.call(p, from, request);
                p.reply(from, reply);
            }
            [Term::Atom(tag), Term::Ref(monitor), _, Term::Pid(pid), _] if tag.as_str() == "DOWN" => {
                self.gone(|held_pid, held_monitor| held_pid == *pid && held_monitor == *monitor);
            }
            // Plain messages of the protocol.
            [Term::Atom(tag), Term::Atom(peer)] if tag.as_str() == "remove_connection" => {
                // A node that lost its connection to `peer` asks the others to drop theirs, so that no
                // partitions overlap.
                tracing::info!(%peer, "global asks to disconnect");
                crate::dist::disconnect(p.node(), *peer);
            }
            [Term::Atom(tag), Term::Atom(peer), t] if tag.as_str() == "cancel_connect" => self.cancel(*peer, t),
            _ => tracing::trace!(%message, "global: ignored"),
        }
    }

    fn cast(&mut self, p: &Process, cast: &Term) {
        let Some(parts) = cast.as_tuple() else { return };
        let [Term::Atom(tag), rest @ ..] = parts else { return };
        match (tag.as_str(), rest) {
            ("init_connect", [Term::Tuple(version), Term::Atom(peer), Term::Tuple(locker)])
                if matches!(version.as_slice(), [Term::Int(v), _] if *v >= VERSION)
                    && matches!(locker.first(), Some(Term::Atom(l)) if l.as_str() == "locker")
                    && crate::dist::is_visible(p.node(), *peer) =>
            {
                self.init_connect(p, *peer, &version[1]);
            }
            ("lock_set", [Term::Pid(locker), Term::Atom(ok), _, t]) if ok.as_str() == "true" => {
                let peer = locker.node;
                if let Some(theirs) = self.current(peer, t) {
                    let me = Term::Pid(p.self_pid());
                    cast_to(p, peer, vec![Term::atom("lock_set"), me, Term::atom("true"), Term::NIL, theirs.clone()]);
                    let me = Term::Atom(p.node().name());
                    cast_to(p, peer, vec![Term::atom("exchange"), me, Term::NIL, Term::NIL, theirs]);
                }
            }
            ("exchange", [Term::Atom(peer), names, _, t]) => {
                if let Some(theirs) = self.current(*peer, t) {
                    for name in list(names) {
                        if let Some([name, Term::Pid(pid), _]) = name.as_tuple() {
                            self.insert(p, name.clone(), *pid);
                        }
                    }
                    let me = Term::Atom(p.node().name());
                    let fields =
                        vec![Term::atom("resolved"), me, Term::NIL, Term::NIL, Term::atom("unused"), Term::NIL, theirs];
                    cast_to(p, *peer, fields);
                }
            }
            ("resolved", [Term::Atom(peer), ops, known, _, _, t]) => {
                if self.current(*peer, t).is_some() {
                    self.apply(p, ops);
                    self.mark_synced(*peer);
                    for other in nodes_of(known) {
                        if other != *peer {
                            self.tell_in_sync(p, other);
                        }
                    }
                }
            }
            ("new_nodes", [Term::Atom(_), ops, _, nodes, _]) => {
                self.apply(p, ops);
                for other in nodes_of(nodes) {
                    self.tell_in_sync(p, other);
                }
            }
            // A node that learned of this one through a third counts it synced only once told so in turn
            // (its `in_sync` may come before the third node's `new_nodes` that would make this one tell).
            ("in_sync", [Term::Atom(peer), _]) => self.tell_in_sync(p, *peer),
            ("cancel_connect", [Term::Atom(peer), t]) => self.cancel(*peer, t),
            _ => tracing::trace!(%cast, "global: cast ignored"),
        }
    }

    fn call(&mut self, p: &Process, from: &Term, request: &Term) -> Term {
        let caller = match from.as_tuple() {
            Some([Term::Pid(pid), _]) => *pid,
            _ => return Term::atom("badarg"),
        };
        let Some([Term::Atom(tag), rest @ ..]) = request.as_tuple() else { return Term::atom("badarg") };
        match (tag.as_str(), rest) {
            ("set_lock", [id]) => match id.as_tuple() {
                Some([resource, request]) => Term::bool(self.set_lock(p, resource, request, caller)),
                _ => Term::atom("false"),
            },
            ("del_lock", [id]) => {
                if let Some([resource, request]) = id.as_tuple() {
                    self.del_lock(p, resource, request, caller);
                }
                Term::atom("true")
            }
            ("register", [name, Term::Pid(pid), _]) | ("register_ext", [name, Term::Pid(pid), _, _]) => {
                self.insert(p, name.clone(), *pid);
                Term::atom("yes")
            }
            ("unregister", [name]) => {
                self.remove(p, name);
                Term::atom("ok")
            }
            // As OTP's `global_name_server` answers it; `erlnode::global::whereis_name` asks this way.
            ("whereis", [name]) => match self.names.iter().find(|(n, _, _)| n == name) {
                Some((_, pid, _)) => Term::Pid(*pid),
                None => Term::atom("undefined"),
            },
            _ => {
                tracing::debug!(%request, "global: call not supported");
                Term::tuple(vec![Term::atom("error"), Term::atom("not_supported")])
            }
        }
    }

    /// A node went down: its session, its processes' names and their locks go with it (their monitors
    /// fire by themselves; a demonitor would only try to reach the node again). A `nodedown` that comes
    /// after a new connection to the node is already up is about the old one: the session stays.
    fn node_down(&mut self, p: &Process, peer: Atom) {
        if crate::dist::is_visible(p.node(), peer) {
            return;
        }
        self.sessions.remove(&peer);
        self.known.retain(|n| *n != peer);
        self.gone(|pid, _| pid.node == peer);
    }

    /// The peer started a session tagged `theirs`: this node answers with its own `init_connect`, once
    /// per tag (a new tag means a new connection, or a session the peer restarted).
    fn init_connect(&mut self, p: &Process, peer: Atom, theirs: &Term) {
        let session = self.sessions.entry(peer).or_default();
        if session.theirs.as_ref() == Some(theirs) {
            return;
        }
        self.next_tag += 1;
        *session = Session { mine: Some(self.next_tag), theirs: Some(theirs.clone()) };
        let version = Term::tuple(vec![Term::Int(VERSION), Term::Int(self.next_tag)]);
        let locker =
            Term::tuple(vec![Term::atom("locker"), Term::atom("no_longer_a_pid"), Term::NIL, Term::Pid(p.self_pid())]);
        cast_to(p, peer, vec![Term::atom("init_connect"), version, Term::Atom(p.node().name()), locker]);
    }

    /// The peer gave up the session tagged `tag`; the next one starts with its next `init_connect`.
    fn cancel(&mut self, peer: Atom, tag: &Term) {
        if self.sessions.get(&peer).and_then(|session| session.mine).is_some_and(|mine| *tag == Term::Int(mine)) {
            self.sessions.remove(&peer);
        }
    }

    /// The peer's tag, when `tag` is this node's tag of the current session with `peer`.
    fn current(&self, peer: Atom, tag: &Term) -> Option<Term> {
        let session = self.sessions.get(&peer)?;
        match (session.mine, &session.theirs) {
            (Some(mine), Some(theirs)) if *tag == Term::Int(mine) => Some(theirs.clone()),
            _ => None,
        }
    }

    /// Counts `peer` as a node this node is in sync with; `false` if it was already.
    fn mark_synced(&mut self, peer: Atom) -> bool {
        if self.known.contains(&peer) {
            return false;
        }
        self.known.push(peer);
        true
    }

    /// Tells `other`, which knows of this node through a third one, that this node is in sync with it
    /// (once: as OTP, only a node not known before).
    fn tell_in_sync(&mut self, p: &Process, other: Atom) {
        if other != p.node().name() && self.mark_synced(other) {
            cast_connecting(p, other, vec![Term::atom("in_sync"), Term::Atom(p.node().name()), Term::atom("true")]);
        }
    }

    /// Applies a peer's name operations: `{insert, {Name, Pid, Method}}` and `{delete, Name}`.
    fn apply(&mut self, p: &Process, ops: &Term) {
        for op in list(ops) {
            match op.as_tuple() {
                Some([Term::Atom(kind), entry]) if kind.as_str() == "insert" => {
                    if let Some([name, Term::Pid(pid), _]) = entry.as_tuple() {
                        self.insert(p, name.clone(), *pid);
                    }
                }
                Some([Term::Atom(kind), name]) if kind.as_str() == "delete" => self.remove(p, name),
                _ => {}
            }
        }
    }

    fn insert(&mut self, p: &Process, name: Term, pid: Pid) {
        self.remove(p, &name);
        let monitor = p.monitor(pid);
        self.names.push((name, pid, monitor));
    }

    fn remove(&mut self, p: &Process, name: &Term) {
        if let Some(at) = self.names.iter().position(|(n, _, _)| n == name) {
            let (_, _, monitor) = self.names.swap_remove(at);
            p.demonitor(monitor);
        }
    }

    /// OTP's rule: a resource is held by one request id at a time, by any number of processes.
    fn set_lock(&mut self, p: &Process, resource: &Term, request: &Term, pid: Pid) -> bool {
        match self.locks.iter_mut().find(|lock| lock.resource == *resource) {
            Some(lock) if lock.request != *request => false,
            Some(lock) => {
                if !lock.holders.iter().any(|(holder, _)| *holder == pid) {
                    lock.holders.push((pid, p.monitor(pid)));
                }
                true
            }
            None => {
                let holders = vec![(pid, p.monitor(pid))];
                self.locks.push(Lock { resource: resource.clone(), request: request.clone(), holders });
                true
            }
        }
    }

    fn del_lock(&mut self, p: &Process, resource: &Term, request: &Term, pid: Pid) {
        for lock in self.locks.iter_mut().filter(|lock| lock.resource == *resource && lock.request == *request) {
            lock.holders.retain(|(holder, monitor)| {
                let keep = *holder != pid;
                if !keep {
                    p.demonitor(*monitor);
                }
                keep
            });
        }
        self.locks.retain(|lock| !lock.holders.is_empty());
    }

    /// Forgets the names and lock holders that `ended` picks out (their process or node is gone).
    fn gone(&mut self, ended: impl Fn(Pid, Ref) -> bool) {
        self.names.retain(|(_, pid, monitor)| !ended(*pid, *monitor));
        for lock in &mut self.locks {
            lock.holders.retain(|(pid, monitor)| !ended(*pid, *monitor));
        }
        self.locks.retain(|lock| !lock.holders.is_empty());
    }
}

/// `gen_server:cast({global_name_server, Peer}, {Fields...})` to a connected peer: an answer to a peer
/// that is gone (or that this node was asked to drop) must not connect to it again.
fn cast_to(p: &Process, peer: Atom, fields: Vec<Term>) {
    if crate::dist::is_visible(p.node(), peer) {
        cast_connecting(p, peer, fields);
    }
}

/// [`cast_to`], connecting first if need be (as OTP's `global` does to tell a node it is in sync).
fn cast_connecting(p: &Process, peer: Atom, fields: Vec<Term>) {
    let message = Term::tuple(vec![Term::atom("$gen_cast"), Term::tuple(fields)]);
    p.send_to_name_on(Atom::new("global_name_server"), peer, message);
}

/// The elements of a proper list (none for anything else).
fn list(term: &Term) -> &[Term] {
    match term {
        Term::List(items) => items,
        _ => &[],
    }
}

/// The nodes of a known-nodes list: atoms, or `{Node, Version}` pairs.
fn nodes_of(term: &Term) -> Vec<Atom> {
    list(term)
        .iter()
        .filter_map(|item| match item {
            Term::Atom(node) => Some(*node),
            Term::Tuple(pair) => match pair.first() {
                Some(Term::Atom(node)) => Some(*node),
                _ => None,
            },
            _ => None,
        })
        .collect()
}
