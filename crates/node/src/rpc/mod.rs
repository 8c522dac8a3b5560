//! RPC: Rust functions that Erlang nodes call, Erlang functions that Rust calls, and remote spawn.
//!
//! # Functions Erlang can call
//! A node's [`Rpc`] registry ([`Node::rpc`]) maps `Module:Function/Arity` to a Rust function. Erlang
//! reaches a registered function with every form it has: `rpc:call` (with or without a timeout),
//! `rpc:block_call`, `rpc:cast`, `rpc:multicall`, `erpc:call`, `erpc:cast`, `erpc:multicall`, and
//! `spawn(Node, M, F, A)` with `spawn_link/4`, `spawn_monitor/4` or `erlang:spawn_request`.
//!
//! ```
//! use erlnode::rpc::Exception;
//! use erlnode::{Node, Term};
//!
//! let node = Node::new("demo@localhost", 1)?;
//! node.rpc().register("demo", "add", 2, |args| async move {
//!     match args.as_slice() {
//!         [a, b] => match (a.as_i64(), b.as_i64()) {
//!             (Some(a), Some(b)) => Ok(Term::from(a + b)),
//!             _ => Err(Exception::error(Term::atom("badarith"))),
//!         },
//!         _ => unreachable!("called with its arity"),
//!     }
//! });
//! // With serde: the argument list decodes into a tuple, the result encodes back.
//! node.rpc().register_typed("demo", "greet", 1, |(name,): (String,)| async move {
//!     Ok::<_, Exception>(format!("hello, {name}"))
//! });
//! # Ok::<(), erlnode::NodeError>(())
//! ```
//!
//! Each call runs in a process of its own, as in Erlang; [`Rpc::register_process`] gives the function
//! that process, for functions that receive messages or link. (An `erpc` call of a function registered
//! with [`Rpc::register`] that returns without waiting is run where the request is read, with no process
//! made: the caller still gets a pid of its own and its `DOWN`, as from a process that ended at once.)
//! What comes back is what an Erlang
//! function would give: a value, or an [`Exception`] (a throw, an exit, an error with the stack
//! `[{Module, Function, Arity, []}]`). A panic is an error with the reason `{panic, <<"message">>}`; the
//! node lives on. A function that is not registered raises `undef`, with Erlang's stack
//! `[{Module, Function, Args, []}]`.
//!
//! # Built-ins
//! Every node also answers the functions Erlang tools call on any node, from the runtime's own state
//! (they are registered like any other function, so [`Rpc::registered`] lists them and
//! [`Rpc::unregister`] removes one):
//!
//! | function | answer |
//! |---|---|
//! | `erlang:node/0`, `nodes/0,1` | the node's name; the connected nodes (`nodes/1` takes `visible`, `hidden`, `connected`, `this`, `known` or a list of them; connections are not told apart as hidden here, so `hidden` is `[]`; `known` adds this node) |
//! | `erlang:processes/0`, `registered/0`, `whereis/1`, `is_process_alive/1` | from the process table and the name registry |
//! | `erlang:process_info/1,2` | the items of [`ProcessInfo`](crate::ProcessInfo): `registered_name`, `message_queue_len`, `links`, `monitors`, `monitored_by`, `trap_exit`, `status`, `memory` (what `process_info/1` lists); `/2` also answers `messages` (those that arrived since the process last looked at its mailbox: any receive moves what arrived to the process's own queue, whose messages are counted in `message_queue_len` but not listed), `group_leader` (the node's `user`), `current_function` (`{erlnode, Status, 0}`), `initial_call` (`{erlang, apply, 2}`, as for a process started from a fun), `heap_size` and `total_heap_size` (`memory` in words), `reductions` (polls and sends, see [`ProcessInfo::reductions`](crate::ProcessInfo::reductions)), and for what a Rust process does not have, the empty answer: `dictionary`, `current_stacktrace`, `binary`, `suspending`, `sequential_trace_token` (`[]`), `catchlevel`, `trace`, `stack_size` (0), `garbage_collection` (its sizes 0), `priority` (`normal`), `last_calls` (`false`), `error_handler`; any other item raises `badarg`; `undefined` for a process that has ended |
//! | `erlang:system_info/1` | `otp_release` (`"25"`: the oldest release whose distribution protocol erlnode speaks in full), `version`, `system_version`, `machine` (`"erlnode"`), `process_count`, `process_limit`, `schedulers`, `schedulers_online`, `logical_processors`, `atom_count`, `wordsize`, `port_count` and `ets_count` (0: erlnode has neither), `creation`; any other key raises `badarg` |
//! | `erlang:memory/0,1` | `total` (the OS process's resident memory, on Linux), `processes` (the sum of the processes' estimates), `system` (the rest), `atom`; `binary`, `code` and `ets` are 0 (not tracked, or not there) |
//! | `erlang:function_exported/3`, `module_loaded/1`, `code:ensure_loaded/1`, `code:is_loaded/1` | a module is loaded when a function of it is registered |
//! | `erlang:apply/3` | calls the registered function |
//! | `application:which_applications/0,1`, `get_env/2` | from the node's applications |
//! | `observer_backend:vsn/0`, `etop_collect/1` | what `etop` and observer's Processes tab need to list this node's processes: memory, reductions, message queue and name of each, and the schedulers' wall time; the current function shows the status (`{erlnode, waiting, 0}`) |
//! | `observer_backend:sys_info/0`, `fetch_stats/2`, `get_port_list/0`, `get_socket_list/0`, `socket_info/0`, `get_table_list/2` | what observer's System, Load Charts, Memory Allocators, Ports, Sockets and Table Viewer tabs call: OTP 25's `sys_info` keys (no allocator statistics; I/O is the bytes of the distribution connections), periodic scheduler wall time, I/O and memory, and no ports, sockets or tables |
//! | `proc_lib:translate_initial_call/1` | `{proc_lib, init_p, 5}`, OTP's answer for a process that recorded no initial call: with it and `process_info/2`, the process window that a double click in observer opens shows a Rust process |
//! | `appmon_info:start_link2/3` | observer's Applications tab: a server that lists the running applications and gives the supervision tree of the one shown (walked with `which_children`) |
//!
//! # Calling Erlang
//! [`Process::rpc_call`] calls a function on another node the way `erpc:call` does: a `SPAWN_REQUEST`
//! of `erpc:execute_call/4` with a monitor, whose `DOWN` carries the result. A peer without spawn support
//! is called through its `rex` server instead. [`Process::rpc_cast`] is `erpc:cast`;
//! [`Process::spawn_remote`] starts a process on another node, linked or monitored.
//!
//! [`Node::rpc`]: crate::Node::rpc
//! [`Process::rpc_call`]: crate::Process::rpc_call
//! [`Process::rpc_cast`]: crate::Process::rpc_cast
//! [`Process::spawn_remote`]: crate::Process::spawn_remote

mod appmon;
mod builtins;
mod client;
mod exception;
pub(crate) mod execute;
mod observer;
pub(crate) mod rex;
pub(crate) mod spawn;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use erlnode_etf::{Atom, Ref, Term};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use client::SpawnOptions;
pub use exception::{Exception, RpcError};
pub use spawn::Reply;

use crate::Process;
use crate::hash::NumberMap;

/// What a registered function returns: its value, or the exception it raises.
pub type RpcResult = Result<Term, Exception>;

/// A call of a registered function, under way.
type Call = Pin<Box<dyn Future<Output = RpcResult> + Send>>;

/// A registered function, as stored.
#[derive(Clone)]
enum Function {
    /// One that gets only the argument list ([`Rpc::register`]): a call that ends at its first poll
    /// needs no process of its own (see [`execute::begin`]).
    Plain(Arc<dyn Fn(Vec<Term>) -> Call + Send + Sync>),
    /// One that also gets the process it runs in ([`Rpc::register_process`]).
    InProcess(Arc<dyn Fn(Process, Vec<Term>) -> Call + Send + Sync>),
}

/// `Module:Function/Arity`.
type Mfa = (Atom, Atom, usize);

/// The functions of a node that other nodes may call or spawn (see the [module documentation](self)).
pub struct Rpc {
    functions: RwLock<NumberMap<Mfa, Function>>,
    /// Linked spawn requests whose requester ended before the answer: the node asked and the exit reason
    /// the new process is to get.
    orphans: Mutex<HashMap<Ref, (Atom, Term)>>,
}

impl std::fmt::Debug for Rpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rpc").field("functions", &self.read().len()).finish()
    }
}

impl Rpc {
    /// A registry holding the built-in functions.
    pub(crate) fn new() -> Rpc {
        let rpc = Rpc { functions: RwLock::default(), orphans: Mutex::default() };
        builtins::register(&rpc);
        observer::register(&rpc);
        appmon::register(&rpc);
        rpc
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, NumberMap<Mfa, Function>> {
        self.functions.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `module:function/arity` (replacing what was registered under it). `function` gets the
    /// argument list, whose length is always `arity`, and returns the value or raises an [`Exception`].
    ///
    /// An `erpc` call of it from another node begins on the thread that reads that node's connection, and
    /// ends there when it does not wait (no process is made for it; see the module documentation). So,
    /// as any async code should, it must not block: until its first `.await` that waits, nothing else from
    /// that node is read. A function that computes for long should hand the work to
    /// `tokio::task::spawn_blocking` and await it.
    pub fn register<F, Fut>(&self, module: &str, function: &str, arity: u8, f: F) -> &Rpc
    where
        F: Fn(Vec<Term>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RpcResult> + Send + 'static,
    {
        self.insert(module, function, arity, Function::Plain(Arc::new(move |args| Box::pin(f(args)))))
    }

    /// [`Rpc::register`] for a function that needs the process it runs in: to receive messages, link,
    /// monitor, or call other nodes. A function spawned with `spawn(Node, M, F, A)` is usually one of
    /// these; the process ends when the function returns.
    pub fn register_process<F, Fut>(&self, module: &str, function: &str, arity: u8, f: F) -> &Rpc
    where
        F: Fn(Process, Vec<Term>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RpcResult> + Send + 'static,
    {
        self.insert(
            module,
            function,
            arity,
            Function::InProcess(Arc::new(move |process, args| Box::pin(f(process, args)))),
        )
    }

    /// [`Rpc::register`] with typed arguments and result through serde: the argument list decodes into
    /// `A` (a tuple of `arity` elements, such as `(i64, String)`) and the result encodes back. Arguments
    /// that do not decode raise `function_clause`, as an Erlang function whose clauses do not match.
    pub fn register_typed<A, R, F, Fut>(&self, module: &str, function: &str, arity: u8, f: F) -> &Rpc
    where
        A: DeserializeOwned + Send + 'static,
        R: Serialize,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, Exception>> + Send + 'static,
    {
        let f = Arc::new(f);
        self.register(module, function, arity, move |args| {
            let f = Arc::clone(&f);
            async move {
                let args = erlnode_etf::from_term::<A>(&Term::List(args))
                    .map_err(|_| Exception::error(Term::atom("function_clause")))?;
                let value = f(args).await?;
                erlnode_etf::to_term(&value).map_err(|e| {
                    Exception::error(Term::tuple(vec![Term::atom("badreturn"), Term::from(e.to_string())]))
                })
            }
        })
    }

    fn insert(&self, module: &str, function: &str, arity: u8, f: Function) -> &Rpc {
        let key = (Atom::new(module), Atom::new(function), usize::from(arity));
        self.functions.write().unwrap_or_else(PoisonError::into_inner).insert(key, f);
        self
    }

    /// Removes `module:function/arity`; `true` if it was registered.
    pub fn unregister(&self, module: &str, function: &str, arity: u8) -> bool {
        let key = (Atom::new(module), Atom::new(function), usize::from(arity));
        self.functions.write().unwrap_or_else(PoisonError::into_inner).remove(&key).is_some()
    }

    /// Every registered `(Module, Function, Arity)`, built-ins included, in no particular order.
    pub fn registered(&self) -> Vec<(Atom, Atom, usize)> {
        self.read().keys().copied().collect()
    }

    /// `true` when `module:function/arity` is registered (Erlang's `erlang:function_exported/3`).
    pub fn is_registered(&self, module: Atom, function: Atom, arity: usize) -> bool {
        self.read().contains_key(&(module, function, arity))
    }

    /// `true` when some function of `module` is registered: the module counts as loaded.
    pub fn has_module(&self, module: Atom) -> bool {
        self.read().keys().any(|(m, _, _)| *m == module)
    }

    fn orphans(&self) -> std::sync::MutexGuard<'_, HashMap<Ref, (Atom, Term)>> {
        self.orphans.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps the exit reason of an ended requester for the answer to its linked request `req_id` to `node`.
    pub(crate) fn keep_orphan(&self, req_id: Ref, node: Atom, reason: Term) {
        self.orphans().insert(req_id, (node, reason));
    }

    /// The exit reason kept for `req_id`, when `node` is the node it was sent to.
    pub(crate) fn take_orphan(&self, req_id: Ref, node: Atom) -> Option<Term> {
        let mut orphans = self.orphans();
        if orphans.get(&req_id).is_none_or(|(on, _)| *on != node) {
            return None;
        }
        orphans.remove(&req_id).map(|(_, reason)| reason)
    }

    /// The connection to `node` is gone: no answer will come to the requests sent on it.
    pub(crate) fn forget_orphans(&self, node: Atom) {
        self.orphans().retain(|_, (on, _)| *on != node);
    }

    fn get(&self, module: Atom, function: Atom, arity: usize) -> Option<Function> {
        self.read().get(&(module, function, arity)).cloned()
    }
}
