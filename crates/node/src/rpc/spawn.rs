//! Remote spawn, both ends: a peer's `SPAWN_REQUEST` starts a process here, and the `SPAWN_REPLY` to a
//! request made here ties the requester to the new process.
//!
//! A request names `{Module, Function, Arity}`, carries the argument list and options (`link`,
//! `monitor`), and is answered with `SPAWN_REPLY`: the new pid and whether it was linked or monitored, or
//! an error atom. The answer is queued before the new process runs, so it reaches the requester ahead of
//! anything the process sends (for an erpc call the two are usually written together). The one exception
//! is a call begun without a process (below): what it sends in its first poll is queued before the answer,
//! which no ordering rule of Erlang's forbids (the sender is not the new process).
//!
//! `erpc:execute_call/4` and `erpc:execute_cast/3` (what `erpc` and, since OTP 23, `rpc` send) run the
//! function they name and end with its result; any other `{M, F, Arity}` is run as a spawned function,
//! and one that is not registered ends its process with `undef`, as on the BEAM, where the spawn succeeds
//! and the process fails. An erpc call of a function that needs no process and returns at its first poll
//! makes none (see `execute::begin`): the answer names a fresh pid that no process holds, and the `DOWN`
//! with the result follows it in the same write.

use erlnode_dist::control::{Control, Proc, SPAWN_REPLY_LINK, SPAWN_REPLY_MONITOR};
use erlnode_dist::flags::DistFlags;
use erlnode_etf::{Atom, Pid, Ref, Term};

use super::execute::{self, Begun, Outcome};
use crate::process::{self, Parent, SpawnError};
use crate::{Node, Process, atoms};

/// Which answers to a spawn request its requester wants as messages (Erlang's `{reply, ...}` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// `{spawn_reply, ReqId, ok, Pid}` and `{spawn_reply, ReqId, error, Reason}`.
    Yes,
    /// Only `{spawn_reply, ReqId, error, Reason}`.
    ErrorOnly,
    /// Neither.
    No,
}

/// A spawn request a local process made and has not had answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    /// The node asked.
    pub(crate) node: Atom,
    /// Which answers the requester wants as messages.
    pub(crate) reply: Reply,
    /// The new process is to be linked to the requester.
    pub(crate) link: bool,
}

/// A spawn request from `from`, to be answered through `answer` (over the connection it came on, or
/// locally for a request of this node's own).
pub(crate) struct Request {
    pub(crate) req_id: Ref,
    pub(crate) from: Pid,
    pub(crate) module: Atom,
    pub(crate) function: Atom,
    pub(crate) arity: u8,
    pub(crate) opts: Vec<Term>,
    pub(crate) args: Term,
}

/// Serves a peer's `SPAWN_REQUEST`. The requester must be a process of that peer: a request naming
/// another node's process (this node's included) is dropped, as the BEAM drops it.
pub(crate) fn from_peer(node: &Node, peer: Atom, request: Request) {
    let (req_id, to) = (request.req_id, request.from);
    if to.node != peer {
        tracing::debug!(%peer, requester = %to, "spawn request for a process of another node dropped");
        return;
    }
    if node.distribution().is_some_and(|d| !d.local.flags.contains(DistFlags::SPAWN)) {
        let refused = Control::SpawnReply { req_id, to, flags: 0, result: Err(Atom::new("notsup")) };
        crate::dist::send(node, peer, refused, None);
        return;
    }
    let answer = |flags: u32, result: Result<Pid, Atom>| {
        crate::dist::send(node, peer, Control::SpawnReply { req_id, to, flags, result }, None);
    };
    serve(node, request, &answer, true);
}

/// Serves a spawn request and answers it through `answer`; `remote` when the answer is written to a
/// connection.
pub(crate) fn serve(node: &Node, request: Request, answer: &dyn Fn(u32, Result<Pid, Atom>), remote: bool) {
    let Request { req_id, from, module, function, arity, opts, args } = request;
    let Some((link, monitor)) = options(&opts) else {
        return answer(0, Err(Atom::new("badopt")));
    };
    let args = match args.into_list() {
        Ok(args) if args.len() == usize::from(arity) => args,
        _ => return answer(0, Err(crate::atoms::badarg())),
    };
    let flags = if link { SPAWN_REPLY_LINK } else { 0 } | if monitor { SPAWN_REPLY_MONITOR } else { 0 };
    let announce = |pid: Pid| answer(flags, Ok(pid));
    let erpc_call = remote && module == atoms::erpc() && function == atoms::execute_call() && monitor && !link;
    // An erpc call of a function that needs no process is begun here; one that ends at once is answered
    // as a process that ended at once: a pid no process has, then its DOWN with the result.
    let (args, running) = match if erpc_call { call_parts(args) } else { Err(args) } {
        Ok((res, m, f, call_args)) => match execute::begin(node, m, f, call_args) {
            Ok(Begun::Done(outcome)) => {
                let pid = node.reserve_pid();
                announce(pid);
                let down = Control::PayloadMonitorPExit { from: Proc::Pid(pid), to: from, reference: req_id };
                crate::dist::send(node, from.node, down, Some(outcome.erpc(res)));
                return;
            }
            Ok(Begun::Running(call)) => (Vec::new(), Some((res, call))),
            Err(call_args) => (vec![res, Term::Atom(m), Term::Atom(f), Term::List(call_args)], None),
        },
        Err(args) => (args, None),
    };
    let parent = Parent::Requester { pid: from, link, monitor: monitor.then_some(req_id), announce: &announce };
    // An erpc call's process usually answers in its first poll: when it runs next here, its result and
    // the spawn's answer go out in one write.
    let carry = erpc_call && crate::scheduler::slot_free();
    let spawned = match running {
        Some((res, call)) => process::spawn(node, move |_| async move { Err(call.await.erpc(res)) }, parent),
        None => process::spawn(node, move |p| run(p, module, function, args), parent),
    };
    match spawned {
        Ok(_) if carry => crate::scheduler::carry_writes(),
        Ok(_) => {}
        Err(SpawnError::SystemLimit(_)) => answer(0, Err(crate::atoms::system_limit())),
    }
}

/// `[Res, Module, Function, Args]`, the arguments of `erpc:execute_call/4`, when they are those; else
/// the arguments back.
fn call_parts(args: Vec<Term>) -> Result<(Term, Atom, Atom, Vec<Term>), Vec<Term>> {
    if !matches!(args.as_slice(), [_, Term::Atom(_), Term::Atom(_), Term::List(_) | Term::Charlist(_)]) {
        return Err(args);
    }
    match <[Term; 4]>::try_from(args) {
        Ok([res, Term::Atom(m), Term::Atom(f), a]) => Ok((res, m, f, a.into_list().unwrap_or_default())),
        // Not reached: the shape was checked.
        Ok(parts) => Err(parts.into()),
        Err(args) => Err(args),
    }
}

/// `link` and `monitor` from a request's options; other well-formed options (priority, heap sizes, ...)
/// mean nothing here and are accepted. `None` for an option list that is not a list of options.
fn options(opts: &[Term]) -> Option<(bool, bool)> {
    let (mut link, mut monitor) = (false, false);
    for opt in opts {
        match opt {
            Term::Atom(a) if a.as_str() == "link" => link = true,
            Term::Atom(a) if a.as_str() == "monitor" => monitor = true,
            Term::Atom(_) => {}
            Term::Tuple(t) if t.len() == 2 && t[0].as_atom().is_some_and(|a| a.as_str() == "monitor") => monitor = true,
            Term::Tuple(t) if t.len() == 2 && t[0].as_atom().is_some() => {}
            _ => return None,
        }
    }
    Some((link, monitor))
}

/// The body of a spawned process: `erpc`'s call and cast wrappers, or the function itself.
async fn run(p: Process, module: Atom, function: Atom, args: Vec<Term>) -> crate::ExitResult {
    let erpc = module == atoms::erpc();
    let proper = |a: &Term| matches!(a, Term::List(_) | Term::Charlist(_));
    let args = if erpc && function == atoms::execute_call() {
        match call_parts(args) {
            Ok((res, m, f, call_args)) => return Err(execute::apply(p, m, f, call_args).await.erpc(res)),
            Err(args) => args,
        }
    } else {
        args
    };
    match (erpc, function, args.as_slice()) {
        (true, f, [Term::Atom(m), Term::Atom(f2), a]) if f == atoms::execute_cast() && proper(a) => {
            let (m, f, call_args) = (*m, *f2, a.to_list().unwrap_or_default());
            let arity = call_args.len();
            match execute::apply(p, m, f, call_args).await {
                // As erpc: an error is raised again as {exception, {Reason, Stack}}; nobody waits for it.
                Outcome::Error(reason, stack) => {
                    tracing::warn!(module = %m, function = %f, %reason, "erpc:cast of a function failed");
                    let exception = Term::tuple(vec![Term::atom("exception"), Term::tuple(vec![reason, stack])]);
                    Err(Term::tuple(vec![exception, Term::NIL]))
                }
                outcome => execute::as_exit(outcome.exit_reason(m, f, arity)),
            }
        }
        _ => execute::run_as_process(p, module, function, args).await,
    }
}

/// A `SPAWN_REPLY` from `peer` to the local process `to`: ties it to the new process as the flags say
/// and tells it, if it asked to be told. A requester that has ended or abandoned the request is not
/// tied: the new process gets an exit signal through its link (the requester's exit reason, or
/// `abandoned`) and the monitor is taken down. Only the node asked can answer, with a process of its own.
pub(crate) fn reply(node: &Node, peer: Atom, req_id: Ref, to: Pid, flags: u32, result: Result<Pid, Atom>) {
    if result.is_ok_and(|pid| pid.node != peer) {
        tracing::debug!(%peer, "spawn reply naming another node's process dropped");
        return;
    }
    let (link, monitor) = (flags & SPAWN_REPLY_LINK != 0, flags & SPAWN_REPLY_MONITOR != 0);
    let entry = node.lookup(to);
    let wanted = entry.as_ref().and_then(|entry| {
        let mut state = entry.lock();
        if !state.alive {
            return None;
        }
        let ties = state.ties_if_any()?;
        if ties.spawn_requests.get(&req_id).is_none_or(|pending| pending.node != peer) {
            return None;
        }
        let wanted = ties.spawn_requests.remove(&req_id)?.reply;
        if let Ok(pid) = result {
            if link {
                ties.links.insert(pid);
            }
            if monitor {
                ties.monitors.insert(req_id, crate::process::monitor::Held::plain(pid));
            }
        }
        Some(wanted)
    });
    // An answer nobody waits for: the exit reason kept for it, if any, is used now or never.
    let ended = if wanted.is_none() { node.rpc().take_orphan(req_id, peer) } else { None };
    match (wanted, result) {
        (Some(Reply::Yes), Ok(pid)) => deliver(entry, answer(req_id, Term::Atom(atoms::ok()), Term::Pid(pid))),
        (Some(Reply::Yes | Reply::ErrorOnly), Err(reason)) => {
            deliver(entry, answer(req_id, Term::Atom(atoms::error()), Term::Atom(reason)))
        }
        (None, Ok(pid)) => {
            if link {
                let reason = ended.unwrap_or_else(|| Term::atom("abandoned"));
                process::exit_signal_via_link(node, pid, to, reason);
            }
            if monitor && !node.is_local(pid) {
                let control = Control::DemonitorP { from: to, to: Proc::Pid(pid), reference: req_id };
                crate::dist::send(node, pid.node, control, None);
            } else if monitor {
                process::remote_demonitor(node, pid, req_id);
            }
        }
        _ => {}
    }
}

/// A process ends with spawn requests unanswered: those to be linked keep its exit reason, which the new
/// process gets through its link when the answer comes (as a link made before the end would have).
pub(crate) fn requester_ended(node: &Node, pending: crate::hash::NumberMap<Ref, Pending>, reason: &Term) {
    for (req_id, request) in pending {
        if request.link {
            node.rpc().keep_orphan(req_id, request.node, reason.clone());
        }
    }
}

/// `{spawn_reply, ReqId, Status, PidOrReason}`, the message that answers a spawn request.
pub(crate) fn answer(req_id: Ref, status: Term, value: Term) -> Term {
    Term::tuple(vec![Term::Atom(atoms::spawn_reply()), Term::Ref(req_id), status, value])
}

fn deliver(entry: Option<std::sync::Arc<process::ProcEntry>>, message: Term) {
    if let Some(entry) = entry {
        entry.deliver(message);
    }
}
