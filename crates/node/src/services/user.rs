//! `user`: the group leader this node gives the processes it asks other nodes to spawn (for
//! [`Process::rpc_call`](crate::Process::rpc_call) and [`Process::spawn_remote`](crate::Process::spawn_remote)).
//! An Erlang function run that way sends its output (`io:format`) here, as Erlang sends it to the
//! caller's group leader, and waits for the answer: output is written to standard output; requests for
//! input are answered `{error, enotsup}`, as a node without a terminal would.

use std::io::Write;

use erlnode_etf::{Atom, Term};

use crate::Node;

pub(crate) fn start(node: &Node) {
    let spawned = node.spawn(|mut p| async move {
        loop {
            let message = p.recv().await;
            // {io_request, From, ReplyAs, Request} -> {io_reply, ReplyAs, Reply}
            let Some([tag, Term::Pid(from), reply_as, request]) = message.as_tuple() else { continue };
            if tag.as_atom().map(|a| a.as_str()) != Some("io_request") {
                continue;
            }
            let reply = answer(request);
            p.send(*from, Term::tuple(vec![Term::atom("io_reply"), reply_as.clone(), reply]));
        }
    });
    if let Ok(pid) = spawned {
        let _ = node.register(Atom::new("user"), pid);
    }
}

/// The reply to one IO request.
fn answer(request: &Term) -> Term {
    let error = |why: &str| Term::tuple(vec![Term::atom("error"), Term::atom(why)]);
    let parts = request.as_tuple().unwrap_or_default();
    match parts {
        [tag, chars] | [tag, _, chars] if is(tag, "put_chars") => match text(chars) {
            Some(text) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
                Term::atom("ok")
            }
            None => error("put_chars"),
        },
        [tag, list] if is(tag, "requests") => {
            let replies: Vec<Term> = list.to_list().unwrap_or_default().iter().map(answer).collect();
            replies.into_iter().find(|r| !is(r, "ok")).unwrap_or_else(|| Term::atom("ok"))
        }
        _ if is(request, "getopts") => Term::NIL,
        _ => error("enotsup"),
    }
}

fn is(term: &Term, name: &str) -> bool {
    term.as_atom().is_some_and(|a| a.as_str() == name)
}

/// The text of Erlang chardata: a binary, a list of code points, or nested lists of either.
fn text(chars: &Term) -> Option<String> {
    match chars {
        Term::Binary(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Term::Int(c) => u32::try_from(*c).ok().and_then(char::from_u32).map(String::from),
        list => list.to_list()?.iter().map(text).collect(),
    }
}
