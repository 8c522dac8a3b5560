//! The caller's side: `call`, `cast` and `stop`, to Rust servers and Erlang `gen_server`s alike.

use std::time::Duration;

use erlnode_etf::{Atom, Pid, Term};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{MonitorTarget, Process, atoms};

/// A server to call: a pid, a name registered on this node, or a name on another node (`{Name, Node}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRef {
    /// A process by pid, local or remote.
    Pid(Pid),
    /// A name registered on this node.
    Name(Atom),
    /// A name registered on a node (name first, then node).
    NameOn(Atom, Atom),
}

impl From<Pid> for ServerRef {
    fn from(pid: Pid) -> ServerRef {
        ServerRef::Pid(pid)
    }
}

impl From<Atom> for ServerRef {
    fn from(name: Atom) -> ServerRef {
        ServerRef::Name(name)
    }
}

impl From<(Atom, Atom)> for ServerRef {
    fn from((name, node): (Atom, Atom)) -> ServerRef {
        ServerRef::NameOn(name, node)
    }
}

impl ServerRef {
    fn send(self, p: &Process, message: Term) {
        match self {
            ServerRef::Pid(pid) => p.send(pid, message),
            ServerRef::Name(name) => {
                let _ = p.send_named(name, message);
            }
            ServerRef::NameOn(name, node) => p.send_to_name_on(name, node, message),
        }
    }

    fn monitor_target(self) -> MonitorTarget {
        match self {
            ServerRef::Pid(pid) => MonitorTarget::Pid(pid),
            ServerRef::Name(name) => MonitorTarget::Name(name),
            ServerRef::NameOn(name, node) => MonitorTarget::NameOn(name, node),
        }
    }

    /// The node the server is on, when known from the reference.
    fn node(self, p: &Process) -> Atom {
        match self {
            ServerRef::Pid(pid) => pid.node,
            ServerRef::Name(_) => p.node().name(),
            ServerRef::NameOn(_, node) => node,
        }
    }
}

/// Why a [`call`] returned no reply. [`CallError::to_exit_reason`] gives the reason with which Erlang's
/// `gen_server:call` would exit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No answer in time (`timeout`). A late answer never reaches the caller's mailbox.
    #[error("no reply in time")]
    Timeout,
    /// No such process or name (`noproc`).
    #[error("no such server")]
    NoProc,
    /// The server's node is not reachable or went down during the call (`{nodedown, Node}`).
    #[error("the server's node {0} is down")]
    NodeDown(Atom),
    /// The server exited during the call, with this reason.
    #[error("the server exited: {0}")]
    Exit(Term),
    /// The reply did not deserialize into the asked type ([`call_as`] only).
    #[error("unexpected reply {reply}: {why}")]
    BadReply {
        /// The reply.
        reply: Term,
        /// What did not fit.
        why: String,
    },
}

impl CallError {
    /// The error for a monitor's DOWN with `reason` on a server of `node`.
    fn from_down(reason: &Term, node: Atom) -> CallError {
        match reason.as_atom().map(|a| a.as_str()) {
            Some("noproc") => CallError::NoProc,
            Some("noconnection") => CallError::NodeDown(node),
            _ => CallError::Exit(reason.clone()),
        }
    }

    /// The reason part of Erlang's `{Reason, {gen_server, call, [...]}}` exit for this error.
    pub fn to_exit_reason(&self) -> Term {
        match self {
            CallError::Timeout => Term::atom("timeout"),
            CallError::NoProc => Term::atom("noproc"),
            CallError::NodeDown(node) => Term::tuple(vec![Term::atom("nodedown"), Term::Atom(*node)]),
            CallError::Exit(reason) => reason.clone(),
            CallError::BadReply { reply, .. } => Term::tuple(vec![Term::atom("bad_reply"), reply.clone()]),
        }
    }
}

/// Calls `server` with `request` and waits up to `timeout` for its reply (`gen_server:call/3`). The server
/// is monitored meanwhile, so its death or its node's gives an error at once; the reply comes to the
/// monitor's alias, which ends with the monitor, so one that comes too late is dropped, as with OTP 24+.
pub async fn call(
    p: &mut Process,
    server: impl Into<ServerRef>,
    request: impl Into<Term>,
    timeout: Duration,
) -> Result<Term, CallError> {
    let server = server.into();
    // One reference for both, as OTP's gen:call: monitor(process, Server, [{alias, demonitor}]).
    let monitor = p.monitor_alias(server.monitor_target());
    let tag = Term::improper(vec![Term::Atom(atoms::alias())], Term::Ref(monitor));
    let from = Term::tuple(vec![Term::Pid(p.self_pid()), tag]);
    server.send(p, Term::tuple(vec![Term::Atom(atoms::gen_call()), from, request.into()]));
    // A local server runs on this scheduler once this process lets it: there is no reply to look for yet.
    tokio::task::yield_now().await;
    let answer = p
        .recv_match_timeout(
            |m| match m.as_tuple() {
                Some([_, _]) => is_reply(m, monitor),
                Some([_, _, _, _, _]) => crate::exit::is_down_of(m, &monitor),
                _ => false,
            },
            timeout,
        )
        .await;
    match answer {
        // The reply is taken out, not copied.
        Some(Term::Tuple(parts)) => match <[Term; 2]>::try_from(parts) {
            Ok([_, reply]) => {
                p.demonitor_flush(monitor);
                Ok(reply)
            }
            // The DOWN: its reason is last.
            Err(down) => {
                Err(down.last().map_or(CallError::Timeout, |reason| CallError::from_down(reason, server.node(p))))
            }
        },
        _ => {
            p.demonitor_flush(monitor);
            // A reply that came between the timeout and the demonitor is taken, as OTP's gen:call does.
            let late = p.recv_match_timeout(|m| is_reply(m, monitor), Duration::ZERO).await;
            match late.as_ref().and_then(Term::as_tuple) {
                Some([_, reply]) => Ok(reply.clone()),
                _ => Err(CallError::Timeout),
            }
        }
    }
}

/// `{[alias | Alias], Reply}`: the tag's tail is enough to tell a reply.
fn is_reply(message: &Term, alias: erlnode_etf::Ref) -> bool {
    matches!(message.as_tuple(), Some([Term::Improper(_, tail), _]) if matches!(**tail, Term::Ref(r) if r == alias))
}

/// [`call`] with a typed request and reply, converted through serde ([`to_term`](crate::to_term),
/// [`from_term`](crate::from_term)).
pub async fn call_as<R: DeserializeOwned>(
    p: &mut Process,
    server: impl Into<ServerRef>,
    request: &impl Serialize,
    timeout: Duration,
) -> Result<R, CallError> {
    let request = crate::to_term(request)
        .map_err(|e| CallError::BadReply { reply: Term::atom("request"), why: e.to_string() })?;
    let reply = call(p, server, request, timeout).await?;
    crate::from_term(&reply).map_err(|e| CallError::BadReply { why: e.to_string(), reply })
}

/// Sends `message` to `server` as a cast (`gen_server:cast/2`): `{'$gen_cast', Message}`, whether or not
/// the server exists.
pub fn cast(p: &Process, server: impl Into<ServerRef>, message: impl Into<Term>) {
    server.into().send(p, Term::tuple(vec![Term::Atom(atoms::gen_cast()), message.into()]));
}

/// Stops `server` with `reason` and waits until it has exited (`gen_server:stop/3`): its `terminate`
/// runs first. Fails with [`CallError::NoProc`] if there is no such server, or with the reason it exited
/// with when that is not `reason`.
pub async fn stop(
    p: &mut Process,
    server: impl Into<ServerRef>,
    reason: impl Into<Term>,
    timeout: Duration,
) -> Result<(), CallError> {
    let server = server.into();
    let reason = reason.into();
    // The server answers ok, then exits; the answer goes to the monitor's alias and is dropped below.
    let monitor = p.monitor_alias(server.monitor_target());
    let tag = Term::improper(vec![Term::Atom(atoms::alias())], Term::Ref(monitor));
    let from = Term::tuple(vec![Term::Pid(p.self_pid()), tag.clone()]);
    let request = Term::tuple(vec![Term::atom("terminate"), reason.clone()]);
    server.send(p, Term::tuple(vec![Term::atom("system"), from, request]));
    let down = p.recv_match_timeout(|m| crate::exit::is_down_of(m, &monitor), timeout).await;
    if down.is_none() {
        p.demonitor_flush(monitor);
    }
    let _ = p.recv_match_timeout(|m| matches!(m.as_tuple(), Some([t, _]) if *t == tag), Duration::ZERO).await;
    match down.as_ref().and_then(Term::as_tuple) {
        Some([_, _, _, _, exited]) if *exited == reason => Ok(()),
        Some([_, _, _, _, exited]) => Err(CallError::from_down(exited, server.node(p))),
        _ => Err(CallError::Timeout),
    }
}
