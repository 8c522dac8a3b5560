//! The part of `observer_backend` (runtime_tools) that `etop` uses on the node it watches, so
//! `etop:start([{node, Node}, {output, text}, {tracing, off}])` from an Erlang node shows this node's
//! processes:
//!
//! - `observer_backend:vsn/0`: `{ok, "erlnode-<version>"}` (etop only checks that it answers);
//! - `observer_backend:etop_collect(Collector)`: sends `{self(), #etop_info{}}` to `Collector`, with the
//!   processes' memory, message queue lengths and names (a registered name, else `'-'`). The BEAM's
//!   reductions and current functions have no counterpart here: reductions are 0, and the current
//!   function is `{erlnode, Status, 0}` with the process's status (`waiting`, `running`, `exiting`).
//!   Scheduler utilisation is not measured (`runtime` is `undefined`, which etop shows as 0 %).

use erlnode_etf::{Atom, Term};

use super::Rpc;
use crate::{Node, Status};

pub(super) fn register(rpc: &Rpc) {
    rpc.register("observer_backend", "vsn", 0, |_| async move {
        let version = concat!("erlnode-", env!("CARGO_PKG_VERSION"));
        Ok(Term::tuple(vec![Term::atom("ok"), Term::charlist(version)]))
    })
    .register_process("observer_backend", "etop_collect", 1, |p, args| async move {
        if let Term::Pid(collector) = args[0] {
            let info = etop_info(p.node(), p.self_pid());
            p.send(collector, Term::tuple(vec![Term::Pid(p.self_pid()), info]));
        }
        Ok(Term::atom("ok"))
    });
}

/// `#etop_info{now, n_procs, wall_clock, runtime, run_queue, alloc_areas, memi, procinfo}`.
fn etop_info(node: &Node, collector: crate::Pid) -> Term {
    let int = |n: u64| Term::from(n);
    let procs: Vec<Term> = node
        .processes()
        .into_iter()
        .filter(|pid| *pid != collector)
        .filter_map(|pid| node.process_info(pid))
        .map(|info| {
            let status = match info.status {
                Status::Waiting => "waiting",
                Status::Running => "running",
                Status::Exiting => "exiting",
            };
            let current = Term::tuple(vec![Term::atom("erlnode"), Term::atom(status), int(0)]);
            // #etop_proc_info{pid, mem, reds, name, runtime, cf, mq}
            Term::tuple(vec![
                Term::atom("etop_proc_info"),
                Term::Pid(info.pid),
                int(info.memory as u64),
                int(0),
                Term::Atom(info.registered_name.unwrap_or_else(|| Atom::new("-"))),
                int(0),
                current,
                int(info.message_queue_len as u64),
            ])
        })
        .collect();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let (secs, micros) = (now.as_secs(), u64::from(now.subsec_micros()));
    let timestamp = Term::tuple(vec![int(secs / 1_000_000), int(secs % 1_000_000), int(micros)]);
    let uptime = node.uptime().as_millis() as u64;
    let memory = super::builtins::memory(node).to_list().unwrap_or_default();
    let memi: Vec<Term> = ["total", "processes", "ets", "atom", "code", "binary"]
        .iter()
        .map(|key| {
            let value = memory.iter().find_map(|pair| match pair.as_tuple() {
                Some([k, v]) if crate::atoms::is(k, key) => Some(v.clone()),
                _ => None,
            });
            Term::tuple(vec![Term::atom(key), value.unwrap_or(int(0))])
        })
        .collect();
    Term::tuple(vec![
        Term::atom("etop_info"),
        timestamp,
        int(procs.len() as u64),
        Term::tuple(vec![int(uptime), int(uptime)]),
        Term::atom("undefined"),
        int(crate::scheduler::run_queue() as u64),
        Term::NIL,
        Term::list(memi),
        Term::list(procs),
    ])
}
