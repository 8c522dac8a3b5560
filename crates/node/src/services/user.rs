//! `user`: the group leader this node gives the processes it asks other nodes to spawn (for
//! [`Process::rpc_call`](crate::Process::rpc_call) and [`Process::spawn_remote`](crate::Process::spawn_remote)).
//! An Erlang function run that way sends its output (`io:format`) here, as Erlang sends it to the
//! caller's group leader, and waits for the answer: output is written to standard output (`io:format`'s
//! `{put_chars, [Encoding,] io_lib, format, [Format, Args]}` is formatted here, with the common directives);
//! requests for input are answered `{error, enotsup}`, as a node without a terminal would.

use std::io::Write;

use erlnode_etf::{Atom, Term};

use crate::Node;
use crate::atoms::is;

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
    let printed = |text: String| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        Term::atom("ok")
    };
    match parts {
        [tag, chars] | [tag, _, chars] if is(tag, "put_chars") => match text(chars) {
            Some(text) => printed(text),
            None => error("put_chars"),
        },
        // With or without the encoding (OTP 25 sends `{put_chars, io_lib, format, [Format, Args]}`).
        [tag, m, f, a] | [tag, _, m, f, a] if is(tag, "put_chars") && is(m, "io_lib") && is(f, "format") => {
            match a.to_list().as_deref() {
                Some([format, args]) => match (text(format), args.to_list()) {
                    (Some(format), Some(args)) => printed(io_format(&format, &args)),
                    _ => error("format"),
                },
                _ => error("format"),
            }
        }
        [tag, list] if is(tag, "requests") => {
            let replies: Vec<Term> = list.to_list().unwrap_or_default().iter().map(answer).collect();
            replies.into_iter().find(|r| !is(r, "ok")).unwrap_or_else(|| Term::atom("ok"))
        }
        _ if is(request, "getopts") => Term::NIL,
        _ => error("enotsup"),
    }
}

/// The text of Erlang chardata: a binary, a list of code points, or nested lists of either.
fn text(chars: &Term) -> Option<String> {
    match chars {
        Term::Binary(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Term::Int(c) => u32::try_from(*c).ok().and_then(char::from_u32).map(String::from),
        list => list.to_list()?.iter().map(text).collect(),
    }
}

/// `io_lib:format(Format, Args)` for the directives code prints with: `~p ~w ~s ~n ~~ ~c ~b ~e ~f ~g ~i`
/// (the `t` and `l` modifiers, field widths and precisions are read and ignored). An argument that does
/// not fit its directive is printed as `~w` would.
fn io_format(format: &str, args: &[Term]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        let mut control = chars.next();
        while let Some(m) = control.filter(|m| m.is_ascii_digit() || matches!(m, '.' | '*' | '-' | 't' | 'l')) {
            if m == '*' {
                args.next();
            }
            control = chars.next();
        }
        let Some(control) = control else { break };
        match control {
            'n' => out.push('\n'),
            '~' => out.push('~'),
            'i' => {
                args.next();
            }
            'P' | 'W' => {
                out.push_str(&args.next().map(Term::to_string).unwrap_or_default());
                args.next();
            }
            's' => {
                let arg = args.next();
                let shown = arg.and_then(|a| a.as_atom().map(|a| a.as_str().to_owned()).or_else(|| text(a)));
                out.push_str(&shown.or_else(|| arg.map(Term::to_string)).unwrap_or_default());
            }
            'c' => {
                let arg = args.next();
                match arg.and_then(|a| a.as_i64()).and_then(|c| u32::try_from(c).ok()).and_then(char::from_u32) {
                    Some(c) => out.push(c),
                    None => out.push_str(&arg.map(Term::to_string).unwrap_or_default()),
                }
            }
            _ => out.push_str(&args.next().map(Term::to_string).unwrap_or_default()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_common_directives() {
        let args: Vec<Term> =
            vec!["{a, [1]}".parse().unwrap(), Term::charlist("text"), Term::atom("at"), Term::from(65)];
        assert_eq!(io_format("x ~p ~s ~s ~c ~~~n", &args), "x {a,[1]} text at A ~\n");
        assert_eq!(io_format("~10.2f|~tp", &[Term::from(1.5), Term::from(2)]), "1.5|2");
    }
}
