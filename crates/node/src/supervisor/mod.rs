//! Supervisor: OTP's `supervisor` for Rust processes, answering OTP's requests.
//!
//! A supervisor starts its children in order, restarts them as its [`Strategy`] and their [`Restart`]
//! types say, and stops them in reverse order. Too many restarts (more than `intensity` within `period`)
//! and it stops every child and exits with `shutdown`, as OTP's does. It is a [`GenServer`] answering
//! the calls of Erlang's `supervisor` module (`which_children`, `count_children`, `start_child`,
//! `terminate_child`, `restart_child`, `delete_child`, `get_childspec`), so an Erlang node can drive a Rust
//! supervisor; the functions of this module make the same calls from Rust. A child spec sent from Erlang
//! names a function registered with [`Rpc`](crate::rpc::Rpc), which is spawned as the child.
//!
//! A `simple_one_for_one` supervisor stops its children all at once, as OTP's does. With
//! [`AutoShutdown`] (OTP 24's `auto_shutdown`), children marked significant that end by themselves stop
//! the supervisor.
//!
//! ```
//! use erlnode::supervisor::{self, ChildSpec, Flags, Strategy};
//! use erlnode::gen_server::{CallResult, Caller, Ctx, GenServer, InitError};
//! use erlnode::{Atom, Node, Term};
//!
//! struct Worker;
//!
//! impl GenServer for Worker {
//!     type Args = ();
//!     async fn init(_ctx: &mut Ctx<'_>, (): ()) -> Result<Self, InitError> {
//!         Ok(Worker)
//!     }
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::new("doc@localhost", 1)?;
//! let children = vec![
//!     ChildSpec::gen_server::<Worker>("first", (), None),
//!     ChildSpec::gen_server::<Worker>("second", (), Some(Atom::new("second"))),
//! ];
//! let flags = Flags::new(Strategy::OneForOne).intensity(3, std::time::Duration::from_secs(5));
//! let sup = supervisor::start(&node, flags, children, Some(Atom::new("top_sup"))).await?;
//! # let _ = sup;
//! # Ok(())
//! # }
//! ```

mod child;
mod erlang_spec;
mod server;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use erlnode_etf::{Atom, Pid, Ref, Term};

use crate::gen_server::{self, CallError, GenServer, ServerRef, StartError};
use crate::hash::NumberMap;
use crate::{Node, Process};

pub use server::Supervisor;

/// Which children restart when one ends and must be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Only that child.
    OneForOne,
    /// Every child: the others are stopped (in reverse order), then all start again in order.
    OneForAll,
    /// That child and those started after it.
    RestForOne,
    /// One template child spec; children are added with [`start_child_with`] and restart one by one.
    SimpleOneForOne,
}

/// When a child that ended is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Always.
    Permanent,
    /// Only after an abnormal exit (not `normal`, `shutdown` or `{shutdown, _}`).
    Transient,
    /// Never; the child's spec is removed when it ends.
    Temporary,
}

/// How a child is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// `exit(Child, kill)`.
    BrutalKill,
    /// `exit(Child, shutdown)`, then `kill` if it has not ended after this long.
    Timeout(Duration),
    /// `exit(Child, shutdown)`, and wait for as long as it takes (for child supervisors).
    Infinity,
}

/// Whether a child is a worker or a supervisor (for `which_children` and `count_children`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildType {
    /// A worker.
    Worker,
    /// A supervisor.
    Supervisor,
}

/// When a supervisor stops by itself because its significant children ended (OTP 24's `auto_shutdown`).
/// Only children that end on their own count, not those the supervisor stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoShutdown {
    /// Never (the default).
    Never,
    /// As soon as one significant child has ended and is not to be restarted.
    AnySignificant,
    /// Once every significant child has ended and none is to be restarted.
    AllSignificant,
}

/// A supervisor's strategy, restart intensity and automatic shutdown (OTP's `sup_flags()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    /// The restart strategy.
    pub strategy: Strategy,
    /// At most this many restarts within `period` (OTP's default 1)...
    pub intensity: u32,
    /// ... (OTP's default 5 seconds).
    pub period: Duration,
    /// When significant children ending stop the supervisor.
    pub auto_shutdown: AutoShutdown,
}

impl Flags {
    /// `strategy` with OTP's defaults: 1 restart in 5 seconds, no automatic shutdown.
    pub fn new(strategy: Strategy) -> Flags {
        Flags { strategy, intensity: 1, period: Duration::from_secs(5), auto_shutdown: AutoShutdown::Never }
    }

    /// Stops the supervisor (with reason `shutdown`, its children first) when significant children end
    /// by themselves, as `auto_shutdown` says.
    pub fn auto_shutdown(mut self, auto_shutdown: AutoShutdown) -> Flags {
        self.auto_shutdown = auto_shutdown;
        self
    }

    /// At most `intensity` restarts within `period`.
    pub fn intensity(mut self, intensity: u32, period: Duration) -> Flags {
        self.intensity = intensity;
        self.period = period;
        self
    }
}

/// The future a child's start function returns: the child's pid, `None` for `ignore`, or why it failed.
pub type StartFuture = Pin<Box<dyn Future<Output = Result<Option<Pid>, Term>> + Send>>;

type StartFn = Arc<dyn Fn(Start) -> StartFuture + Send + Sync>;

/// What a child's start function gets: the supervisor to link the child to, and for a
/// `simple_one_for_one` child the arguments given to [`start_child_with`].
#[derive(Debug, Clone)]
pub struct Start {
    node: Node,
    supervisor: Pid,
    /// The extra arguments of a `simple_one_for_one` child (empty otherwise).
    pub args: Vec<Term>,
}

impl Start {
    /// The node the supervisor runs on.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The supervisor, which the child must be linked to.
    pub fn supervisor(&self) -> Pid {
        self.supervisor
    }

    /// Spawns a plain process linked to the supervisor, for a child that is not a [`GenServer`].
    pub fn spawn_link<F, Fut>(&self, body: F) -> Result<Option<Pid>, Term>
    where
        F: FnOnce(Process) -> Fut + Send + 'static,
        Fut: Future<Output = crate::ExitResult> + Send + 'static,
    {
        let Some(entry) = self.node.lookup(self.supervisor) else { return Err(Term::atom("noproc")) };
        crate::process::spawn(&self.node, body, crate::process::Parent::Link(&entry))
            .map(Some)
            .map_err(|e| Term::from(e.to_string()))
    }

    /// Starts a [`GenServer`] linked to the supervisor (its parent), registered as `name` if given.
    pub async fn gen_server<S: GenServer>(&self, args: S::Args, name: Option<Atom>) -> Result<Option<Pid>, Term> {
        match gen_server::server_start_linked_to::<S>(&self.node, self.supervisor, args, name).await {
            Ok(pid) => Ok(Some(pid)),
            Err(StartError::Ignore) => Ok(None),
            Err(e) => Err(e.to_term()),
        }
    }
}

/// A child's specification (OTP's `child_spec()`).
#[derive(Clone)]
pub struct ChildSpec {
    /// The child's id within its supervisor.
    pub id: Term,
    start: StartFn,
    /// What `get_childspec` shows as `start`: `{Module, Function, Args}`.
    pub start_mfa: Term,
    /// When it restarts.
    pub restart: Restart,
    /// How it stops.
    pub shutdown: Shutdown,
    /// Worker or supervisor.
    pub child_type: ChildType,
    /// Its ending counts for the supervisor's [`AutoShutdown`] (only for transient and temporary
    /// children; OTP refuses a significant permanent child).
    pub significant: bool,
}

impl std::fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("start", &self.start_mfa)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("child_type", &self.child_type)
            .field("significant", &self.significant)
            .finish()
    }
}

impl ChildSpec {
    /// A permanent worker with a 5-second shutdown (OTP's defaults), started by `start`.
    pub fn new<F, Fut>(id: impl Into<Term>, start: F) -> ChildSpec
    where
        F: Fn(Start) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Pid>, Term>> + Send + 'static,
    {
        let id = id.into();
        ChildSpec {
            start_mfa: Term::tuple(vec![Term::atom("erlnode"), Term::atom("start"), Term::list(vec![id.clone()])]),
            id,
            start: Arc::new(move |s| Box::pin(start(s))),
            restart: Restart::Permanent,
            shutdown: Shutdown::Timeout(Duration::from_secs(5)),
            child_type: ChildType::Worker,
            significant: false,
        }
    }

    /// A worker that is the [`GenServer`] `S`, started with `args` (again at each restart).
    pub fn gen_server<S>(id: impl Into<Term>, args: S::Args, name: Option<Atom>) -> ChildSpec
    where
        S: GenServer,
        S::Args: Clone + Sync,
    {
        let mut spec = ChildSpec::new(id, move |start: Start| {
            let args = args.clone();
            async move { start.gen_server::<S>(args, name).await }
        });
        let module = Term::from(std::any::type_name::<S>());
        spec.start_mfa =
            Term::tuple(vec![Term::atom("gen_server"), Term::atom("start_link"), Term::list(vec![module])]);
        spec
    }

    /// A child supervisor with `flags` and `children` (shutdown `infinity`, as OTP advises).
    pub fn supervisor(id: impl Into<Term>, flags: Flags, children: Vec<ChildSpec>, name: Option<Atom>) -> ChildSpec {
        let mut spec = ChildSpec::new(id, move |start: Start| {
            let children = children.clone();
            async move { start.gen_server::<Supervisor>((flags, children), name).await }
        });
        spec.child_type = ChildType::Supervisor;
        spec.shutdown = Shutdown::Infinity;
        spec.start_mfa = Term::tuple(vec![Term::atom("supervisor"), Term::atom("start_link"), Term::list(vec![])]);
        spec
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> ChildSpec {
        self.restart = restart;
        self
    }

    /// Sets how the child stops.
    pub fn shutdown(mut self, shutdown: Shutdown) -> ChildSpec {
        self.shutdown = shutdown;
        self
    }

    /// Marks the child significant for the supervisor's [`AutoShutdown`].
    pub fn significant(mut self, yes: bool) -> ChildSpec {
        self.significant = yes;
        self
    }

    /// Sets the child type.
    pub fn child_type(mut self, child_type: ChildType) -> ChildSpec {
        self.child_type = child_type;
        self
    }

    /// The spec as `supervisor:get_childspec/2` returns it: a map.
    pub fn to_term(&self) -> Term {
        let restart = match self.restart {
            Restart::Permanent => "permanent",
            Restart::Transient => "transient",
            Restart::Temporary => "temporary",
        };
        let shutdown = match self.shutdown {
            Shutdown::BrutalKill => Term::atom("brutal_kill"),
            Shutdown::Timeout(t) => Term::from(t.as_millis() as i64),
            Shutdown::Infinity => Term::atom("infinity"),
        };
        let child_type = match self.child_type {
            ChildType::Worker => "worker",
            ChildType::Supervisor => "supervisor",
        };
        let modules = match self.start_mfa.as_tuple() {
            Some([module, ..]) => Term::list(vec![module.clone()]),
            _ => Term::list(vec![]),
        };
        let entries = vec![
            (Term::atom("id"), self.id.clone()),
            (Term::atom("start"), self.start_mfa.clone()),
            (Term::atom("restart"), Term::atom(restart)),
            (Term::atom("significant"), Term::bool(self.significant)),
            (Term::atom("shutdown"), shutdown),
            (Term::atom("type"), Term::atom(child_type)),
            (Term::atom("modules"), modules),
        ];
        Term::Map(entries.into_iter().collect())
    }
}

/// Starts a supervisor with `flags` and `children` (`supervisor:start_link/3` without a link): returns
/// once every child has started, or fails with `{shutdown, {failed_to_start_child, Id, Reason}}` after
/// stopping those that had.
pub async fn start(node: &Node, flags: Flags, children: Vec<ChildSpec>, name: Option<Atom>) -> Result<Pid, StartError> {
    gen_server::start::<Supervisor>(node, (flags, children), name).await
}

/// [`start`], linked to the calling process (`supervisor:start_link/3`).
pub async fn start_link(
    parent: &Process,
    flags: Flags,
    children: Vec<ChildSpec>,
    name: Option<Atom>,
) -> Result<Pid, StartError> {
    gen_server::start_link::<Supervisor>(parent, (flags, children), name).await
}

/// How long the calls below wait for the supervisor (OTP's are `infinity`; a supervisor that takes this
/// long is stuck).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Specs handed from [`start_child`] to a supervisor of this OS process: closures cannot travel in a
/// message, so the message carries a reference to the spec instead.
fn handoff() -> &'static Mutex<NumberMap<Ref, ChildSpec>> {
    static HANDOFF: OnceLock<Mutex<NumberMap<Ref, ChildSpec>>> = OnceLock::new();
    HANDOFF.get_or_init(Mutex::default)
}

/// Takes a spec handed off under `key`.
fn take_handoff(key: &Ref) -> Option<ChildSpec> {
    handoff().lock().unwrap_or_else(PoisonError::into_inner).remove(key)
}

/// Adds `spec` to a supervisor on this node and starts it (`supervisor:start_child/2`): the child's pid
/// (`None` if its start returned ignore), or the error term OTP returns (`already_present`,
/// `{already_started, Pid}`, or the start's failure).
pub async fn start_child(p: &mut Process, sup: impl Into<ServerRef>, spec: ChildSpec) -> Result<Option<Pid>, Term> {
    let key = p.make_ref();
    handoff().lock().unwrap_or_else(PoisonError::into_inner).insert(key, spec);
    let request =
        Term::tuple(vec![Term::atom("start_child"), Term::tuple(vec![Term::atom("$erlnode_spec"), Term::Ref(key)])]);
    let reply = call(p, sup, request).await;
    take_handoff(&key);
    started(reply?)
}

/// Starts a child of a `simple_one_for_one` supervisor with `args` appended to its template's
/// (`supervisor:start_child/2` with a list).
pub async fn start_child_with(
    p: &mut Process,
    sup: impl Into<ServerRef>,
    args: Vec<Term>,
) -> Result<Option<Pid>, Term> {
    let reply = call(p, sup, Term::tuple(vec![Term::atom("start_child"), Term::list(args)])).await?;
    started(reply)
}

fn started(reply: Term) -> Result<Option<Pid>, Term> {
    match reply.as_tuple() {
        Some([Term::Atom(ok), Term::Pid(pid)]) if ok.as_str() == "ok" => Ok(Some(*pid)),
        Some([Term::Atom(ok), Term::Pid(pid), _]) if ok.as_str() == "ok" => Ok(Some(*pid)),
        Some([Term::Atom(ok), Term::Atom(undefined)]) if ok.as_str() == "ok" && undefined.as_str() == "undefined" => {
            Ok(None)
        }
        Some([Term::Atom(error), reason]) if error.as_str() == "error" => Err(reason.clone()),
        _ => Err(reply),
    }
}

/// Stops the child `id` (a pid for `simple_one_for_one`), keeping its spec (`supervisor:terminate_child/2`).
pub async fn terminate_child(p: &mut Process, sup: impl Into<ServerRef>, id: impl Into<Term>) -> Result<(), Term> {
    ok_or_error(call(p, sup, Term::tuple(vec![Term::atom("terminate_child"), id.into()])).await?)
}

/// Starts again the stopped child `id` (`supervisor:restart_child/2`).
pub async fn restart_child(
    p: &mut Process,
    sup: impl Into<ServerRef>,
    id: impl Into<Term>,
) -> Result<Option<Pid>, Term> {
    started(call(p, sup, Term::tuple(vec![Term::atom("restart_child"), id.into()])).await?)
}

/// Removes the spec of the stopped child `id` (`supervisor:delete_child/2`).
pub async fn delete_child(p: &mut Process, sup: impl Into<ServerRef>, id: impl Into<Term>) -> Result<(), Term> {
    ok_or_error(call(p, sup, Term::tuple(vec![Term::atom("delete_child"), id.into()])).await?)
}

/// `[{Id, Child, Type, Modules}]`, as `supervisor:which_children/1` returns it.
pub async fn which_children(p: &mut Process, sup: impl Into<ServerRef>) -> Result<Term, Term> {
    call(p, sup, Term::atom("which_children")).await
}

/// `[{specs, N}, {active, N}, {supervisors, N}, {workers, N}]` (`supervisor:count_children/1`).
pub async fn count_children(p: &mut Process, sup: impl Into<ServerRef>) -> Result<Term, Term> {
    call(p, sup, Term::atom("count_children")).await
}

/// The spec of child `id` as a map (`supervisor:get_childspec/2`).
pub async fn get_childspec(p: &mut Process, sup: impl Into<ServerRef>, id: impl Into<Term>) -> Result<Term, Term> {
    let reply = call(p, sup, Term::tuple(vec![Term::atom("get_childspec"), id.into()])).await?;
    match reply.as_tuple() {
        Some([Term::Atom(ok), spec]) if ok.as_str() == "ok" => Ok(spec.clone()),
        Some([Term::Atom(error), reason]) if error.as_str() == "error" => Err(reason.clone()),
        _ => Err(reply),
    }
}

async fn call(p: &mut Process, sup: impl Into<ServerRef>, request: Term) -> Result<Term, Term> {
    gen_server::call(p, sup, request, CALL_TIMEOUT).await.map_err(|e: CallError| e.to_exit_reason())
}

fn ok_or_error(reply: Term) -> Result<(), Term> {
    match reply.as_tuple() {
        _ if reply == Term::atom("ok") => Ok(()),
        Some([Term::Atom(error), reason]) if error.as_str() == "error" => Err(reason.clone()),
        _ => Err(reply),
    }
}
