//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::future::Future;
use std::time::Duration;

use erlnode::{Atom, Node, Pid, Process, Ref, Term};

/// How long a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(5);

/// A fresh node.
pub fn node() -> Node {
    Node::new("test@localhost", 3).unwrap()
}

/// Runs `body` as a process of `node` and returns what it returns.
pub async fn within<T, F, Fut>(node: &Node, body: F) -> T
where
    T: Send + 'static,
    F: FnOnce(Process) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    node.spawn(move |p| async move {
        tx.send(body(p).await).ok();
        Ok(())
    })
    .unwrap();
    tokio::time::timeout(WAIT, rx).await.expect("test process timed out").expect("test process died")
}

/// Parses Erlang syntax.
pub fn t(text: &str) -> Term {
    text.parse().unwrap()
}

/// `{'DOWN', Ref, process, Object, Reason}`.
pub fn down(monitor: Ref, object: Term, reason: Term) -> Term {
    Term::tuple(vec![Term::atom("DOWN"), Term::Ref(monitor), Term::atom("process"), object, reason])
}

/// `{'EXIT', From, Reason}`.
pub fn exit_msg(from: Pid, reason: Term) -> Term {
    Term::tuple(vec![Term::atom("EXIT"), Term::Pid(from), reason])
}

/// Waits for the next message, failing the test after [`WAIT`].
pub async fn next(p: &mut Process) -> Term {
    p.recv_timeout(WAIT).await.expect("no message arrived")
}

/// Waits for `{'DOWN', Ref, ...}` and returns its reason.
pub async fn down_reason(p: &mut Process, monitor: Ref) -> Term {
    let msg = p
        .recv_match_timeout(|m| matches!(m.as_tuple(), Some([_, r, ..]) if r.as_ref() == Some(&monitor)), WAIT)
        .await
        .expect("no DOWN arrived");
    msg.as_tuple().unwrap()[4].clone()
}

/// The atom `name`.
pub fn a(name: &str) -> Atom {
    Atom::new(name)
}

/// A process that waits forever.
pub async fn forever(_p: Process) -> erlnode::ExitResult {
    std::future::pending().await
}

/// A distributed node named after `label` with `cookie`, whose embedded EPMD listens on a free port; and
/// that port. A port found free can be taken by another test before the EPMD binds it, so a failed start
/// is tried again on another port.
pub async fn dist_node(label: &str, cookie: &str) -> (Node, u16) {
    let mut last = None;
    for _ in 0..5 {
        let epmd = erlnode_erltest::node::free_port();
        let options = erlnode::NodeOptions::new(erlnode_erltest::node::unique(label)).cookie(cookie).epmd_port(epmd);
        match Node::start(options).await {
            Ok(node) => return (node, epmd),
            Err(e) => last = Some(e),
        }
    }
    panic!("the Rust node does not start: {last:?}");
}

/// Whether `erlang`'s `erl` can load `module` (`etop` and observer come with Debian's erlang-observer,
/// which not every install has).
pub fn erl_has_module(erlang: &erlnode_erltest::Erlang, module: &str) -> bool {
    let check = format!("halt(case code:which({module}) of non_existing -> 1; _ -> 0 end).");
    std::process::Command::new(&erlang.erl).args(["-noshell", "-eval", &check]).status().is_ok_and(|s| s.success())
}
