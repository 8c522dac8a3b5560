//! Child specs written in Erlang: what `supervisor:start_child/2` sends from an Erlang node, a map
//! `#{id => Id, start => {M, F, Args}, restart => R, significant => B, shutdown => S, type => T,
//! modules => Ms}` or the old
//! tuple `{Id, {M, F, Args}, Restart, Shutdown, Type, Modules}`.
//!
//! An Erlang start function runs inside the supervisor and returns `{ok, Pid}`; a Rust function cannot
//! run inside a supervisor of this node, so `{M, F, Args}` names a function registered with
//! [`Rpc`](crate::rpc::Rpc) (usually with `register_process`) that *is* the child: it is spawned linked
//! to the supervisor, as `spawn_link(M, F, Args)` would, and the child ends when it returns (`normal`) or
//! raises (the reason an Erlang process would end with). A function that is not registered is refused
//! with `{'EXIT', {undef, [{M, F, Args, []}]}}`, the reason OTP gives when the start function is undefined.

use std::time::Duration;

use erlnode_etf::{Atom, Term};

use super::{ChildSpec, ChildType, Restart, Shutdown, Start};
use crate::rpc::execute;

/// The spec `spec` describes, or the reason `supervisor:start_child/2` gives for refusing it.
pub(crate) fn parse(spec: &Term) -> Result<ChildSpec, Term> {
    let (id, start, restart, shutdown, child_type, significant) = match spec {
        Term::Map(map) => {
            let get = |key: &str| map.get(&Term::atom(key)).cloned();
            let id = get("id").ok_or_else(|| Term::atom("missing_id"))?;
            let start = get("start").ok_or_else(|| Term::atom("missing_start"))?;
            (id, start, get("restart"), get("shutdown"), get("type"), get("significant"))
        }
        Term::Tuple(parts) if parts.len() == 6 => {
            let part = |i: usize| Some(parts[i].clone());
            (parts[0].clone(), parts[1].clone(), part(2), part(3), part(4), None)
        }
        other => return Err(Term::tuple(vec![Term::atom("invalid_child_spec"), other.clone()])),
    };
    let invalid = |what: &str, value: &Term| Term::tuple(vec![Term::atom(what), value.clone()]);
    let (module, function, args) = match start.as_tuple() {
        Some([Term::Atom(m), Term::Atom(f), a]) if a.to_list().is_some() => (*m, *f, a.to_list().unwrap_or_default()),
        _ => return Err(invalid("invalid_mfa", &start)),
    };
    let restart = match restart.as_ref().map(|r| r.as_atom().map(|a| a.as_str())) {
        None | Some(Some("permanent")) => Restart::Permanent,
        Some(Some("transient")) => Restart::Transient,
        Some(Some("temporary")) => Restart::Temporary,
        Some(_) => return Err(invalid("invalid_restart_type", restart.as_ref().unwrap_or(&Term::NIL))),
    };
    let child_type = match child_type.as_ref().map(|t| t.as_atom().map(|a| a.as_str())) {
        None | Some(Some("worker")) => ChildType::Worker,
        Some(Some("supervisor")) => ChildType::Supervisor,
        Some(_) => return Err(invalid("invalid_child_type", child_type.as_ref().unwrap_or(&Term::NIL))),
    };
    let shutdown = match &shutdown {
        None if child_type == ChildType::Supervisor => Shutdown::Infinity,
        None => Shutdown::Timeout(Duration::from_secs(5)),
        Some(Term::Atom(a)) if a.as_str() == "brutal_kill" => Shutdown::BrutalKill,
        Some(Term::Atom(a)) if a.as_str() == "infinity" => Shutdown::Infinity,
        Some(Term::Int(ms)) if *ms >= 0 => Shutdown::Timeout(Duration::from_millis(*ms as u64)),
        Some(other) => return Err(invalid("invalid_shutdown", other)),
    };
    let significant = match &significant {
        None => false,
        Some(Term::Atom(a)) if a.is_bool() => a.as_str() == "true",
        Some(other) => return Err(invalid("invalid_significant", other)),
    };
    let mut spec = ChildSpec::new(id, move |s: Start| start_registered(s, module, function, args.clone()))
        .significant(significant)
        .restart(restart)
        .shutdown(shutdown)
        .child_type(child_type);
    spec.start_mfa = start;
    Ok(spec)
}

/// Spawns the registered `module:function(args)` as a child linked to the supervisor.
async fn start_registered(s: Start, module: Atom, function: Atom, args: Vec<Term>) -> Result<Option<crate::Pid>, Term> {
    if !s.node().rpc().is_registered(module, function, args.len()) {
        let undef = execute::undef(module, function, args).exit_reason(module, function, 0);
        return Err(Term::tuple(vec![Term::atom("EXIT"), undef]));
    }
    s.spawn_link(move |p| execute::run_as_process(p, module, function, args))
}
