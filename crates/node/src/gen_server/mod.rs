//! GenServer: OTP's `gen_server` for Rust processes, on OTP's wire forms.
//!
//! A server is a type implementing [`GenServer`]: its value is the server's state, and its async callbacks
//! are OTP's (`init`, `handle_call`, `handle_cast`, `handle_info`, `handle_continue`, `terminate`). A call
//! is `{'$gen_call', {Pid, Tag}, Request}` answered with `{Tag, Reply}` (the tag echoed as it came,
//! `[alias | Ref]` included), a cast `{'$gen_cast', Message}`, so Erlang's `gen_server:call/cast` reach
//! Rust servers and [`call`] reaches Erlang `gen_server`s, by pid, local name or `{Name, Node}`. Erlang's
//! `sys` module works on Rust servers: `get_state`, `get_status`, `suspend`, `resume`, `replace_state`
//! (see [`GenServer::state`] and [`GenServer::replace_state`]), `statistics`, `log`, `trace` and
//! `no_debug`, and `gen_server:stop` / `proc_lib:stop`.
//!
//! ```
//! use erlnode::gen_server::{self, CallResult, Caller, Ctx, GenServer, InitError};
//! use erlnode::{Atom, Node, Term};
//!
//! struct Counter(i64);
//!
//! impl GenServer for Counter {
//!     type Args = i64;
//!
//!     async fn init(_ctx: &mut Ctx<'_>, start: i64) -> Result<Self, InitError> {
//!         Ok(Counter(start))
//!     }
//!
//!     async fn handle_call(&mut self, _ctx: &mut Ctx<'_>, request: Term, _from: &Caller) -> CallResult {
//!         match request.as_atom().map(|a| a.as_str()) {
//!             Some("incr") => {
//!                 self.0 += 1;
//!                 CallResult::reply(self.0)
//!             }
//!             _ => CallResult::reply(Term::atom("unknown")),
//!         }
//!     }
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::new("doc@localhost", 1)?;
//! let counter = gen_server::start::<Counter>(&node, 41, Some(Atom::new("counter"))).await?;
//! node.spawn(move |mut p| async move {
//!     let n = gen_server::call(&mut p, counter, Term::atom("incr"), gen_server::DEFAULT_TIMEOUT).await;
//!     assert_eq!(n.ok(), Some(Term::from(42)));
//!     Ok(())
//! })?;
//! # Ok(())
//! # }
//! ```
//!
//! Typed requests and replies: any `serde` type becomes a term with [`to_term`](crate::to_term) and
//! back with [`from_term`](crate::from_term); [`call_as`] does both.

mod client;
mod debug;
mod server;
mod system;

use std::future::Future;
use std::time::Duration;

use erlnode_etf::{Atom, Pid, Term};

use crate::{Node, Process};

pub use client::{CallError, ServerRef, call, call_as, cast, stop};
pub(crate) use server::start_linked_to as server_start_linked_to;
pub use server::{StartError, start, start_link};

/// The default timeout of [`call`]: 5 seconds, as `gen_server:call/2`'s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A server's behaviour: its state is the value of the type, its callbacks OTP's. Every callback but
/// [`GenServer::init`] has a default, as OTP's optional callbacks do: a call or cast the server does not
/// handle stops it (`{bad_call, Request}`, `{bad_cast, Message}`), an unexpected message is logged and
/// dropped.
pub trait GenServer: Send + Sized + 'static {
    /// What [`start`] passes to [`GenServer::init`].
    type Args: Send + 'static;

    /// Makes the state (`init/1`). `Err(InitError::Stop(reason))` (or any `Term` error through `?`)
    /// ends the process with `reason` and makes [`start`] fail with it; `Err(InitError::Ignore)` ends it
    /// normally and [`start`] returns [`StartError::Ignore`].
    fn init(ctx: &mut Ctx<'_>, args: Self::Args) -> impl Future<Output = Result<Self, InitError>> + Send;

    /// Answers a call (`handle_call/3`): now ([`CallResult::Reply`]) or later, from this process or any
    /// other, through a clone of `from` ([`CallResult::NoReply`] and [`Caller::reply`]).
    fn handle_call(
        &mut self,
        ctx: &mut Ctx<'_>,
        request: Term,
        from: &Caller,
    ) -> impl Future<Output = CallResult> + Send {
        let _ = (ctx, from);
        async move { CallResult::Stop { reason: Term::tuple(vec![Term::atom("bad_call"), request]), reply: None } }
    }

    /// Handles a cast (`handle_cast/2`).
    fn handle_cast(&mut self, ctx: &mut Ctx<'_>, message: Term) -> impl Future<Output = Flow> + Send {
        let _ = ctx;
        async move { Flow::Stop(Term::tuple(vec![Term::atom("bad_cast"), message])) }
    }

    /// Handles any other message (`handle_info/2`), `timeout` after [`Ctx::timeout`] included.
    fn handle_info(&mut self, ctx: &mut Ctx<'_>, message: Term) -> impl Future<Output = Flow> + Send {
        tracing::warn!(server = %ctx.self_pid(), %message, "gen_server got an unexpected message; dropped");
        async { Flow::Continue }
    }

    /// Goes on with work a callback asked for with [`Ctx::continue_with`] (`handle_continue/2`), before the
    /// next message.
    fn handle_continue(&mut self, ctx: &mut Ctx<'_>, continuation: Term) -> impl Future<Output = Flow> + Send {
        let _ = ctx;
        async move { Flow::Stop(Term::tuple(vec![Term::atom("bad_continue"), continuation])) }
    }

    /// Runs as the server stops (`terminate/2`), with the reason it stops for. Not run when the process is
    /// killed by an exit signal it does not trap, as in OTP.
    fn terminate(&mut self, ctx: &mut Ctx<'_>, reason: &Term) -> impl Future<Output = ()> + Send {
        let _ = (ctx, reason);
        async {}
    }

    /// The state as a term, for `sys:get_state/1` and `sys:get_status/1` (OTP's `format_status`). By
    /// default `{rust_state, TypeName}`; a state that implements `Serialize` can return
    /// `to_term(self)`.
    fn state(&self) -> Term {
        Term::tuple(vec![Term::atom("rust_state"), Term::from(std::any::type_name::<Self>())])
    }

    /// Takes the state that a `sys:replace_state/2` fun made from [`GenServer::state`]'s term (OTP's
    /// `system_replace_state`). `Err(reason)` keeps the state, and the caller's `sys:replace_state`
    /// raises `{callback_failed, {gen_server, system_replace_state}, {error, Reason}}`, as for a fun
    /// that fails. By default a state cannot be replaced; one that implements `Deserialize` can take
    /// `from_term(&state)`.
    ///
    /// The fun runs where its code is, since Rust cannot run Erlang code: an Erlang fun on the node that
    /// made it, `fun M:F/1` on this node if `M:F/1` is registered with [`Node::rpc`](crate::Node::rpc)
    /// and otherwise on the caller's node. It runs there in a process of its own, while this server waits.
    fn replace_state(&mut self, state: Term) -> Result<(), Term> {
        let _ = state;
        Err(Term::tuple(vec![Term::atom("not_replaceable"), Term::from(std::any::type_name::<Self>())]))
    }
}

/// Why [`GenServer::init`] did not make a state.
#[derive(Debug, Clone, PartialEq)]
pub enum InitError {
    /// `{stop, Reason}`: the process ends with this reason.
    Stop(Term),
    /// `ignore`: the process ends normally; supervisors leave such a child out.
    Ignore,
}

impl From<Term> for InitError {
    fn from(reason: Term) -> InitError {
        InitError::Stop(reason)
    }
}

/// What [`GenServer::handle_call`] does with a call.
#[derive(Debug, Clone, PartialEq)]
pub enum CallResult {
    /// `{reply, Reply, State}`.
    Reply(Term),
    /// `{noreply, State}`: the reply comes later, through the [`Caller`].
    NoReply,
    /// `{stop, Reason, Reply, State}` or `{stop, Reason, State}`: stop, answering first if `reply` is set.
    Stop {
        /// Why the server stops.
        reason: Term,
        /// The answer to the call, if any.
        reply: Option<Term>,
    },
}

impl CallResult {
    /// Answers `reply` now.
    pub fn reply(reply: impl Into<Term>) -> CallResult {
        CallResult::Reply(reply.into())
    }
}

/// What a callback other than `handle_call` says to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Flow {
    /// `{noreply, State}`: go on.
    Continue,
    /// `{stop, Reason, State}`: stop with this reason.
    Stop(Term),
}

/// Who made a call (`From` in OTP: `{Pid, Tag}`); kept, it lets the answer come later or from another
/// process.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller(Term);

impl Caller {
    /// The caller as OTP's `From` term, `{Pid, Tag}`.
    pub fn as_term(&self) -> &Term {
        &self.0
    }

    /// The calling process.
    pub fn pid(&self) -> Option<Pid> {
        match self.0.as_tuple() {
            Some([Term::Pid(pid), _]) => Some(*pid),
            _ => None,
        }
    }

    /// Answers the call (`gen_server:reply/2`), from any process of `node`.
    pub fn reply(&self, node: &Node, reply: impl Into<Term>) {
        crate::process::call::reply_from(node, &self.0, reply.into());
    }
}

/// What a callback may do besides returning: everything a [`Process`] does (it derefs to the server's
/// process), and say what comes before the next message.
pub struct Ctx<'a> {
    process: &'a mut Process,
    parent: Option<Pid>,
    name: Option<Atom>,
    next: Option<Next>,
}

/// What comes before the next message, as set through [`Ctx`].
#[derive(Debug)]
enum Next {
    Continue(Term),
    Timeout(Duration),
}

impl<'a> Ctx<'a> {
    /// Answers `caller` now (`gen_server:reply/2`); for replies made outside `handle_call`'s return.
    pub fn reply(&self, caller: &Caller, reply: impl Into<Term>) {
        self.process.reply(&caller.0, reply);
    }

    /// Calls [`GenServer::handle_continue`] with `continuation` before the next message
    /// (`{continue, Continuation}`).
    pub fn continue_with(&mut self, continuation: impl Into<Term>) {
        self.next = Some(Next::Continue(continuation.into()));
    }

    /// If no message comes within `timeout`, [`GenServer::handle_info`] gets `timeout` (OTP's timeout in a
    /// callback's return). Any message cancels it.
    pub fn timeout(&mut self, timeout: Duration) {
        self.next = Some(Next::Timeout(timeout));
    }

    /// The process that started the server with [`start_link`], if it was linked.
    pub fn parent(&self) -> Option<Pid> {
        self.parent
    }

    /// The name the server registered under, if any.
    pub fn name(&self) -> Option<Atom> {
        self.name
    }
}

impl std::ops::Deref for Ctx<'_> {
    type Target = Process;

    fn deref(&self) -> &Process {
        self.process
    }
}

impl std::ops::DerefMut for Ctx<'_> {
    fn deref_mut(&mut self) -> &mut Process {
        self.process
    }
}
