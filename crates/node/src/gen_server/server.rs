//! The server's side: starting (with `init` done before the starter goes on, as `proc_lib` does) and the
//! loop that hands each message to its callback.

use erlnode_etf::{Atom, Pid, Term};
use tokio::sync::oneshot;

use super::debug::{Debug, Event};
use super::system::{self, System};
use super::{CallResult, Caller, Ctx, Flow, GenServer, InitError, Next};
use crate::exit::catch_panic as catch;
use crate::{ExitResult, Node, Process, SpawnError, atoms, exit};

/// Why [`start`] or [`start_link`] returned no server.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StartError {
    /// The name is taken (`{error, {already_started, Pid}}`).
    #[error("a process is registered under that name already: {0}")]
    AlreadyStarted(Pid),
    /// `init` stopped with this reason, or panicked (`{error, Reason}`).
    #[error("init failed: {0}")]
    Init(Term),
    /// `init` returned [`InitError::Ignore`] (`ignore`).
    #[error("init returned ignore")]
    Ignore,
    /// The process could not be spawned.
    #[error("cannot spawn the server: {0}")]
    Spawn(#[from] SpawnError),
}

impl StartError {
    /// The error as OTP's start functions return it: `{already_started, Pid}`, `Reason` or `ignore`.
    pub fn to_term(&self) -> Term {
        match self {
            StartError::AlreadyStarted(pid) => Term::tuple(vec![Term::atom("already_started"), Term::Pid(*pid)]),
            StartError::Init(reason) => reason.clone(),
            StartError::Ignore => Term::atom("ignore"),
            StartError::Spawn(e) => Term::from(e.to_string()),
        }
    }
}

/// Starts a server of type `S` on `node`, registered as `name` if given (`gen_server:start/3,4`), and
/// returns its pid once `init` has made its state.
pub async fn start<S: GenServer>(node: &Node, args: S::Args, name: Option<Atom>) -> Result<Pid, StartError> {
    let (ack, started) = oneshot::channel();
    node.spawn(move |p| serve::<S>(p, args, name, None, ack))?;
    started.await.unwrap_or_else(|_| Err(StartError::Init(Term::atom("killed"))))
}

/// [`start`], linked to `parent` (`gen_server:start_link/3,4`): the server is linked to the calling
/// process before it runs. If `init` fails, the link is gone before the server exits, so the caller gets
/// the error and no exit signal.
pub async fn start_link<S: GenServer>(parent: &Process, args: S::Args, name: Option<Atom>) -> Result<Pid, StartError> {
    let (ack, started) = oneshot::channel();
    let me = parent.self_pid();
    parent.spawn_link(move |p| serve::<S>(p, args, name, Some(me), ack))?;
    started.await.unwrap_or_else(|_| Err(StartError::Init(Term::atom("killed"))))
}

/// [`start_link`] for a parent given by pid (a supervisor starting its children): `noproc` if it has
/// ended.
pub(crate) async fn start_linked_to<S: GenServer>(
    node: &Node,
    parent: Pid,
    args: S::Args,
    name: Option<Atom>,
) -> Result<Pid, StartError> {
    let Some(entry) = node.lookup(parent) else { return Err(StartError::Init(Term::atom("noproc"))) };
    let (ack, started) = oneshot::channel();
    crate::process::spawn(
        node,
        move |p| serve::<S>(p, args, name, Some(parent), ack),
        crate::process::Parent::Link(&entry),
    )?;
    started.await.unwrap_or_else(|_| Err(StartError::Init(Term::atom("killed"))))
}

type Ack = oneshot::Sender<Result<Pid, StartError>>;

/// The whole life of a server process.
async fn serve<S: GenServer>(
    mut p: Process,
    args: S::Args,
    name: Option<Atom>,
    parent: Option<Pid>,
    ack: Ack,
) -> ExitResult {
    if let Some(name) = name {
        if p.register(name).is_err() {
            let holder = p.node().whereis(name);
            let _ = ack.send(Err(holder.map_or(StartError::Init(Term::atom("badarg")), StartError::AlreadyStarted)));
            unlink_parent(&p, parent);
            return Ok(());
        }
    }
    let (outcome, next) = {
        let mut ctx = Ctx { process: &mut p, parent, name, next: None };
        let outcome = catch(S::init(&mut ctx, args)).await;
        (outcome, ctx.next.take())
    };
    let state = match outcome {
        Ok(Ok(state)) => state,
        Ok(Err(InitError::Ignore)) => {
            let _ = ack.send(Err(StartError::Ignore));
            unlink_parent(&p, parent);
            return Ok(());
        }
        Ok(Err(InitError::Stop(reason))) | Err(reason) => {
            let _ = ack.send(Err(StartError::Init(reason.clone())));
            unlink_parent(&p, parent);
            return exit_with(reason);
        }
    };
    let _ = ack.send(Ok(p.self_pid()));
    let mut server = Loop { state, parent, name, suspended: false, debug: Debug::default() };
    let reason = server.run(&mut p, next).await;
    exit_with(reason)
}

/// A stopped server's exit: `normal` ends it cleanly; anything else is its exit reason.
fn exit_with(reason: Term) -> ExitResult {
    if reason == crate::exit::normal() { Ok(()) } else { Err(reason) }
}

/// A failed start leaves the starter without a link to the failed server, so it gets an error, not a
/// signal.
fn unlink_parent(p: &Process, parent: Option<Pid>) {
    if let Some(parent) = parent {
        p.unlink(parent);
    }
}

/// A running server's state besides the callback module's own.
struct Loop<S> {
    state: S,
    parent: Option<Pid>,
    name: Option<Atom>,
    suspended: bool,
    /// What `sys` asked to be kept.
    debug: Debug,
}

/// Runs one callback of `$server`'s state with a fresh [`Ctx`] bound to `$ctx`, catching a panic; gives
/// the callback's outcome (`Err` with the panic as a reason) and what it asked to come next.
macro_rules! invoke {
    ($server:ident, $p:ident, $ctx:ident => $call:expr) => {{
        let mut $ctx = Ctx { process: &mut *$p, parent: $server.parent, name: $server.name, next: None };
        let outcome = catch($call).await;
        (outcome, $ctx.next.take())
    }};
}

impl<S: GenServer> Loop<S> {
    /// Handles messages until a callback stops the server; returns the reason, after `terminate` ran.
    async fn run(&mut self, p: &mut Process, mut next: Option<Next>) -> Term {
        loop {
            let message = match next.take() {
                Some(Next::Continue(continuation)) => {
                    let (outcome, then) = invoke!(self, p, ctx => self.state.handle_continue(&mut ctx, continuation));
                    match self.flow(p, outcome, then).await {
                        Ok(then) => {
                            next = then;
                            continue;
                        }
                        Err(reason) => return reason,
                    }
                }
                // A suspended server handles system messages (and its parent's exit) only; the others
                // wait, in order.
                pending if self.suspended => {
                    next = pending;
                    let parent = self.parent;
                    p.recv_match(|m| {
                        system::is_system_message(m) || parent.is_some_and(|parent| exit::is_exit_from(m, parent))
                    })
                    .await
                }
                Some(Next::Timeout(timeout)) => match p.recv_timeout(timeout).await {
                    // A system message leaves the timeout in force (it starts again), as in OTP.
                    Some(message) if system::is_system_message(&message) => {
                        next = Some(Next::Timeout(timeout));
                        message
                    }
                    Some(message) => message,
                    None => Term::atom("timeout"),
                },
                None => p.recv().await,
            };
            let system = system::is_system_message(&message);
            match self.handle(p, message).await {
                Ok(then) if system => next = then.or(next),
                Ok(then) => next = then,
                Err(reason) => return reason,
            }
        }
    }

    /// Hands one message to its callback; `Err` with the exit reason once the server has stopped.
    async fn handle(&mut self, p: &mut Process, message: Term) -> Result<Option<Next>, Term> {
        let kind = Kind::of(message, self.parent);
        if self.debug.is_on() {
            if let Some(message) = kind.message() {
                self.debug.event(p.self_pid(), Event::In, || Term::tuple(vec![Term::atom("in"), message]));
            }
        }
        match kind {
            Kind::Call(from, request) => {
                let caller = Caller(from);
                let (outcome, then) = invoke!(self, p, ctx => self.state.handle_call(&mut ctx, request, &caller));
                let from = caller.0;
                match outcome {
                    Ok(CallResult::Reply(reply)) => {
                        if self.debug.is_on() {
                            let event = || {
                                Term::tuple(vec![Term::atom("out"), reply.clone(), from.clone(), self.state.state()])
                            };
                            self.debug.event(p.self_pid(), Event::Out, event);
                        }
                        crate::process::call::reply_owned(p, from, reply);
                        Ok(then)
                    }
                    Ok(CallResult::NoReply) => {
                        self.no_reply(p);
                        Ok(then)
                    }
                    Ok(CallResult::Stop { reason, reply }) => {
                        let reason = self.terminate(p, reason).await;
                        // As in OTP, the answer goes out once terminate has run.
                        if let Some(reply) = reply {
                            crate::process::call::reply_owned(p, from, reply);
                        }
                        Err(reason)
                    }
                    Err(panic) => Err(self.terminate(p, panic).await),
                }
            }
            Kind::Cast(message) => {
                let (outcome, then) = invoke!(self, p, ctx => self.state.handle_cast(&mut ctx, message));
                self.flow(p, outcome, then).await
            }
            Kind::System(from, request) => {
                // The two requests that carry the state are answered here, where it is.
                let caller = match from.as_tuple() {
                    Some([Term::Pid(caller), _]) => Some(*caller),
                    _ => None,
                };
                if let Some(fun) = system::replace_state_fun(&request) {
                    let answer = match self.replace_state(p, caller.map_or(p.node().name(), |c| c.node), fun).await {
                        Ok(new) => system::state_answer(p, caller, new).await,
                        Err(failed) => failed,
                    };
                    p.reply(&from, answer);
                    return Ok(None);
                }
                if system::is_get_state(&request) {
                    let answer = system::state_answer(p, caller, self.state.state()).await;
                    p.reply(&from, answer);
                    return Ok(None);
                }
                let status = system::Status {
                    pid: p.self_pid(),
                    parent: self.parent,
                    name: self.name,
                    state: self.state.state(),
                    suspended: self.suspended,
                };
                match system::handle(p, status, &mut self.debug, &from, &request) {
                    System::Go { suspended } => {
                        self.suspended = suspended;
                        Ok(None)
                    }
                    System::Terminate(reason) => Err(self.terminate(p, reason).await),
                }
            }
            // The parent's exit, trapped: stop with its reason, as OTP's linked servers do.
            Kind::ParentExit(reason) => Err(self.terminate(p, reason).await),
            Kind::Info(message) => {
                let (outcome, then) = invoke!(self, p, ctx => self.state.handle_info(&mut ctx, message));
                self.flow(p, outcome, then).await
            }
        }
    }

    /// `sys:replace_state/2` with `fun` from a process of the node `caller`: the new state, or
    /// `{error, {callback_failed, ..}}` with the state unchanged.
    async fn replace_state(&mut self, p: &mut Process, caller: Atom, fun: Term) -> Result<Term, Term> {
        let state = self.state.state();
        let (class, reason) = match system::apply_fun(p, caller, fun, state).await {
            // A panic in `replace_state` fails the request, as a crash in OTP's callback does, not the server.
            Ok(new) => match catch(async { self.state.replace_state(new.clone()) }).await {
                Ok(Ok(())) => return Ok(new),
                Ok(Err(reason)) | Err(reason) => (Term::atom("error"), reason),
            },
            Err(failure) => failure,
        };
        let callback = Term::tuple(vec![Term::atom("gen_server"), Term::atom("system_replace_state")]);
        Err(Term::error(Term::tuple(vec![Term::atom("callback_failed"), callback, Term::tuple(vec![class, reason])])))
    }

    /// Applies what a callback returned: go on with `then`, or stop (`Err` with the exit reason).
    async fn flow(
        &mut self,
        p: &mut Process,
        outcome: Result<Flow, Term>,
        then: Option<Next>,
    ) -> Result<Option<Next>, Term> {
        match outcome {
            Ok(Flow::Continue) => {
                self.no_reply(p);
                Ok(then)
            }
            Ok(Flow::Stop(reason)) | Err(reason) => Err(self.terminate(p, reason).await),
        }
    }

    /// The `{noreply, State}` event, for a callback that goes on without answering.
    fn no_reply(&mut self, p: &Process) {
        if self.debug.is_on() {
            let state = &self.state;
            self.debug.event(p.self_pid(), Event::NoReply, || Term::tuple(vec![Term::atom("noreply"), state.state()]));
        }
    }

    /// Runs `terminate` and returns the exit reason: `reason`, or the panic of `terminate` itself.
    async fn terminate(&mut self, p: &mut Process, reason: Term) -> Term {
        let (outcome, _) = invoke!(self, p, ctx => self.state.terminate(&mut ctx, &reason));
        match outcome {
            Ok(()) => reason,
            Err(panic) => panic,
        }
    }
}

/// What a message is to a server.
enum Kind {
    /// `{'$gen_call', From, Request}`.
    Call(Term, Term),
    /// `{'$gen_cast', Message}`.
    Cast(Term),
    /// `{system, From, Request}`.
    System(Term, Term),
    /// `{'EXIT', Parent, Reason}` from the process that started the server linked.
    ParentExit(Term),
    /// Anything else.
    Info(Term),
}

impl Kind {
    /// The message again (a copy) for an `{in, Msg}` debug event; none for system messages and the
    /// parent's exit, which OTP does not log either.
    fn message(&self) -> Option<Term> {
        match self {
            Kind::Call(from, request) => {
                Some(Term::tuple(vec![Term::Atom(atoms::gen_call()), from.clone(), request.clone()]))
            }
            Kind::Cast(message) => Some(Term::tuple(vec![Term::Atom(atoms::gen_cast()), message.clone()])),
            Kind::Info(message) => Some(message.clone()),
            Kind::System(..) | Kind::ParentExit(_) => None,
        }
    }

    /// Sorts `message`, taking it apart without copying.
    fn of(message: Term, parent: Option<Pid>) -> Kind {
        let Term::Tuple(elements) = message else { return Kind::Info(message) };
        let tag = match elements.first() {
            Some(Term::Atom(tag)) => *tag,
            _ => return Kind::Info(Term::Tuple(elements)),
        };
        match <[Term; 3]>::try_from(elements) {
            Ok([_, from, request]) if tag == atoms::gen_call() && from.as_tuple().is_some_and(|f| f.len() == 2) => {
                Kind::Call(from, request)
            }
            Ok([_, from, request]) if tag == atoms::system() => Kind::System(from, request),
            Ok([_, Term::Pid(from), reason]) if tag == atoms::exit_tag() && Some(from) == parent => {
                Kind::ParentExit(reason)
            }
            Ok(three) => Kind::Info(Term::Tuple(three.into())),
            Err(elements) => match <[Term; 2]>::try_from(elements) {
                Ok([_, message]) if tag == atoms::gen_cast() => Kind::Cast(message),
                Ok(two) => Kind::Info(Term::Tuple(two.into())),
                Err(elements) => Kind::Info(Term::Tuple(elements)),
            },
        }
    }
}
