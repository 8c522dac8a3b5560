//! `rex`: the RPC server every Erlang node runs, as `rpc:block_call`, `rpc:call` to pre-OTP 23 nodes,
//! `rpc:cast` to nodes without spawn support, `rpc:sbcast` and a published node's `nodeup` use it.
//!
//! - `{Pid, features_request}` is answered `{features_reply, Node, [erpc]}`: this node serves
//!   `SPAWN_REQUEST`, so OTP's `rpc` uses `erpc` with it (`[]` when remote spawn is turned off).
//! - `{'$gen_call', From, {call, M, F, A, GroupLeader}}` runs the function in a process of its own and
//!   answers as `rpc` does (the value, a thrown value, or `{badrpc, {'EXIT', Reason}}`);
//!   `{block_call, ...}` does the same but `rex` takes no other message until it is done.
//! - `{'$gen_cast', {cast, M, F, A, GroupLeader}}` runs the function and drops the result.
//! - `{From, {sbcast, Name, Msg}}` and `{From, {send, Name, Msg}}` deliver to a registered name and answer
//!   `{rex, Node, Node}` or `{rex, Node, {nonexisting_name, Name}}`; `{From, {call, ...}}` (a C node's
//!   call) is answered `{rex, Reply}`.
//!
//! Other calls are ignored, as OTP's `rex` ignores them.

use std::collections::HashMap;

use erlnode_dist::flags::DistFlags;
use erlnode_etf::{Atom, Ref, Term};

use super::execute;
use crate::atoms::is;
use crate::{Node, Process, exit};

/// Starts `rex` on `node`.
pub(crate) fn start(node: &Node) {
    let spawned = node.spawn(|mut p| async move {
        // The callers of calls running now, by the monitor on the process running each.
        let mut running: HashMap<Ref, Term> = HashMap::new();
        loop {
            let message = p.recv().await;
            serve(&mut p, &mut running, message).await;
        }
    });
    if let Ok(pid) = spawned {
        let _ = node.register(Atom::new("rex"), pid);
    }
}

/// `(M, F, Args)` of `{Tag, M, F, Args, GroupLeader}`. Arguments that are not a list make the call
/// `erlang:apply(M, F, Args)`, which fails with `badarg` as OTP's `rex` does.
fn mfa(request: &Term, tag: &str) -> Option<(Atom, Atom, Vec<Term>)> {
    match request.as_tuple() {
        Some([t, Term::Atom(m), Term::Atom(f), args, _]) if is(t, tag) => Some(match args.to_list() {
            Some(args) => (*m, *f, args),
            None => (Atom::new("erlang"), Atom::new("apply"), vec![Term::Atom(*m), Term::Atom(*f), args.clone()]),
        }),
        _ => None,
    }
}

async fn serve(p: &mut Process, running: &mut HashMap<Ref, Term>, message: Term) {
    let Some(parts) = message.as_tuple() else { return };
    match parts {
        [Term::Pid(from), what] if is(what, "features_request") => {
            let spawns = p.node().distribution().is_none_or(|d| d.local.flags.contains(DistFlags::SPAWN));
            let features = Term::list(if spawns { vec![Term::atom("erpc")] } else { vec![] });
            p.send(*from, Term::tuple(vec![Term::atom("features_reply"), Term::Atom(p.node().name()), features]));
        }
        [tag, from, request] if is(tag, "$gen_call") => {
            if let Some((m, f, args)) = mfa(request, "call") {
                call(p, running, from.clone(), m, f, args);
            } else if let Some((m, f, args)) = mfa(request, "block_call") {
                let monitor = call(p, running, from.clone(), m, f, args);
                if let Some(monitor) = monitor {
                    let down = p.recv_match(|m| exit::is_down_of(m, &monitor)).await;
                    finished(p, running, down);
                }
            }
        }
        [tag, request] if is(tag, "$gen_cast") => {
            if let Some((m, f, args)) = mfa(request, "cast") {
                let _ = p.spawn(move |worker| async move {
                    if let execute::Outcome::Error(reason, _) = execute::apply(worker, m, f, args).await {
                        tracing::warn!(module = %m, function = %f, %reason, "rpc:cast of a function failed");
                    }
                    Ok(())
                });
            }
        }
        [Term::Pid(from), request] => match request.as_tuple() {
            Some([kind, Term::Atom(name), msg]) if is(kind, "sbcast") || is(kind, "send") => {
                let msg = if is(kind, "send") { Term::tuple(vec![Term::Pid(*from), msg.clone()]) } else { msg.clone() };
                let node = Term::Atom(p.node().name());
                let answer = match p.node().whereis(*name) {
                    Some(pid) => {
                        p.send(pid, msg);
                        if is(kind, "send") {
                            return;
                        }
                        node.clone()
                    }
                    None => Term::tuple(vec![Term::atom("nonexisting_name"), Term::Atom(*name)]),
                };
                p.send(*from, Term::tuple(vec![Term::atom("rex"), node, answer]));
            }
            _ => {
                if let Some((m, f, args)) = mfa(request, "call") {
                    let from = Term::tuple(vec![Term::Pid(*from), Term::atom("rex")]);
                    call(p, running, from, m, f, args);
                }
            }
        },
        [tag, ..] if is(tag, "DOWN") => finished(p, running, message),
        _ => {}
    }
}

/// Starts a monitored process that runs `m:f(args)` and answers `from`; `None` if it cannot be spawned
/// (then `from` is answered `{badrpc, {'EXIT', system_limit}}`).
fn call(p: &Process, running: &mut HashMap<Ref, Term>, from: Term, m: Atom, f: Atom, args: Vec<Term>) -> Option<Ref> {
    let reply_to = from.clone();
    let spawned = p.spawn_monitor(move |worker| async move {
        let node = worker.node().clone();
        let answer = execute::apply(worker, m, f, args).await.rex();
        crate::process::call::reply_from(&node, &reply_to, answer);
        Ok(())
    });
    match spawned {
        Ok((_, monitor)) => {
            running.insert(monitor, from);
            Some(monitor)
        }
        Err(_) => {
            let exit = Term::tuple(vec![Term::atom("EXIT"), exit::system_limit()]);
            p.reply(&from, Term::tuple(vec![Term::atom("badrpc"), exit]));
            None
        }
    }
}

/// A call's process has ended: a caller it did not answer (it was killed) gets `{badrpc, {'EXIT', Reason}}`.
fn finished(p: &Process, running: &mut HashMap<Ref, Term>, down: Term) {
    let Some([_, Term::Ref(monitor), _, _, reason]) = down.as_tuple() else { return };
    if let Some(from) = running.remove(monitor) {
        if !exit::is_normal(reason) {
            let exit = Term::tuple(vec![Term::atom("EXIT"), reason.clone()]);
            p.reply(&from, Term::tuple(vec![Term::atom("badrpc"), exit]));
        }
    }
}
