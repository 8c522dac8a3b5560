//! System messages: what Erlang's `sys` module and `proc_lib:stop` send a server,
//! `{system, From, Request}`, answered as `sys:handle_system_msg/6` answers them.

use erlnode_etf::{Atom, Pid, Term};

use crate::Process;

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
pub(super) fn handle(p: &Process, status: Status, from: &Term, request: &Term) -> System {
    let suspended = status.suspended;
    let go = |reply: Term, suspended: bool| {
        p.reply(from, reply);
        System::Go { suspended }
    };
    let ok = Term::atom("ok");
    match request {
        Term::Atom(a) => match a.as_str() {
            "get_state" => go(status.state, suspended),
            "get_status" => go(get_status(status), suspended),
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
            // A fun from Erlang cannot run here: the state stays, and sys:replace_state raises.
            Some([Term::Atom(a), _]) if a.as_str() == "replace_state" => {
                let why = Term::tuple(vec![Term::atom("erlnode"), Term::atom("erlang_funs_cannot_run_in_rust")]);
                let failed = Term::tuple(vec![Term::atom("callback_failed"), why, Term::atom("error")]);
                go(Term::error(failed), suspended)
            }
            // Tracing and logging (sys:trace, sys:log, ...) are not kept; the caller is told ok.
            Some([Term::Atom(a), ..]) if a.as_str() == "debug" => go(ok, suspended),
            Some([Term::Atom(a), ..]) if a.as_str() == "change_code" => go(ok, suspended),
            _ => go(unknown(request), suspended),
        },
    }
}

fn unknown(request: &Term) -> Term {
    Term::error(Term::tuple(vec![Term::atom("unknown_system_msg"), request.clone()]))
}

/// `sys:get_status/1`'s answer for a `gen_server`, in OTP's shape.
fn get_status(status: Status) -> Term {
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
                pair("Logged events", Term::list(vec![])),
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
