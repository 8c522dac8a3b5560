//! The part of `observer_backend` (runtime_tools) that `etop` and the `observer` GUI call on the node
//! they watch, so `etop:start([{node, Node}, {output, text}, {tracing, off}])` shows this node's
//! processes and `observer` can pick this node from its Nodes menu:
//!
//! - `vsn/0`: `{ok, "erlnode-<version>"}` (etop only checks that it answers);
//! - `etop_collect(Collector)`: sends `{self(), #etop_info{}}` to `Collector`, with the processes'
//!   memory, message queue lengths and names (a registered name, else `'-'`) and the schedulers' wall
//!   time. The BEAM's reductions and current functions have no exact counterpart here: reductions count
//!   polls and sends (see `ProcessInfo::reductions`), and the current function is `{erlnode, Status, 0}`
//!   with the process's status (`waiting`, `running`, `exiting`). observer's Processes tab uses it too,
//!   since `procs_info/1` is not exported here;
//! - `sys_info/0` (the System and Memory Allocators tabs): the same keys as OTP 25's, from the runtime.
//!   Rust's allocator keeps no statistics of its own, so `alloc_info` holds one allocator, `rust_alloc`,
//!   whose blocks are what the runtime knows it holds (processes and atoms, as in `erlang:memory/0`) and
//!   whose carriers are the OS process's resident memory. `io_input`/`io_output` are the bytes the
//!   distribution connections read and wrote (erlnode has no ports, whose bytes the BEAM counts), and
//!   the port and ETS limits are left out, since erlnode has neither;
//! - `fetch_stats(Parent, Millis)` (the Load Charts tab): every `Millis` sends
//!   `{stats, 1, SchedulerWallTime, {{input, In}, {output, Out}}, Memory}` to `Parent` until it gets any
//!   message. A scheduler counts as busy whenever it is not asleep, so a reader polling its socket counts;
//! - `get_port_list/0`, `get_socket_list/0` and `get_table_list/2`: `[]` (no ports, sockets or tables);
//!   `socket_info/0` (the Sockets tab's summary): every count 0;
//! - `proc_lib:translate_initial_call/1` (the process window's State tab): `{proc_lib, init_p, 5}`, as
//!   OTP answers for a process that recorded no initial call. The window's other tabs ask
//!   `erlang:process_info/2` (see the built-ins): messages that arrived since the last receive, and no
//!   dictionary or stack trace.

use erlnode_etf::{Atom, Term};

use super::Rpc;
use crate::Node;

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
    })
    .register_process("observer_backend", "sys_info", 0, |p, _| async move { Ok(sys_info(p.node())) })
    .register_process("observer_backend", "fetch_stats", 2, |mut p, args| async move {
        let (&Term::Pid(parent), Some(millis)) = (&args[0], args[1].as_i64().and_then(|n| u64::try_from(n).ok()))
        else {
            return Err(super::Exception::error(Term::atom("function_clause")));
        };
        let every = std::time::Duration::from_millis(millis.max(1));
        while p.recv_timeout(every).await.is_none() {
            let (input, output) = crate::dist::io_bytes(p.node());
            let io = Term::tuple(vec![
                Term::tuple(vec![Term::atom("input"), Term::from(input)]),
                Term::tuple(vec![Term::atom("output"), Term::from(output)]),
            ]);
            let memory = super::builtins::memory(p.node());
            p.send(parent, Term::tuple(vec![Term::atom("stats"), Term::from(1u64), wall_time(), io, memory]));
        }
        Ok(Term::atom("ok"))
    })
    .register("observer_backend", "get_port_list", 0, |_| async move { Ok(Term::NIL) })
    .register("observer_backend", "get_socket_list", 0, |_| async move { Ok(Term::NIL) })
    .register("observer_backend", "get_table_list", 2, |_| async move { Ok(Term::NIL) })
    .register("observer_backend", "socket_info", 0, |_| async move {
        let counts = SOCKET_COUNTS.map(|key| Term::tuple(vec![Term::atom(key), Term::from(0u64)]));
        Ok(Term::list(counts))
    })
    // OTP answers this for every process that did not record its initial call in its process dictionary,
    // as a Rust process cannot; observer's process window then shows no behaviour state.
    .register("proc_lib", "translate_initial_call", 1, |args| async move {
        match args[0] {
            Term::Pid(_) => Ok(Term::tuple(vec![Term::atom("proc_lib"), Term::atom("init_p"), Term::from(5u64)])),
            _ => Err(super::Exception::error(Term::atom("function_clause"))),
        }
    });
}

/// The counts of `socket_info/0`, all 0: this node has none of the `socket` module's sockets. `iov_max`
/// and `num_cnt_bits`, properties of the BEAM's socket support, are left out (observer shows "Not
/// Supported").
const SOCKET_COUNTS: [&str; 12] = [
    "num_sockets",
    "num_monitors",
    "num_dinet",
    "num_dinet6",
    "num_dlocal",
    "num_tstreams",
    "num_tdgrams",
    "num_tseqpkgs",
    "num_pip",
    "num_psctp",
    "num_ptcp",
    "num_pudp",
];

/// `erlang:system_info({allocator_sizes, _})`'s shape, with the one allocator described above (observer
/// divides by its carriers' size, which is never 0 here).
fn alloc_info(node: &Node) -> Term {
    let memory = super::builtins::memory_pairs(node);
    let get = |key: &str| memory.iter().find(|(k, _)| *k == key).map_or(0, |(_, v)| *v);
    let held = get("processes") + get("atom");
    let resident = get("total").max(held).max(1);
    let sizes = |key: &str, n: u64| Term::tuple(vec![Term::atom(key), Term::from(n), Term::from(n), Term::from(n)]);
    let mbcs = Term::tuple(vec![
        Term::atom("mbcs"),
        Term::list(vec![sizes("blocks_size", held), sizes("carriers_size", resident)]),
    ]);
    let instance = Term::tuple(vec![Term::atom("instance"), Term::from(0u64), Term::list(vec![mbcs])]);
    Term::list(vec![Term::tuple(vec![Term::atom("rust_alloc"), Term::list(vec![instance])])])
}

/// `statistics(scheduler_wall_time)`: `[{Id, Busy, Total}]`, one per scheduler, numbered from 1.
fn wall_time() -> Term {
    let schedulers = crate::scheduler::wall_time().into_iter().enumerate();
    Term::list(
        schedulers
            .map(|(i, (busy, total))| Term::tuple(vec![Term::from(i as u64 + 1), Term::from(busy), Term::from(total)]))
            .collect::<Vec<_>>(),
    )
}

/// The keys of `sys_info/0` that come from `erlang:system_info/1` (with the key asked there), in OTP 25's
/// order, before and after `alloc_info`. Port and ETS limits are left out: erlnode has neither.
const SYSTEM_KEYS: [(&str, &str); 15] = [
    ("logical_processors", "logical_processors"),
    ("logical_processors_online", "logical_processors_online"),
    ("logical_processors_available", "logical_processors_available"),
    ("schedulers", "schedulers"),
    ("schedulers_online", "schedulers_online"),
    ("schedulers_available", "schedulers_online"),
    ("otp_release", "otp_release"),
    ("version", "version"),
    ("system_architecture", "system_architecture"),
    ("kernel_poll", "kernel_poll"),
    ("smp_support", "smp_support"),
    ("threads", "threads"),
    ("thread_pool_size", "thread_pool_size"),
    ("wordsize_internal", "wordsize"),
    ("wordsize_external", "wordsize"),
];
const COUNT_KEYS: [&str; 7] =
    ["process_count", "atom_limit", "atom_count", "process_limit", "port_count", "ets_count", "dist_buf_busy_limit"];

/// `observer_backend:sys_info/0`: OTP 25's keys in its order, then `erlang:memory/0`'s pairs.
fn sys_info(node: &Node) -> Term {
    let info = |key: &str| super::builtins::system_info(node, &Term::atom(key)).unwrap_or_default();
    let pair = |key: &str, value: Term| Term::tuple(vec![Term::atom(key), value]);
    let (input, output) = crate::dist::io_bytes(node);
    let mut pairs = vec![
        pair("uptime", Term::from(node.uptime().as_millis() as u64)),
        pair("run_queue", Term::from(crate::scheduler::run_queue() as u64)),
        pair("io_input", Term::from(input)),
        pair("io_output", Term::from(output)),
    ];
    pairs.extend(SYSTEM_KEYS.iter().map(|(key, asked)| pair(key, info(asked))));
    pairs.push(pair("alloc_info", alloc_info(node)));
    pairs.extend(COUNT_KEYS.iter().map(|key| pair(key, info(key))));
    pairs.extend(super::builtins::memory(node).to_list().unwrap_or_default());
    Term::list(pairs)
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
            let current = super::builtins::current_function(info.status);
            // #etop_proc_info{pid, mem, reds, name, runtime, cf, mq}
            Term::tuple(vec![
                Term::atom("etop_proc_info"),
                Term::Pid(info.pid),
                int(info.memory as u64),
                int(info.reductions),
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
    let memory = super::builtins::memory_pairs(node);
    let memi: Vec<Term> = ["total", "processes", "ets", "atom", "code", "binary"]
        .iter()
        .map(|key| {
            let value = memory.iter().find(|(k, _)| k == key).map_or(0, |(_, v)| *v);
            Term::tuple(vec![Term::atom(key), int(value)])
        })
        .collect();
    Term::tuple(vec![
        Term::atom("etop_info"),
        timestamp,
        int(procs.len() as u64),
        Term::tuple(vec![int(uptime), int(uptime)]),
        wall_time(),
        int(crate::scheduler::run_queue() as u64),
        Term::NIL,
        Term::list(memi),
        Term::list(procs),
    ])
}
