//! Built-in named processes that Erlang peers expect on every node.
//!
//! - `net_kernel` ([`net_kernel`]): answers `net_adm:ping` (`is_auth`) with `yes`.
//! - `rex` ([`crate::rpc::rex`]): `rpc`'s server.
//! - `user` ([`user`]): the group leader of the processes this node spawns on others; prints their output.
//! - `global_name_server` ([`global`]): syncs with Erlang's `global` as a node without names of its own,
//!   so that `global:sync()` and global locks on Erlang nodes do not wait for this one for ever.
//! - `pg`: accepts the messages OTP sends on `nodeup` and drops them, so the connection stays healthy
//!   (its protocol is not implemented; a peer's `pg` then knows no groups here).

pub(crate) mod global;
pub(crate) mod net_kernel;
pub(crate) mod user;

use erlnode_etf::Atom;

use crate::Node;

/// Starts the built-in processes of a distributed node.
pub(crate) fn start(node: &Node) {
    net_kernel::start(node);
    crate::rpc::rex::start(node);
    user::start(node);
    global::start(node);
    sink(node, "pg");
}

/// A registered process that takes every message and does nothing with it.
fn sink(node: &Node, name: &str) {
    let spawned = node.spawn(|mut p| async move {
        loop {
            let message = p.recv().await;
            tracing::trace!(%message, "ignored");
        }
    });
    if let Ok(pid) = spawned {
        if node.register(Atom::new(name), pid).is_err() {
            node.exit(pid, crate::exit::kill());
        }
    }
}
