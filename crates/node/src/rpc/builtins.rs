//! The functions Erlang tools and shells call on any node (`rpc:call(N, erlang, node, [])`,
//! `application:which_applications/0`, `code:ensure_loaded/1`), answered from the runtime's own state.
//!
//! The table of what each answers is in the [`rpc`](super) module documentation.

use erlnode_etf::{Atom, Pid, Term};

use super::{Exception, Rpc, RpcResult, execute};
use crate::{Node, Status};

pub(super) fn register(rpc: &Rpc) {
    rpc.register_process("erlang", "node", 0, |p, _| async move { Ok(Term::Atom(p.node().name())) })
        .register_process("erlang", "nodes", 0, |p, _| async move { Ok(nodes(p.node())) })
        .register_process("erlang", "nodes", 1, |p, args| async move { nodes_of(p.node(), &args[0]) })
        .register_process("erlang", "processes", 0, |p, _| async move {
            let mut pids = p.node().processes();
            pids.sort();
            Ok(Term::list(pids.into_iter().map(Term::Pid).collect::<Vec<_>>()))
        })
        .register_process("erlang", "registered", 0, |p, _| async move {
            Ok(Term::list(p.node().registered().into_iter().map(Term::Atom).collect::<Vec<_>>()))
        })
        .register_process("erlang", "whereis", 1, |p, args| async move {
            let name = args[0].as_atom().ok_or_else(badarg)?;
            Ok(p.node().whereis(name).map_or(Term::atom("undefined"), Term::Pid))
        })
        .register_process("erlang", "is_process_alive", 1, |p, args| async move {
            let pid = local_pid(p.node(), &args[0])?;
            Ok(Term::bool(p.node().is_alive(pid)))
        })
        .register_process("erlang", "process_info", 1, |p, args| async move {
            let pid = local_pid(p.node(), &args[0])?;
            let items = ITEMS.iter().map(|i| Term::atom(i)).collect::<Vec<_>>();
            // Erlang's process_info/1 leaves registered_name out for a process without a name.
            let info = process_info(p.node(), pid, &Term::list(items))?;
            let named = |pair: &Term| !matches!(pair.as_tuple(), Some([k, Term::List(v)]) if k.as_atom().is_some_and(|a| a.as_str() == "registered_name") && v.is_empty());
            Ok(match info {
                Term::List(pairs) => Term::List(pairs.into_iter().filter(named).collect()),
                other => other,
            })
        })
        .register_process("erlang", "process_info", 2, |p, args| async move {
            let pid = local_pid(p.node(), &args[0])?;
            process_info(p.node(), pid, &args[1])
        })
        .register_process("erlang", "system_info", 1, |p, args| async move { system_info(p.node(), &args[0]) })
        .register_process("erlang", "memory", 0, |p, _| async move { Ok(memory(p.node())) })
        .register_process("erlang", "memory", 1, |p, args| async move { memory_of(p.node(), &args[0]) })
        .register_process("erlang", "function_exported", 3, |p, args| async move {
            match args.as_slice() {
                [Term::Atom(m), Term::Atom(f), Term::Int(a)] => {
                    let arity = usize::try_from(*a).map_err(|_| badarg())?;
                    Ok(Term::bool(p.node().rpc().is_registered(*m, *f, arity)))
                }
                _ => Err(badarg()),
            }
        })
        .register_process("erlang", "module_loaded", 1, |p, args| async move {
            Ok(Term::bool(p.node().rpc().has_module(args[0].as_atom().ok_or_else(badarg)?)))
        })
        .register_process("code", "ensure_loaded", 1, |p, args| async move {
            let module = args[0].as_atom().ok_or_else(|| Exception::error(Term::atom("function_clause")))?;
            Ok(if p.node().rpc().has_module(module) {
                Term::tuple(vec![Term::atom("module"), Term::Atom(module)])
            } else {
                Term::tuple(vec![Term::atom("error"), Term::atom("nofile")])
            })
        })
        .register_process("code", "is_loaded", 1, |p, args| async move {
            let module = args[0].as_atom().ok_or_else(|| Exception::error(Term::atom("function_clause")))?;
            Ok(if p.node().rpc().has_module(module) {
                Term::tuple(vec![Term::atom("file"), Term::charlist("erlnode")])
            } else {
                Term::atom("false")
            })
        })
        .register_process("erlang", "apply", 3, |p, args| async move {
            let [Term::Atom(m), Term::Atom(f), a] = args.as_slice() else { return Err(badarg()) };
            let (m, f, a) = (*m, *f, a.to_list().ok_or_else(badarg)?);
            match execute::apply(p, m, f, a).await {
                execute::Outcome::Return(value) => Ok(value),
                execute::Outcome::Throw(value) => Err(Exception::Throw(value)),
                execute::Outcome::Exit(reason) => Err(Exception::Exit(reason)),
                execute::Outcome::Error(reason, _) => Err(Exception::Error(reason)),
            }
        })
        .register_process("application", "which_applications", 0, |p, _| async move {
            Ok(crate::application::which_applications(p.node()))
        })
        .register_process("application", "which_applications", 1, |p, _| async move {
            Ok(crate::application::which_applications(p.node()))
        })
        .register_process("application", "get_env", 2, |p, args| async move {
            let (Some(app), Some(key)) = (args[0].as_atom(), args[1].as_atom()) else {
                return Ok(Term::atom("undefined"));
            };
            Ok(crate::application::get_env(p.node(), app, key)
                .map_or(Term::atom("undefined"), |v| Term::tuple(vec![Term::atom("ok"), v])))
        });
}

fn badarg() -> Exception {
    Exception::Error(crate::exit::badarg())
}

/// A pid of this node, or `badarg` (as `process_info/2` raises for a pid of another node).
fn local_pid(node: &Node, term: &Term) -> Result<Pid, Exception> {
    match term {
        Term::Pid(pid) if pid.node == node.name() => Ok(*pid),
        _ => Err(badarg()),
    }
}

fn atoms(list: Vec<Atom>) -> Term {
    Term::list(list.into_iter().map(Term::Atom).collect::<Vec<_>>())
}

fn nodes(node: &Node) -> Term {
    let mut nodes = node.nodes();
    nodes.sort_by_key(|a| a.as_str());
    atoms(nodes)
}

fn nodes_of(node: &Node, arg: &Term) -> RpcResult {
    let kinds = match arg {
        Term::Atom(a) => vec![*a],
        other => other
            .to_list()
            .ok_or_else(badarg)?
            .iter()
            .map(|t| t.as_atom().ok_or_else(badarg))
            .collect::<Result<_, _>>()?,
    };
    let mut out = Vec::new();
    for kind in kinds {
        let add: Vec<Atom> = match kind.as_str() {
            "this" => vec![node.name()],
            "visible" | "connected" => node.nodes(),
            "known" => std::iter::once(node.name()).chain(node.nodes()).collect(),
            "hidden" => vec![],
            _ => return Err(badarg()),
        };
        for n in add {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    Ok(atoms(out))
}

/// `current_function` of a process: `{erlnode, Status, 0}`, since a Rust process runs no Erlang function.
pub(super) fn current_function(status: Status) -> Term {
    Term::tuple(vec![Term::atom("erlnode"), Term::atom(status_name(status)), Term::from(0)])
}

/// The atom `process_info` gives for `status`.
fn status_name(status: Status) -> &'static str {
    match status {
        Status::Waiting => "waiting",
        Status::Running => "running",
        Status::Exiting => "exiting",
    }
}

/// The `process_info` items that `process_info/1` lists, in its order.
const ITEMS: [&str; 8] =
    ["registered_name", "status", "message_queue_len", "links", "monitors", "monitored_by", "trap_exit", "memory"];

fn process_info(node: &Node, pid: Pid, spec: &Term) -> RpcResult {
    let Some(info) = node.process_info(pid) else { return Ok(Term::atom("undefined")) };
    let item = |name: Atom| -> Result<Term, Exception> {
        let value = match name.as_str() {
            "registered_name" => match info.registered_name {
                Some(n) => Term::Atom(n),
                // Erlang answers `[]`, not a pair, for a process without a name.
                None => return Ok(Term::NIL),
            },
            "status" => Term::atom(status_name(info.status)),
            "message_queue_len" => Term::from(info.message_queue_len as u64),
            "links" => Term::list(info.links.iter().copied().map(Term::Pid).collect::<Vec<_>>()),
            "monitors" => Term::list(
                info.monitors
                    .iter()
                    .map(|(_, pid)| Term::tuple(vec![Term::atom("process"), Term::Pid(*pid)]))
                    .collect::<Vec<_>>(),
            ),
            "monitored_by" => Term::list(info.monitored_by.iter().copied().map(Term::Pid).collect::<Vec<_>>()),
            "trap_exit" => Term::bool(info.trap_exit),
            "memory" => Term::from(info.memory as u64),
            "current_function" => current_function(info.status),
            // What the BEAM reports for a process started from a fun, the counterpart of a closure.
            "initial_call" => Term::tuple(vec![Term::atom("erlang"), Term::atom("apply"), Term::from(2)]),
            "group_leader" => Term::Pid(node.whereis(crate::atoms::user()).unwrap_or(pid)),
            "messages" => Term::list(node.unread_messages(pid).unwrap_or_default()),
            // Nothing the BEAM keeps per process for these exists in a Rust process: no process
            // dictionary, stack trace, catch level, tracing, or garbage-collected heap.
            "dictionary" | "current_stacktrace" | "binary" | "sequential_trace_token" | "suspending" => Term::NIL,
            "reductions" => Term::from(info.reductions),
            "catchlevel" | "trace" | "stack_size" => Term::from(0),
            "heap_size" | "total_heap_size" => Term::from((info.memory / std::mem::size_of::<usize>()) as u64),
            "garbage_collection" => Term::list(
                ["min_bin_vheap_size", "min_heap_size", "fullsweep_after", "minor_gcs"]
                    .map(|key| Term::tuple(vec![Term::atom(key), Term::from(0)])),
            ),
            "error_handler" => Term::atom("error_handler"),
            "last_calls" => Term::atom("false"),
            "priority" => Term::atom("normal"),
            _ => return Err(badarg()),
        };
        Ok(Term::tuple(vec![Term::Atom(name), value]))
    };
    match spec {
        Term::Atom(name) => item(*name),
        list => {
            let names = list.to_list().ok_or_else(badarg)?;
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                let name = name.as_atom().ok_or_else(badarg)?;
                match item(name)? {
                    // In the list form an unnamed process's `registered_name` is `{registered_name, []}`.
                    Term::List(l) if l.is_empty() => out.push(Term::tuple(vec![Term::Atom(name), Term::NIL])),
                    pair => out.push(pair),
                }
            }
            Ok(Term::list(out))
        }
    }
}

pub(super) fn system_info(node: &Node, key: &Term) -> RpcResult {
    let key = key.as_atom().ok_or_else(badarg)?;
    let schedulers = crate::scheduler::count() as u64;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let version = env!("CARGO_PKG_VERSION");
    Ok(match key.as_str() {
        "otp_release" => Term::charlist("25"),
        "version" => Term::charlist(version),
        "system_version" => {
            Term::charlist(&format!("erlnode {version} (Rust) [smp:{schedulers}:{schedulers}] [ds:{schedulers}]\n"))
        }
        "machine" => Term::charlist("erlnode"),
        "system_architecture" => Term::charlist(&format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)),
        // Tokio's reactor waits on epoll or kqueue; every scheduler is a thread of its own.
        "kernel_poll" | "smp_support" | "threads" => Term::bool(true),
        "multi_scheduling" => Term::atom("enabled"),
        // No async thread pool and no dirty schedulers: blocking work goes to tokio's blocking threads.
        "thread_pool_size" | "dirty_cpu_schedulers" | "dirty_cpu_schedulers_online" | "dirty_io_schedulers" => {
            Term::from(0u64)
        }
        "atom_limit" => Term::from(erlnode_etf::MAX_ATOMS as u64),
        "dist_buf_busy_limit" => Term::from(crate::dist::BUSY_LIMIT as u64),
        "process_count" => Term::from(node.processes().len() as u64),
        "process_limit" => Term::from(crate::MAX_PROCESSES as u64),
        "schedulers" | "schedulers_online" => Term::from(schedulers),
        "logical_processors" | "logical_processors_online" | "logical_processors_available" => Term::from(cpus),
        "atom_count" => Term::from(Atom::count() as u64),
        "wordsize" => Term::from(std::mem::size_of::<usize>() as u64),
        "port_count" | "ets_count" => Term::from(0u64),
        "creation" => Term::from(u64::from(node.creation())),
        _ => return Err(badarg()),
    })
}

/// `erlang:memory/0`'s pairs, in its order, in bytes.
pub(super) fn memory_pairs(node: &Node) -> [(&'static str, u64); 9] {
    let processes: usize =
        node.processes().into_iter().filter_map(|pid| node.process_info(pid)).map(|i| i.memory).sum();
    // An atom costs its text and its two encodings, plus table overhead: about 64 bytes.
    let atom = Atom::count() * 64;
    let total = resident_bytes().unwrap_or(processes + atom).max(processes + atom);
    let [total, processes, atom] = [total, processes, atom].map(|n| n as u64);
    [
        ("total", total),
        ("processes", processes),
        ("processes_used", processes),
        ("system", total - processes),
        ("atom", atom),
        ("atom_used", atom),
        ("binary", 0),
        ("code", 0),
        ("ets", 0),
    ]
}

/// `erlang:memory/0`: [`memory_pairs`] as `[{Key, Bytes}]`.
pub(super) fn memory(node: &Node) -> Term {
    let pairs = memory_pairs(node).map(|(k, v)| Term::tuple(vec![Term::atom(k), Term::from(v)]));
    Term::list(pairs.to_vec())
}

fn memory_of(node: &Node, arg: &Term) -> RpcResult {
    let all = memory(node).to_list().unwrap_or_default();
    let find = |key: &Term| -> Result<Term, Exception> {
        all.iter().find(|pair| pair.as_tuple().is_some_and(|p| &p[0] == key)).cloned().ok_or_else(badarg)
    };
    match arg {
        Term::Atom(_) => find(arg).map(|pair| pair.as_tuple().map(|p| p[1].clone()).unwrap_or_default()),
        list => Ok(Term::list(list.to_list().ok_or_else(badarg)?.iter().map(find).collect::<Result<Vec<_>, _>>()?)),
    }
}

/// The resident memory of this OS process, from the `VmRSS` line of `/proc/self/status` (Linux only).
fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
