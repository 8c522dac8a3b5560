//! Distributed `erl` nodes, and the ports and names tests give them.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::child::{Proc, WAIT};
use crate::find::Erlang;

/// Erlang that binds `Host` to this node's host part (the text after `@`), for an [`ErlNode::eval`].
pub const ERL_HOST: &str = "[_, Host] = string:split(atom_to_list(node()), \"@\")";

/// A port that was free a moment ago on every interface, below the range the system hands out for port
/// 0 (32768 and up on Linux), so that a listener bound to port 0 meanwhile (a node's own, say) cannot take
/// it before the test binds it.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    for attempt in 0u64..1000 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(attempt);
        hasher.write_u32(std::process::id());
        let port = 20_000 + (hasher.finish() % 12_000) as u16;
        if TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}

/// A name no other test (of this or a concurrent run) uses: `<label>_<pid>_<counter>`.
pub fn unique(label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{label}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Waits until something accepts connections on 127.0.0.1:`port`; panics after [`WAIT`]. `label` names
/// the listener in the message.
pub fn wait_listening(port: u16, label: &str) {
    let start = Instant::now();
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if start.elapsed() > WAIT {
            panic!("{label}: nothing listens on port {port} after {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How a node names itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    /// `-sname`: a short host name.
    Short,
    /// `-name`: a long (fully qualified) host name.
    Long,
}

/// A distributed `erl` node to start: `erl -sname|-name NAME [-setcookie C] [-start_epmd false] -noshell
/// -noinput [ARGS...] [-eval EXPR]`, with the user's Erlang settings removed from its environment.
///
/// ```no_run
/// # use erlnode_erltest::{Erlang, node::{ErlNode, free_port, unique}};
/// let Some(erlang) = Erlang::find("doc") else { return };
/// let node = ErlNode::sname(&unique("a"))
///     .cookie("secret")
///     .epmd_port(free_port())
///     .eval("io:format(\"ready~n\"), timer:sleep(infinity).")
///     .start(&erlang);
/// node.wait_for("ready");
/// ```
#[derive(Debug, Clone)]
#[must_use = "an ErlNode does nothing until started"]
pub struct ErlNode {
    kind: NameKind,
    name: String,
    cookie: Option<String>,
    epmd_port: Option<u16>,
    args: Vec<String>,
    eval: Option<String>,
    env: Vec<(String, String)>,
}

impl ErlNode {
    /// A node with the short name `name` (`-sname`; `name` or `name@host`).
    pub fn sname(name: &str) -> ErlNode {
        ErlNode::new(NameKind::Short, name)
    }

    /// A node with the long name `name` (`-name`; `name` or `name@host.domain`).
    pub fn name(name: &str) -> ErlNode {
        ErlNode::new(NameKind::Long, name)
    }

    fn new(kind: NameKind, name: &str) -> ErlNode {
        ErlNode {
            kind,
            name: name.to_owned(),
            cookie: None,
            epmd_port: None,
            args: Vec::new(),
            eval: None,
            env: Vec::new(),
        }
    }

    /// The magic cookie (`-setcookie`); without it, `erl` uses `~/.erlang.cookie`.
    pub fn cookie(mut self, cookie: &str) -> ErlNode {
        self.cookie = Some(cookie.to_owned());
        self
    }

    /// The EPMD to register with: `ERL_EPMD_PORT=port`, and `-start_epmd false`, so the node never starts
    /// a daemon of its own.
    pub fn epmd_port(mut self, port: u16) -> ErlNode {
        self.epmd_port = Some(port);
        self
    }

    /// More `erl` arguments (flags such as `+P 100000`, or `-kernel ...`), before `-eval`.
    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> ErlNode {
        self.args.extend(args.iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// An environment variable for `erl` (such as `DISPLAY` for a node that opens windows).
    pub fn env(mut self, key: &str, value: &str) -> ErlNode {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Erlang to run once the node is up (`-eval`). It should end by waiting (e.g. `timer:sleep(infinity)`)
    /// as long as the node is to stay up.
    pub fn eval(mut self, expr: &str) -> ErlNode {
        self.eval = Some(expr.to_owned());
        self
    }

    /// The command line after `erl`.
    pub fn command_line(&self) -> Vec<String> {
        let flag = match self.kind {
            NameKind::Short => "-sname",
            NameKind::Long => "-name",
        };
        let mut all = vec![flag.to_owned(), self.name.clone()];
        if let Some(cookie) = &self.cookie {
            all.extend(["-setcookie".to_owned(), cookie.clone()]);
        }
        if self.epmd_port.is_some() {
            all.extend(["-start_epmd".to_owned(), "false".to_owned()]);
        }
        all.extend(["-noshell".to_owned(), "-noinput".to_owned()]);
        all.extend(self.args.iter().cloned());
        if let Some(eval) = &self.eval {
            all.extend(["-eval".to_owned(), eval.clone()]);
        }
        all
    }

    /// Starts the node with `erlang`'s `erl`; the [`Proc`] is labelled with the node's name.
    pub fn start(&self, erlang: &Erlang) -> Proc {
        let mut env: Vec<(&str, String)> =
            self.epmd_port.map(|port| ("ERL_EPMD_PORT", port.to_string())).into_iter().collect();
        env.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.clone())));
        Proc::start(&self.name, &erlang.erl, &self.command_line(), &env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique("a"), unique("a"));
    }

    #[test]
    fn the_command_line_is_what_erl_expects() {
        let node = ErlNode::sname("a").cookie("c").epmd_port(4000).args(&["+P", "1000"]).eval("ok.");
        let want = "-sname a -setcookie c -start_epmd false -noshell -noinput +P 1000 -eval ok.";
        assert_eq!(node.command_line().join(" "), want);
        assert_eq!(ErlNode::name("b@127.0.0.1").command_line().join(" "), "-name b@127.0.0.1 -noshell -noinput");
    }
}
