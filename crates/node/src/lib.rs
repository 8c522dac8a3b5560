//! erlnode: an Erlang/OTP node in Rust.
//!
//! This crate is the runtime users depend on. A [`Node`] runs processes (tasks on erlnode's own
//! [schedulers](scheduler), with unbounded, lossless mailboxes); they send each other [`Term`]s, register
//! names, link and monitor each other, make aliases, set timers and exit with Erlang's exact semantics.
//! A node started with [`Node::start`] is a member of an Erlang cluster, and all of that works with
//! processes on other nodes too (see [`dist`]).
//!
//! # Processes
//! ```
//! use std::time::Duration;
//! use erlnode::{Node, Term};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::new("demo@localhost", 1)?;
//!
//! // An echo server: replies {echo, Msg} to {From, Msg}.
//! let echo = node.spawn(|mut p| async move {
//!     loop {
//!         let msg = p.recv().await;
//!         if let Some([Term::Pid(from), body]) = msg.as_tuple() {
//!             p.send(*from, Term::tuple(vec![Term::atom("echo"), body.clone()]));
//!         }
//!     }
//! })?;
//! node.register(erlnode::Atom::new("echo"), echo)?;
//!
//! // A client that calls it, then crashes; its monitor sees why.
//! let (tx, rx) = tokio::sync::oneshot::channel();
//! node.spawn(move |mut p| async move {
//!     let (client, monitor) = p.spawn_monitor(|mut c| async move {
//!         c.send_named(erlnode::Atom::new("echo"), (c.self_pid(), "hi"))?;
//!         let reply = c.recv_timeout(Duration::from_secs(5)).await;
//!         Err(Term::tuple(vec![Term::atom("done"), reply.unwrap_or_default()]))
//!     })?;
//!     let down = p.recv().await;
//!     tx.send((client, monitor, down)).ok();
//!     Ok(())
//! })?;
//!
//! let (client, monitor, down) = rx.await?;
//! assert_eq!(
//!     down,
//!     Term::tuple(vec![
//!         Term::atom("DOWN"),
//!         Term::Ref(monitor),
//!         Term::atom("process"),
//!         Term::Pid(client),
//!         "{done,{echo,<<\"hi\">>}}".parse()?,
//!     ])
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # Where things are
//! - [`Node`]: name, creation, the process table, names, references; for code outside processes also
//!   `send_alias`, `send_after` / `cancel_timer` / `read_timer`, `exit` (sent as [`Node::node_pid`]) and
//!   `process_info` ([`ProcessInfo`]).
//! - [`Process`]: what a process's own code uses: `send`, `recv*`, `spawn_link`, `link`, `trap_exit`,
//!   `exit`, `monitor`, `alias` / `unalias` / `send_alias`, `send_after` / `cancel_timer`.
//! - [`exit`]: exit reasons and how a process ends.
//! - [`process::alias`], [`process::timer`], [`process::info`]: the rules of aliases, timers and
//!   introspection.
//! - [`dist`]: joining a cluster ([`NodeOptions`], TLS with [`TlsOptions`]), connections, and what
//!   remote messages and signals do.
//! - [`global`]: the cluster's global names (`global:whereis_name/1`, `global:send/2`).
//! - [`rpc`]: Rust functions Erlang calls (`rpc:call`, `erpc:call`, `spawn/4`), and
//!   [`Process::rpc_call`] / [`Process::spawn_remote`] to call and spawn on other nodes.
//! - [`scheduler`]: where processes run (one scheduler thread per core, a tokio runtime thread for timers
//!   and I/O) and why a process woken by another stays on its core.

pub mod application;
mod atoms;
pub mod dist;
pub mod gen_server;
pub mod global;
mod hash;
mod node;
pub mod process;
pub mod rpc;
pub mod scheduler;
mod services;
mod small_map;
pub mod supervisor;

pub use dist::{NodeOptions, StartError, TlsError, TlsOptions};
pub use erlnode_etf::{Atom, Pid, Ref, Term, from_term, to_term};
pub use node::{Node, NodeError};
pub use process::exit::{self, ExitResult};
pub use process::info::{ProcessInfo, Status};
pub use process::table::MAX_PROCESSES;
pub use process::{LinkError, MonitorTarget, Process, RegisterError, SendError, SpawnError, UnregisterError};
