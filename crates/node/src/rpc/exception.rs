//! How an RPC fails: [`Exception`] is what a registered function raises, [`RpcError`] what a caller gets.

use erlnode_etf::Term;

/// An exception a registered function raises, in one of Erlang's three classes.
///
/// Erlang callers see it exactly as they would see the same exception raised by an Erlang function:
/// `erpc:call` re-raises it (a throw as a throw, `exit(R)` as `exit({exception, R})`, an error as
/// `error({exception, R, Stack})`), `rpc:call` returns the thrown value or `{badrpc, {'EXIT', ...}}`.
/// The stack of an error is `[{Module, Function, Arity, []}]`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Exception {
    /// `throw(Value)`: a non-local return, not an error.
    #[error("throw: {0}")]
    Throw(Term),
    /// `exit(Reason)`.
    #[error("exit: {0}")]
    Exit(Term),
    /// `error(Reason)`: a run-time error (`badarg`, `{badmatch, V}`, ...).
    #[error("error: {0}")]
    Error(Term),
}

impl Exception {
    /// `error(Reason)`. The reason is any term: `Term::atom("badarg")` for Erlang's atoms (a `&str`
    /// becomes a binary, as everywhere in erlnode).
    pub fn error(reason: impl Into<Term>) -> Exception {
        Exception::Error(reason.into())
    }

    /// `exit(Reason)`.
    pub fn exit(reason: impl Into<Term>) -> Exception {
        Exception::Exit(reason.into())
    }

    /// `throw(Value)`.
    pub fn throw(value: impl Into<Term>) -> Exception {
        Exception::Throw(value.into())
    }
}

/// Why a call to a function on another node ([`Process::rpc_call`](crate::Process::rpc_call)) gave no
/// value. The variants are the exceptions `erpc:call` raises, so code written against Erlang's `erpc`
/// maps one to one; [`RpcError::to_badrpc`] gives `rpc:call`'s `{badrpc, Reason}` form instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    /// The function threw `Value` (`erpc` re-throws it).
    #[error("the function threw {0}")]
    Throw(Term),
    /// The function called `exit(Reason)` (`erpc`: `exit({exception, Reason})`).
    #[error("the function exited with {0}")]
    Exit(Term),
    /// The function raised the error `reason` (`erpc`: `error({exception, Reason, Stack})`).
    #[error("the function raised the error {reason}")]
    Error {
        /// The error reason.
        reason: Term,
        /// The stack trace, as Erlang gives it: `[{Module, Function, ArityOrArgs, Location}]`.
        stack: Term,
    },
    /// The process running the function was killed by an exit signal (`erpc`: `exit({signal, Reason})`).
    #[error("the process running the function ended with {0}")]
    Signal(Term),
    /// No answer in time; the function may or may not run (`{erpc, timeout}`).
    #[error("no answer in time")]
    Timeout,
    /// The connection was lost or could not be made; the function may or may not run
    /// (`{erpc, noconnection}`).
    #[error("no connection to the node")]
    NoConnection,
    /// The node refused to start the process (`{erpc, Reason}`, such as `notsup`, `system_limit` or
    /// `badarg`).
    #[error("the node refused the call: {0}")]
    Refused(Term),
    /// `rpc`'s answer `{badrpc, Reason}` from a node called through its `rex` server.
    #[error("badrpc: {0}")]
    BadRpc(Term),
}

impl RpcError {
    /// What `rpc:call` returns for this failure: `{badrpc, Reason}`, or the thrown value for a throw
    /// (`rpc:call` returns a throw's value as if it were the result, unless it is `{'EXIT', _}`, which
    /// becomes `{badrpc, {'EXIT', _}}`).
    pub fn to_badrpc(&self) -> Term {
        let exit = |reason: Term| Term::tuple(vec![Term::atom("EXIT"), reason]);
        let reason = match self {
            // rpc:call returns a thrown value as the result, except a thrown {'EXIT', _}, which would
            // look like a failure: that one is {badrpc, {'EXIT', _}}.
            RpcError::Throw(value) if !matches!(value.as_tuple(), Some([tag, _]) if crate::atoms::is(tag, "EXIT")) => {
                return value.clone();
            }
            RpcError::Throw(value) => value.clone(),
            RpcError::Exit(reason) | RpcError::Signal(reason) => exit(reason.clone()),
            RpcError::Error { reason, stack } => exit(Term::tuple(vec![reason.clone(), stack.clone()])),
            RpcError::Timeout => Term::atom("timeout"),
            RpcError::NoConnection => Term::atom("nodedown"),
            RpcError::Refused(reason) if reason.as_atom().is_some_and(|a| a.as_str() == "notsup") => reason.clone(),
            RpcError::Refused(reason) => exit(reason.clone()),
            RpcError::BadRpc(reason) => reason.clone(),
        };
        Term::tuple(vec![Term::atom("badrpc"), reason])
    }
}
