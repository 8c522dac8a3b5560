//! `rex`: the RPC server's name. A published OTP node sends it `{Pid, features_request}` on `nodeup` and
//! waits for `{features_reply, Node, Features}`; calls are answered `{badrpc, notsup}` until RPC exists.

use erlnode_etf::{Atom, Term};

use super::caller;
use crate::Node;

pub(crate) fn start(node: &Node) {
    let spawned = node.spawn(|mut p| async move {
        loop {
            let message = p.recv().await;
            match message.as_tuple() {
                Some([Term::Pid(from), what]) if what.as_atom().map(|a| a.as_str()) == Some("features_request") => {
                    let features = Term::list(vec![]);
                    let node = Term::Atom(p.node().name());
                    p.send(*from, Term::tuple(vec![Term::atom("features_reply"), node, features]));
                }
                Some([tag, from, _request])
                    if tag.as_atom().map(|a| a.as_str()) == Some("$gen_call") && caller(from).is_some() =>
                {
                    p.reply(from, Term::tuple(vec![Term::atom("badrpc"), Term::atom("notsup")]));
                }
                _ => {}
            }
        }
    });
    if let Ok(pid) = spawned {
        let _ = node.register(Atom::new("rex"), pid);
    }
}
