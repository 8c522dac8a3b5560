//! The demo node: an application, `demo`, for Erlang to talk to.
//!
//! Its top supervisor, `demo_sup` (one_for_one), supervises:
//! - `echo`, a GenServer: `gen_server:call({echo, Node}, Request)` answers `Request`, and `{echo, Pid, Msg}`
//!   sends `Msg` to `Pid`;
//! - `counter`, a GenServer: `incr` answers the new value, `get` the value, `crash` crashes it, and the
//!   supervisor starts it again at 0;
//! - `sink`, a plain process: on `{sink, N, Pid}` it counts the next `N` messages and then sends `done` to
//!   `Pid`.
//!
//! It also registers functions for `rpc:call` and `erpc:call`: `demo:add/2` adds two integers,
//! `demo:echo/1` returns its argument, and `demo:fail/1` raises an error with the given reason.

use erlnode::application::{self, AppSpec, StartType};
use erlnode::gen_server::{CallResult, Caller, Ctx, Flow, GenServer, InitError};
use erlnode::rpc::Exception;
use erlnode::supervisor::{self, ChildSpec, Flags, Start, Strategy};
use erlnode::{Atom, Node, NodeOptions, Process, Term};

/// Starts the demo node and runs until interrupted.
pub(crate) async fn run(name: &str, cookie: Option<String>, longnames: bool) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = NodeOptions::new(name).longnames(longnames);
    match cookie {
        Some(cookie) => options = options.cookie(cookie),
        None => ensure_home_cookie()?,
    }
    let node = Node::start(options).await?;
    register_functions(&node);
    let demo = AppSpec::new("demo", |node: Node| async move {
        let children = vec![
            ChildSpec::gen_server::<Echo>(Term::atom("echo"), (), Some(Atom::new("echo"))),
            ChildSpec::gen_server::<Counter>(Term::atom("counter"), (), Some(Atom::new("counter"))),
            ChildSpec::new(Term::atom("sink"), |start: Start| async move { start.spawn_link(sink) }),
        ];
        let flags = Flags::new(Strategy::OneForOne).intensity(10, std::time::Duration::from_secs(10));
        supervisor::start(&node, flags, children, Some(Atom::new("demo_sup"))).await.map_err(|e| e.to_term())
    })
    .description("erlnode's demo")
    .version(env!("CARGO_PKG_VERSION"));
    application::load(&node, demo)?;
    application::start(&node, Atom::new("demo"), StartType::Permanent).await?;
    println!("erlnode demo node {} ready", node.name());
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted?,
        reason = application::stopped(&node) => return Err(format!("the node stopped: {reason}").into()),
    }
    Ok(())
}

/// Registers `demo:add/2`, `demo:echo/1` and `demo:fail/1` for other nodes to call.
fn register_functions(node: &Node) {
    node.rpc()
        .register("demo", "add", 2, |args| async move {
            // Integers only: anything else is `badarith`, as Erlang's `+` on non-numbers. The sum of two
            // 64-bit integers fits in 128 bits, and a wide one goes out as an Erlang bignum.
            match (args[0].as_i64(), args[1].as_i64()) {
                (Some(a), Some(b)) => Ok(Term::from(i128::from(a) + i128::from(b))),
                _ => Err(Exception::error(Term::atom("badarith"))),
            }
        })
        .register("demo", "echo", 1, |mut args| async move { Ok(args.remove(0)) })
        .register("demo", "fail", 1, |mut args| async move { Err(Exception::Error(args.remove(0))) });
}

/// Answers calls with the request; `{echo, Pid, Msg}` sends `Msg` to `Pid`.
struct Echo;

impl GenServer for Echo {
    type Args = ();

    async fn init(_ctx: &mut Ctx<'_>, (): ()) -> Result<Echo, InitError> {
        Ok(Echo)
    }

    async fn handle_call(&mut self, _ctx: &mut Ctx<'_>, request: Term, _from: &Caller) -> CallResult {
        CallResult::Reply(request)
    }

    async fn handle_info(&mut self, ctx: &mut Ctx<'_>, message: Term) -> Flow {
        if let Some([tag, Term::Pid(to), msg]) = message.as_tuple() {
            if tag.as_atom().map(|a| a.as_str()) == Some("echo") {
                ctx.send(*to, msg.clone());
            }
        }
        Flow::Continue
    }
}

/// A counter that starts at 0: `incr`, `get`, and `crash`.
struct Counter(i64);

impl GenServer for Counter {
    type Args = ();

    async fn init(_ctx: &mut Ctx<'_>, (): ()) -> Result<Counter, InitError> {
        Ok(Counter(0))
    }

    async fn handle_call(&mut self, _ctx: &mut Ctx<'_>, request: Term, _from: &Caller) -> CallResult {
        match request.as_atom().map(|a| a.as_str()) {
            Some("incr") => {
                self.0 += 1;
                CallResult::reply(self.0)
            }
            Some("get") => CallResult::reply(self.0),
            Some("crash") => panic!("counter asked to crash"),
            _ => CallResult::reply(Term::error(Term::atom("unknown_request"))),
        }
    }

    fn state(&self) -> Term {
        Term::from(self.0)
    }

    /// `sys:replace_state(counter, fun(N) -> N + 10 end)` from Erlang sets the count.
    fn replace_state(&mut self, state: Term) -> Result<(), Term> {
        match state {
            Term::Int(n) => {
                self.0 = n;
                Ok(())
            }
            other => Err(Term::tuple(vec![Term::atom("not_an_integer"), other])),
        }
    }
}

async fn sink(mut p: Process) -> erlnode::ExitResult {
    p.register(Atom::new("sink")).map_err(|e| Term::from(e.to_string()))?;
    loop {
        let message = p.recv().await;
        if let Some([tag, n, Term::Pid(to)]) = message.as_tuple() {
            if tag.as_atom().map(|a| a.as_str()) == Some("sink") {
                for _ in 0..n.as_i64().unwrap_or(0) {
                    p.recv().await;
                }
                p.send(*to, Term::atom("done"));
            }
        }
    }
}

/// Writes a random `~/.erlang.cookie` when there is none, as `erl` does.
fn ensure_home_cookie() -> std::io::Result<()> {
    let Some(home) = std::env::var_os("HOME") else { return Ok(()) };
    let path = std::path::Path::new(&home).join(".erlang.cookie");
    if path.exists() {
        return Ok(());
    }
    use std::hash::{BuildHasher, Hasher};
    let mut cookie = String::new();
    for _ in 0..20 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(cookie.len());
        cookie.push(char::from(b'A' + (h.finish() % 26) as u8));
    }
    std::fs::write(&path, &cookie)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400))?;
    }
    eprintln!("erlnode demo: created {} (as erl does)", path.display());
    Ok(())
}
