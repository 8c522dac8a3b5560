//! `net_kernel`: the process `net_adm:ping` asks.
//!
//! A ping is `{'$gen_call', From, {is_auth, Node}}`; the answer `yes` makes the caller print `pong`
//! (anything else, or no answer, is `pang`). Other calls get `{error, not_supported}` so callers never hang.

use erlnode_etf::{Atom, Term};

use crate::Node;

pub(crate) fn start(node: &Node) {
    let spawned = node.spawn(|mut p| async move {
        loop {
            let message = p.recv().await;
            let Some([tag, from, request]) = message.as_tuple() else { continue };
            if tag.as_atom().map(|a| a.as_str()) != Some("$gen_call") {
                continue;
            }
            let answer = match request.as_tuple() {
                Some([what, _node]) if what.as_atom().map(|a| a.as_str()) == Some("is_auth") => Term::atom("yes"),
                _ => Term::tuple(vec![Term::atom("error"), Term::atom("not_supported")]),
            };
            p.reply(from, answer);
        }
    });
    if let Ok(pid) = spawned {
        let _ = node.register(Atom::new("net_kernel"), pid);
    }
}
