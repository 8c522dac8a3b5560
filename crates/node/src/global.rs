//! Erlang's global names, seen from Rust: the names that processes of the cluster register with
//! `global:register_name/2`, as this node's `global_name_server` keeps them.
//!
//! This node takes part in OTP's `global` as a node with no names of its own (see the protocol notes in
//! the node's `global_name_server`): it learns every name registered on the Erlang nodes it is in sync
//! with, and forgets a name when its process or its node goes. Registering names from Rust is not
//! supported yet.
//!
//! ```no_run
//! # async fn example(p: &mut erlnode::Process) {
//! use erlnode::{Term, global};
//! if let Some(pid) = global::whereis_name(p, Term::atom("config_server")).await {
//!     p.send(pid, Term::atom("reload"));
//! }
//! # }
//! ```

use std::time::Duration;

use erlnode_etf::{Atom, Pid, Term};

use crate::gen_server;
use crate::process::Process;

/// How long a look-up waits for this node's `global_name_server`.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The process registered under the global name `name` (Erlang's `global:whereis_name/1`), if any.
pub async fn whereis_name(p: &mut Process, name: impl Into<Term>) -> Option<Pid> {
    let request = Term::tuple(vec![Term::atom("whereis"), name.into()]);
    match gen_server::call(p, Atom::new("global_name_server"), request, TIMEOUT).await {
        Ok(Term::Pid(pid)) => Some(pid),
        _ => None,
    }
}

/// Sends `message` to the process registered under the global name `name` (Erlang's `global:send/2`);
/// gives `message` back when no process has that name.
pub async fn send(p: &mut Process, name: impl Into<Term>, message: impl Into<Term>) -> Result<Pid, Term> {
    let message = message.into();
    match whereis_name(p, name).await {
        Some(pid) => {
            p.send(pid, message);
            Ok(pid)
        }
        None => Err(message),
    }
}
