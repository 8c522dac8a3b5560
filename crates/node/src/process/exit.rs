//! Exit reasons, as the terms Erlang uses for them, and the messages that carry them.
//!
//! A process ends with a reason, which is any term:
//! - `normal` when its future returns `Ok(())`;
//! - the term `E` when it returns `Err(E)`;
//! - `{panic, <<"message">>}` when it panics (the message as a UTF-8 binary; a payload that is neither a
//!   `&str` nor a `String` gives `{panic, <<>>}`); the panic is caught and the node lives on;
//! - `killed` when it received the untrappable exit signal `kill` (from [`Process::exit`]);
//! - the reason of any other exit signal that reached it while it did not trap exits.
//!
//! [`Process::exit`]: crate::Process::exit

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use erlnode_etf::{Pid, Ref, Term};

use crate::atoms;

/// What a process's future returns: `Ok(())` ends it with reason `normal`, `Err(reason)` with `reason`.
pub type ExitResult = Result<(), Term>;

/// The reason `normal`: a process that finished its work.
pub fn normal() -> Term {
    Term::Atom(atoms::normal())
}

/// The reason `kill`, which [`Process::exit`](crate::Process::exit) turns into an untrappable exit signal.
pub fn kill() -> Term {
    Term::Atom(atoms::kill())
}

/// The reason `killed`: what a process that received `kill` exits with, and what its links see.
pub fn killed() -> Term {
    Term::Atom(atoms::killed())
}

/// The reason `noproc`: the process named in a link or monitor did not exist.
pub fn noproc() -> Term {
    Term::Atom(atoms::noproc())
}

/// The reason `noconnection`: the connection to the node of a linked or monitored process was lost.
pub fn noconnection() -> Term {
    Term::Atom(atoms::noconnection())
}

/// The reason `badarg`, which Erlang raises for a bad argument to a built-in (a taken name, ...).
pub fn badarg() -> Term {
    Term::Atom(atoms::badarg())
}

/// `true` for the reason `normal`.
pub fn is_normal(reason: &Term) -> bool {
    reason.as_atom() == Some(atoms::normal())
}

/// The reason `system_limit`: a limit of the node was reached (no room for another process).
pub fn system_limit() -> Term {
    Term::Atom(atoms::system_limit())
}

/// `true` for the reason `kill`.
pub(crate) fn is_kill(reason: &Term) -> bool {
    reason.as_atom() == Some(atoms::kill())
}

/// The reason for a caught panic: `{panic, <<"message">>}`.
pub(crate) fn from_panic(payload: &(dyn Any + Send)) -> Term {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    Term::tuple(vec![Term::Atom(atoms::panic()), Term::from(text)])
}

/// `future`'s output, or the panic it raised as an exit reason (`{panic, Message}`): for code that must
/// go on after a callback panics (a gen_server's `terminate`, an RPC's error result).
pub(crate) async fn catch_panic<F: Future>(future: F) -> Result<F::Output, Term> {
    CatchUnwind { future: std::pin::pin!(future) }.await
}

struct CatchUnwind<'a, F> {
    future: Pin<&'a mut F>,
}

impl<F: Future> Future for CatchUnwind<'_, F> {
    type Output = Result<F::Output, Term>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.future.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(from_panic(payload.as_ref()))),
        }
    }
}

/// `{'EXIT', From, Reason}`, the message a trapping process gets for an exit signal.
pub(crate) fn exit_message(from: Pid, reason: Term) -> Term {
    Term::tuple(vec![Term::Atom(atoms::exit_tag()), Term::Pid(from), reason])
}

/// `true` for an `{'EXIT', From, _}` message from `from`.
pub(crate) fn is_exit_from(message: &Term, from: Pid) -> bool {
    matches!(message.as_tuple(), Some([Term::Atom(tag), Term::Pid(pid), _]) if *tag == atoms::exit_tag() && *pid == from)
}

/// `{'DOWN', Ref, process, Object, Reason}`, the message a monitor delivers.
pub(crate) fn down_message(monitor: Ref, object: Term, reason: Term) -> Term {
    Term::tuple(vec![Term::Atom(atoms::down_tag()), Term::Ref(monitor), Term::Atom(atoms::process()), object, reason])
}

/// `true` for a `{'DOWN', Ref, _, _, _}` message of the monitor `monitor`.
pub(crate) fn is_down_of(message: &Term, monitor: &Ref) -> bool {
    matches!(message.as_tuple(), Some([tag, r, _, _, _])
        if tag.as_atom() == Some(atoms::down_tag()) && r.as_ref() == Some(monitor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_payloads_become_binaries() {
        let text = |t: Term| t.to_string();
        assert_eq!(text(from_panic(&"boom")), "{panic,<<\"boom\">>}");
        assert_eq!(text(from_panic(&String::from("bang"))), "{panic,<<\"bang\">>}");
        assert_eq!(text(from_panic(&42_u8)), "{panic,<<>>}");
    }

    #[test]
    fn reasons_are_atoms() {
        assert!(is_normal(&normal()));
        assert!(!is_normal(&killed()));
        assert!(is_kill(&kill()));
        assert_eq!(noproc().to_string(), "noproc");
    }
}

/// Errors of the runtime become the exit reasons Erlang's built-ins raise, so `?` in a process's future
/// ends the process the way the Erlang call would have.
mod reasons {
    use erlnode_etf::Term;

    use super::badarg;
    use crate::atoms;
    use crate::process::{LinkError, RegisterError, SendError, SpawnError, UnregisterError};

    impl From<SpawnError> for Term {
        /// `system_limit`.
        fn from(_: SpawnError) -> Term {
            Term::Atom(atoms::system_limit())
        }
    }

    impl From<LinkError> for Term {
        /// `noproc`.
        fn from(e: LinkError) -> Term {
            match e {
                LinkError::NoProc(_) => super::noproc(),
            }
        }
    }

    impl From<RegisterError> for Term {
        /// `badarg`.
        fn from(_: RegisterError) -> Term {
            badarg()
        }
    }

    impl From<UnregisterError> for Term {
        /// `badarg`.
        fn from(_: UnregisterError) -> Term {
            badarg()
        }
    }

    impl From<SendError> for Term {
        /// `badarg`.
        fn from(_: SendError) -> Term {
            badarg()
        }
    }
}
