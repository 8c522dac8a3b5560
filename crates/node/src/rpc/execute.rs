//! Running a registered function (in a process, or begun outside one), and the shapes its outcome takes
//! for each caller: `erpc:execute_call`'s exit reason, `rex`'s reply, a spawned process's exit reason.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use erlnode_etf::{Atom, Term};

use super::{Exception, Function};
use crate::exit::{self, catch_panic};
use crate::{Node, Process, atoms};

/// How a function call ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Return(Term),
    Throw(Term),
    Exit(Term),
    /// An error with its stack.
    Error(Term, Term),
}

/// Runs `module:function(args)` in the process `p`: a registered function, or `undef`.
pub(crate) async fn apply(p: Process, module: Atom, function: Atom, args: Vec<Term>) -> Outcome {
    let arity = args.len();
    let call = match p.node().rpc().get(module, function, arity) {
        None => return undef(module, function, args),
        Some(Function::Plain(f)) => catch_panic(async move { f(args).await }).await,
        Some(Function::InProcess(f)) => catch_panic(async move { f(p, args).await }).await,
    };
    outcome(call, module, function, arity)
}

/// A call begun by [`begin`].
pub(crate) enum Begun {
    /// It ended in its first poll.
    Done(Outcome),
    /// The rest of it, to run in a process.
    Running(Pin<Box<dyn Future<Output = Outcome> + Send>>),
}

/// Begins `module:function(args)` outside any process, when the function needs none (one registered
/// with [`Rpc::register`](super::Rpc::register), or none at all: `undef`), and polls it once. The
/// arguments come back for a function that needs its process from the start.
///
/// Most such calls end in that poll, and then no process is made: making one and ending it cost more
/// than many functions themselves (without it, the serving node spent about 3,300 fewer instructions on
/// an erpc call of `demo:add/2`, a fifth of its share, under callgrind). A call that waits goes on in a
/// process, polled again there with that process's waker, as the `Future` contract allows.
pub(crate) fn begin(node: &Node, module: Atom, function: Atom, args: Vec<Term>) -> Result<Begun, Vec<Term>> {
    let arity = args.len();
    let f = match node.rpc().get(module, function, arity) {
        None => return Ok(Begun::Done(undef(module, function, args))),
        Some(Function::InProcess(_)) => return Err(args),
        Some(Function::Plain(f)) => f,
    };
    // Making the future is inside the guard too: a closure may panic before it returns one.
    let first = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut call = f(args);
        match call.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => Ok(result),
            Poll::Pending => Err(call),
        }
    }));
    Ok(match first {
        Ok(Ok(result)) => Begun::Done(outcome(Ok(result), module, function, arity)),
        Err(panic) => Begun::Done(outcome(Err(exit::from_panic(panic.as_ref())), module, function, arity)),
        Ok(Err(call)) => {
            Begun::Running(Box::pin(async move { outcome(catch_panic(call).await, module, function, arity) }))
        }
    })
}

/// The outcome of a call from what it returned, or the reason of its panic.
fn outcome(call: Result<super::RpcResult, Term>, module: Atom, function: Atom, arity: usize) -> Outcome {
    let frame = || stack(module, function, Term::from(arity as u64));
    match call {
        Ok(Ok(value)) => Outcome::Return(value),
        Ok(Err(Exception::Throw(value))) => Outcome::Throw(value),
        Ok(Err(Exception::Exit(reason))) => Outcome::Exit(reason),
        Ok(Err(Exception::Error(reason))) => Outcome::Error(reason, frame()),
        Err(panic) => {
            tracing::warn!(%module, %function, arity, reason = %panic, "RPC function panicked");
            Outcome::Error(panic, frame())
        }
    }
}

/// Runs `module:function(args)` as the whole life of the process `p`: it ends `normal` when the function
/// returns, or with the reason an Erlang process raising the same exception would end with.
pub(crate) async fn run_as_process(p: Process, module: Atom, function: Atom, args: Vec<Term>) -> crate::ExitResult {
    let arity = args.len();
    as_exit(apply(p, module, function, args).await.exit_reason(module, function, arity))
}

/// An exit reason as a process's result.
pub(crate) fn as_exit(reason: Term) -> crate::ExitResult {
    if exit::is_normal(&reason) { Ok(()) } else { Err(reason) }
}

/// Erlang's error for a function that does not exist: `undef`, with the arguments in the stack.
pub(crate) fn undef(module: Atom, function: Atom, args: Vec<Term>) -> Outcome {
    Outcome::Error(Term::atom("undef"), stack(module, function, Term::List(args)))
}

/// `[{Module, Function, ArityOrArgs, []}]`.
fn stack(module: Atom, function: Atom, arity_or_args: Term) -> Term {
    Term::list(vec![Term::tuple(vec![Term::Atom(module), Term::Atom(function), arity_or_args, Term::NIL])])
}

impl Outcome {
    /// The exit reason of `erpc:execute_call/4`'s process: `{Res, return, V}`, `{Res, throw, V}`,
    /// `{Res, exit, R}` or `{Res, error, R, Stack}`.
    pub(crate) fn erpc(self, res: Term) -> Term {
        match self {
            Outcome::Return(value) => Term::tuple(vec![res, Term::Atom(atoms::return_()), value]),
            Outcome::Throw(value) => Term::tuple(vec![res, Term::Atom(atoms::throw()), value]),
            Outcome::Exit(reason) => Term::tuple(vec![res, Term::Atom(atoms::exit()), reason]),
            Outcome::Error(reason, stack) => Term::tuple(vec![res, Term::Atom(atoms::error()), reason, stack]),
        }
    }

    /// `rex`'s reply to `{call, M, F, A, GL}`: the value (a thrown value counts as one), or
    /// `{badrpc, {'EXIT', Reason}}` (`Reason` is `{Error, Stack}` for an error).
    pub(crate) fn rex(self) -> Term {
        let badrpc =
            |reason: Term| Term::tuple(vec![Term::atom("badrpc"), Term::tuple(vec![Term::atom("EXIT"), reason])]);
        match self {
            Outcome::Return(value) | Outcome::Throw(value) => value,
            Outcome::Exit(reason) => badrpc(reason),
            Outcome::Error(reason, stack) => badrpc(Term::tuple(vec![reason, stack])),
        }
    }

    /// The exit reason of a process spawned to run the function: `normal` when it returns, else what
    /// the BEAM gives an uncaught exception: `R` for `exit(R)`, `{R, Stack}` for an error,
    /// `{{nocatch, V}, Stack}` for a throw.
    pub(crate) fn exit_reason(self, module: Atom, function: Atom, arity: usize) -> Term {
        match self {
            Outcome::Return(_) => exit::normal(),
            Outcome::Exit(reason) => reason,
            Outcome::Error(reason, stack) => Term::tuple(vec![reason, stack]),
            Outcome::Throw(value) => Term::tuple(vec![
                Term::tuple(vec![Term::atom("nocatch"), value]),
                stack(module, function, Term::from(arity as u64)),
            ]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node with plain functions that return at once, wait, or panic before or after waiting, and
    /// one that needs its process.
    fn node() -> Node {
        let node = Node::new("begin@localhost", 1).expect("a node");
        node.rpc()
            .register("m", "now", 1, |args| async move { Ok(args.into_iter().next().unwrap_or_default()) })
            .register("m", "later", 0, |_| async move {
                tokio::task::yield_now().await;
                Ok(Term::atom("later"))
            })
            .register("m", "late_panic", 0, |_| async move {
                tokio::task::yield_now().await;
                panic!("after waiting")
            })
            .register_process("m", "own", 1, |_p, _args| async move { Ok(Term::NIL) });
        #[allow(unreachable_code)]
        node.rpc().register("m", "early_panic", 0, |_| {
            panic!("before the future");
            async move { Ok(Term::NIL) }
        });
        node
    }

    fn begin_call(node: &Node, function: &str, args: Vec<Term>) -> Result<Begun, Vec<Term>> {
        begin(node, Atom::new("m"), Atom::new(function), args)
    }

    fn is_panic(outcome: &Outcome, text: &str) -> bool {
        matches!(outcome, Outcome::Error(Term::Tuple(t), _) if crate::atoms::is(&t[0], "panic")
            && t[1] == Term::binary(text.as_bytes().to_vec()))
    }

    #[tokio::test]
    async fn a_call_that_returns_at_once_is_done_without_a_process() {
        let node = node();
        let Ok(Begun::Done(Outcome::Return(value))) = begin_call(&node, "now", vec![Term::from(7)]) else {
            panic!("not done at once")
        };
        assert_eq!(value, Term::from(7));
        // Not registered: undef at once, as a process running it would end.
        let Ok(Begun::Done(Outcome::Error(reason, _))) = begin_call(&node, "nope", vec![]) else { panic!() };
        assert_eq!(reason, Term::atom("undef"));
    }

    #[tokio::test]
    async fn a_call_that_waits_goes_on_from_where_it_stopped() {
        let node = node();
        let Ok(Begun::Running(call)) = begin_call(&node, "later", vec![]) else { panic!("done at once") };
        assert!(matches!(call.await, Outcome::Return(v) if v == Term::atom("later")));
        let Ok(Begun::Running(call)) = begin_call(&node, "late_panic", vec![]) else { panic!("done at once") };
        assert!(is_panic(&call.await, "after waiting"));
    }

    #[tokio::test]
    async fn a_panic_before_the_future_is_an_error_outcome() {
        let node = node();
        let Ok(Begun::Done(outcome)) = begin_call(&node, "early_panic", vec![]) else { panic!("not done") };
        assert!(is_panic(&outcome, "before the future"), "{outcome:?}");
    }

    #[tokio::test]
    async fn a_function_that_needs_its_process_gives_the_arguments_back() {
        let node = node();
        let Err(args) = begin_call(&node, "own", vec![Term::from(1)]) else { panic!("begun without its process") };
        assert_eq!(args, vec![Term::from(1)]);
    }
}
