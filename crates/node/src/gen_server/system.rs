//! System messages: what Erlang's `sys` module and `proc_lib:stop` send a server,
//! `{system, From, Request}`, answered as `sys:handle_system_msg/6` answers them.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use erlnode_dist::DistFlags;

use erlnode_etf::{Atom, Pid, Term};

use super::debug::Debug;
use crate::Process;
use crate::rpc::RpcError;

/// What the server is, for `get_state` and `get_status`.
pub(super) struct Status {
    pub(super) pid: Pid,
    pub(super) parent: Option<Pid>,
    pub(super) name: Option<Atom>,
    pub(super) state: Term,
    pub(super) suspended: bool,
}

/// What the server does after a system message.
pub(super) enum System {
    /// Go on, suspended (only system messages are handled) or not.
    Go { suspended: bool },
    /// Stop with this reason (`{terminate, Reason}`, from `proc_lib:stop`).
    Terminate(Term),
}

/// `true` for `{system, From, Request}`.
pub(super) fn is_system_message(message: &Term) -> bool {
    matches!(message.as_tuple(), Some([Term::Atom(tag), _, _]) if tag.as_str() == "system")
}

/// Answers `request` from `from` and says how the server goes on.
pub(super) fn handle(p: &Process, status: Status, debug: &mut Debug, from: &Term, request: &Term) -> System {
    let suspended = status.suspended;
    let go = |reply: Term, suspended: bool| {
        p.reply(from, reply);
        System::Go { suspended }
    };
    let ok = Term::atom("ok");
    match request {
        Term::Atom(a) => match a.as_str() {
            "get_status" => go(get_status(status, debug.logged()), suspended),
            "suspend" => go(ok, true),
            "resume" => go(ok, false),
            _ => go(unknown(request), suspended),
        },
        _ => match request.as_tuple() {
            // Answered before the server stops, as sys does: proc_lib:stop expects the ok, then the DOWN.
            Some([Term::Atom(a), reason]) if a.as_str() == "terminate" => {
                p.reply(from, ok);
                System::Terminate(reason.clone())
            }
            Some([Term::Atom(a), what]) if a.as_str() == "debug" => {
                let reductions = p.entry().stats.reductions.load(std::sync::atomic::Ordering::Relaxed);
                go(debug.command(status.pid, what, reductions), suspended)
            }
            Some([Term::Atom(a), ..]) if a.as_str() == "change_code" => go(ok, suspended),
            _ => go(unknown(request), suspended),
        },
    }
}

/// `true` for the `get_state` request (answered by the server: see [`state_answer`]).
pub(super) fn is_get_state(request: &Term) -> bool {
    matches!(request, Term::Atom(a) if a.as_str() == "get_state")
}

/// How long the caller's node may take to say its stdlib version.
const VERSION_TIMEOUT: Duration = Duration::from_secs(1);

/// What each caller node (by name and creation) said: `true` for `{ok, State}` answers.
static SHAPES: Mutex<Vec<((Atom, u32), bool)>> = Mutex::new(Vec::new());

/// The answer to `get_state` or `replace_state` that carries `state`, in the shape the caller's `sys`
/// module takes: the bare state up to OTP 26.0, `{ok, State}` from OTP 26.1 (stdlib 5.1) on, where the
/// change let a state of the form `{error, _}` be told from a failure. The caller's node is asked its
/// stdlib version once (per incarnation). A caller on this node, one of a node that cannot spawn the
/// question (not an Erlang node: a C node, JInterface), or one that does not answer within a second, is
/// taken to be current.
pub(super) async fn state_answer(p: &mut Process, caller: Option<Pid>, state: Term) -> Term {
    let wrap = |state| Term::tuple(vec![Term::atom("ok"), state]);
    let Some(caller) = caller.filter(|c| c.node != p.node().name()) else { return wrap(state) };
    let key = (caller.node, caller.creation);
    let known = SHAPES.lock().unwrap_or_else(PoisonError::into_inner).iter().find(|(k, _)| *k == key).map(|(_, w)| *w);
    let wraps = match known {
        Some(wraps) => wraps,
        None if !crate::dist::peer_flags(p.node(), caller.node).is_some_and(|f| f.contains(DistFlags::SPAWN)) => true,
        None => {
            let args = vec![Term::atom("stdlib"), Term::atom("vsn")];
            match p.rpc_call(caller.node, "application", "get_key", args, VERSION_TIMEOUT).await {
                Ok(vsn) => {
                    let wraps = wraps_state(&vsn);
                    let mut shapes = SHAPES.lock().unwrap_or_else(PoisonError::into_inner);
                    // Node names come and go; the last few hundred are plenty.
                    if shapes.len() >= 256 {
                        shapes.remove(0);
                    }
                    shapes.push((key, wraps));
                    wraps
                }
                Err(_) => true,
            }
        }
    };
    if wraps { wrap(state) } else { state }
}

/// From `application:get_key(stdlib, vsn)`'s answer: `true` from stdlib 5.1 (OTP 26.1) on.
fn wraps_state(answer: &Term) -> bool {
    let Some([_, vsn]) = answer.as_tuple() else { return true };
    let Some(vsn) = vsn.to_text() else { return true };
    let mut numbers = vsn.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (5, 1)
}

/// The fun of a `{replace_state, Fun}` request (answered by the server, which holds the state).
pub(super) fn replace_state_fun(request: &Term) -> Option<Term> {
    match request.as_tuple() {
        Some([Term::Atom(a), fun]) if a.as_str() == "replace_state" => Some(fun.clone()),
        _ => None,
    }
}

/// How long a fun of `sys:replace_state` may take: `sys`'s default timeout.
const FUN_TIMEOUT: Duration = Duration::from_secs(5);

/// Applies `fun` to `state` where its code is (see [`GenServer::replace_state`](super::GenServer)):
/// its result, or how it failed as `(Class, Reason)`.
pub(super) async fn apply_fun(p: &mut Process, caller: Atom, fun: Term, state: Term) -> Result<Term, (Term, Term)> {
    let here = p.node().name();
    let outcome = match &fun {
        Term::Export(e) if e.arity == 1 => {
            let node = if p.node().rpc().is_registered(e.module, e.function, 1) { here } else { caller };
            p.rpc_call(node, e.module.as_str(), e.function.as_str(), vec![state], FUN_TIMEOUT).await
        }
        Term::Fun(f) if f.arity == 1 => {
            let args = vec![fun.clone(), Term::list(vec![state])];
            p.rpc_call(f.pid.node, "erlang", "apply", args, FUN_TIMEOUT).await
        }
        _ => return Err((Term::atom("error"), Term::tuple(vec![Term::atom("badfun"), fun]))),
    };
    outcome.map_err(|e| match e {
        RpcError::Throw(value) => (Term::atom("throw"), value),
        RpcError::Exit(reason) | RpcError::Signal(reason) => (Term::atom("exit"), reason),
        RpcError::Error { reason, .. } => (Term::atom("error"), reason),
        other => (Term::atom("error"), other.to_badrpc()),
    })
}

fn unknown(request: &Term) -> Term {
    Term::error(Term::tuple(vec![Term::atom("unknown_system_msg"), request.clone()]))
}

/// `sys:get_status/1`'s answer for a `gen_server`, in OTP's shape.
fn get_status(status: Status, logged: Vec<Term>) -> Term {
    let Status { pid, parent, name, state, suspended } = status;
    let sys_state = Term::atom(if suspended { "suspended" } else { "running" });
    let parent = Term::Pid(parent.unwrap_or(pid));
    let who = name.map_or_else(|| pid.to_string(), |n| n.as_str().to_string());
    let pair = |key: &str, value: Term| Term::tuple(vec![Term::charlist(key), value]);
    let formatted = Term::list(vec![
        Term::tuple(vec![Term::atom("header"), Term::charlist(&format!("Status for generic server {who}"))]),
        Term::tuple(vec![
            Term::atom("data"),
            Term::list(vec![
                pair("Status", sys_state.clone()),
                pair("Parent", parent.clone()),
                pair("Logged events", Term::list(logged)),
            ]),
        ]),
        Term::tuple(vec![Term::atom("data"), Term::list(vec![pair("State", state)])]),
    ]);
    Term::tuple(vec![
        Term::atom("status"),
        Term::Pid(pid),
        Term::tuple(vec![Term::atom("module"), Term::atom("gen_server")]),
        Term::list(vec![Term::list(vec![]), sys_state, parent, Term::list(vec![]), formatted]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stdlib(vsn: &str) -> Term {
        Term::tuple(vec![Term::atom("ok"), Term::charlist(vsn)])
    }

    #[test]
    fn the_state_is_wrapped_for_otp_26_1_and_later() {
        // OTP 25.3 (stdlib 4.3), 26.0.2 (5.0.2): the bare state.
        assert!(!wraps_state(&stdlib("4.3")));
        assert!(!wraps_state(&stdlib("5.0.2")));
        // OTP 26.1 (5.1), 26.2.5 (5.2.3), 27 (6.x), 28 (7.x): {ok, State}.
        for vsn in ["5.1", "5.2.3", "6.0", "6.2.1", "7.0"] {
            assert!(wraps_state(&stdlib(vsn)), "{vsn}");
        }
        // An answer that says nothing (undefined): taken as current.
        assert!(wraps_state(&Term::atom("undefined")));
    }
}
