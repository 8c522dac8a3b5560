//! GenServer against real Erlang: `gen_server:call/cast`, `sys` and `gen_server:stop` from `erl` on a Rust
//! server, and Rust calling an Erlang `gen_server` (compiled from `tests/erlang/gs_peer.erl`), including
//! timeouts, a reply that comes later, the server dying mid-call and a missing name.

mod common;

use std::path::Path;
use std::time::Duration;

use common::WAIT;
use erlnode::gen_server::{self, CallError, CallResult, Caller, Ctx, Flow, GenServer, InitError};
use erlnode::{Atom, Node, Pid, Term};
use erlnode_erltest::node::{ERL_HOST, ErlNode, unique};
use erlnode_erltest::{Erlang, TempDir};

const COOKIE: &str = "erlnode_gen_server_test";
const PEER_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/erlang/gs_peer.erl");

/// A counter: `incr`, `get`, `whoami`; casts `{add, N}`; reports `terminate` to its watcher.
struct Counter {
    count: i64,
    watcher: Pid,
}

impl GenServer for Counter {
    type Args = Pid;

    async fn init(_ctx: &mut Ctx<'_>, watcher: Pid) -> Result<Self, InitError> {
        Ok(Counter { count: 0, watcher })
    }

    async fn handle_call(&mut self, ctx: &mut Ctx<'_>, request: Term, _from: &Caller) -> CallResult {
        match request.as_atom().map(|a| a.as_str()) {
            Some("incr") => {
                self.count += 1;
                CallResult::reply(self.count)
            }
            Some("get") => CallResult::reply(self.count),
            Some("whoami") => CallResult::reply(ctx.self_pid()),
            _ => CallResult::reply(Term::atom("unknown")),
        }
    }

    async fn handle_cast(&mut self, _ctx: &mut Ctx<'_>, message: Term) -> Flow {
        if let Some([_, Term::Int(n)]) = message.as_tuple() {
            self.count += n;
        }
        Flow::Continue
    }

    async fn terminate(&mut self, ctx: &mut Ctx<'_>, reason: &Term) {
        ctx.send(self.watcher, Term::tuple(vec![Term::atom("terminated"), reason.clone()]));
    }

    fn state(&self) -> Term {
        Term::tuple(vec![Term::atom("count"), Term::from(self.count)])
    }

    fn replace_state(&mut self, state: Term) -> Result<(), Term> {
        match state.as_tuple() {
            Some([Term::Atom(tag), Term::Int(n)]) if tag.as_str() == "count" => {
                self.count = *n;
                Ok(())
            }
            _ => Err(Term::tuple(vec![Term::atom("not_a_count"), state])),
        }
    }
}

async fn rust_node(label: &str) -> (Node, u16) {
    common::dist_node(label, COOKIE).await
}

fn t(text: &str) -> Term {
    text.parse().expect("a term")
}

#[tokio::test(flavor = "multi_thread")]
async fn erlang_calls_casts_and_inspects_a_rust_gen_server() {
    let Some(erlang) = Erlang::find("erlang_calls_casts_and_inspects_a_rust_gen_server") else { return };
    let (node, epmd) = rust_node("rust_gs").await;
    let (tx, mut terminated) = tokio::sync::mpsc::unbounded_channel();
    let watcher = node
        .spawn(move |mut p| async move {
            let message = p.recv().await;
            let _ = tx.send(message);
            Ok(())
        })
        .expect("the watcher starts");
    gen_server::start::<Counter>(&node, watcher, Some(Atom::new("rust_counter"))).await.expect("the server starts");
    // A function of this node that sys:replace_state can name as `fun counter:reset/1`.
    node.rpc()
        .register("counter", "reset", 1, |_state| async { Ok(Term::tuple(vec![Term::atom("count"), Term::from(0)])) });

    let rust = format!("'{}'", node.name().as_str());
    let eval = format!(
        "{ERL_HOST}, S = {{rust_counter, {rust}}}, \
         io:format(\"CALL ~p~n\", [gen_server:call(S, incr)]), \
         ok = gen_server:cast(S, {{add, 10}}), \
         io:format(\"GET ~p~n\", [gen_server:call(S, get)]), \
         Pid = gen_server:call(S, whoami), \
         io:format(\"BYPID ~p ~p~n\", [node(Pid) =:= {rust}, gen_server:call(Pid, incr)]), \
         io:format(\"STATE ~p~n\", [sys:get_state(S)]), \
         {{status, Pid, {{module, gen_server}}, _}} = sys:get_status(S), io:format(\"STATUS ok~n\"), \
         ok = sys:suspend(S), \
         io:format(\"SUSPENDED ~p~n\", [catch gen_server:call(S, get, 300)]), \
         ok = sys:resume(S), \
         io:format(\"RESUMED ~p~n\", [gen_server:call(S, get)]), \
         io:format(\"REPLACE ~p~n\", [sys:replace_state(S, fun({{count, N}}) -> {{count, N * 2}} end)]), \
         io:format(\"REPLACED ~p~n\", [gen_server:call(S, get)]), \
         io:format(\"FUN_FAILS ~w~n\", [catch sys:replace_state(S, fun(_) -> error(boom) end)]), \
         io:format(\"NOT_TAKEN ~w~n\", [catch sys:replace_state(S, fun(_) -> nonsense end)]), \
         io:format(\"KEPT ~p~n\", [gen_server:call(S, get)]), \
         ok = sys:log(S, true), ok = sys:statistics(S, true), \
         24 = gen_server:call(S, get), ok = gen_server:cast(S, {{add, 0}}), \
         io:format(\"LOG ~w~n\", [sys:log(S, get)]), \
         io:format(\"STATS ~w~n\", [sys:statistics(S, get)]), \
         ok = sys:no_debug(S), io:format(\"NO_DEBUG ~w~n\", [sys:statistics(S, get)]), \
         io:format(\"RUST_FUN ~p~n\", [sys:replace_state(S, fun counter:reset/1)]), \
         io:format(\"RESET ~p~n\", [gen_server:call(S, get)]), \
         io:format(\"MISSING ~p~n\", [catch gen_server:call({{no_such, {rust}}}, get, 2000)]), \
         io:format(\"STOP ~p~n\", [gen_server:stop(S, shutdown, 5000)]), \
         io:format(\"AFTER ~p~n\", [catch gen_server:call(S, get, 2000)]), \
         timer:sleep(infinity)."
    );
    let peer = ErlNode::sname(&unique("erl_gs")).cookie(COOKIE).epmd_port(epmd).eval(&eval).start(&erlang);
    peer.wait_for("CALL 1");
    peer.wait_for("GET 11");
    peer.wait_for("BYPID true 12");
    peer.wait_for("STATE {count,12}");
    peer.wait_for("STATUS ok");
    // The call made while suspended timed out; it was kept, and ran after resume (12 -> 12: a get).
    let suspended = peer.wait_for("SUSPENDED");
    assert!(suspended.contains("timeout"), "{suspended}");
    peer.wait_for("RESUMED 12");
    // An Erlang fun runs on its own node, and the server takes its result.
    peer.wait_for("REPLACE {count,24}");
    peer.wait_for("REPLACED 24");
    // A fun that fails, or a result the server refuses, leaves the state as it was; sys raises as OTP's.
    let fails = peer.wait_for("FUN_FAILS");
    assert!(fails.contains("{callback_failed,{gen_server,system_replace_state},{error,boom}}"), "{fails}");
    let refused = peer.wait_for("NOT_TAKEN");
    assert!(refused.contains("{error,{not_a_count,nonsense}}"), "{refused}");
    peer.wait_for("KEPT 24");
    // sys:log and sys:statistics keep OTP's events: {in, Msg}, {out, Reply, To, State}, {noreply, State}.
    let log = peer.wait_for("LOG");
    assert!(log.contains("LOG {ok,[{in,{'$gen_call',{<"), "{log}");
    assert!(log.contains("get}},{out,24,{<"), "{log}");
    assert!(log.contains(",{count,24}},{in,{'$gen_cast',{add,0}}},{noreply,{count,24}}]}"), "{log}");
    let stats = peer.wait_for("STATS");
    assert!(stats.contains(",{messages_in,2},{messages_out,1}]}"), "{stats}");
    // The server ran for those messages: its reductions since statistics began are counted.
    let reductions = stats.split("{reductions,").nth(1).and_then(|rest| rest.split('}').next());
    assert!(reductions.and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| n > 0), "{stats}");
    peer.wait_for("NO_DEBUG {ok,no_statistics}");
    // `fun counter:reset/1` names a function registered on the Rust node: it runs there.
    peer.wait_for("RUST_FUN {count,0}");
    peer.wait_for("RESET 0");
    let missing = peer.wait_for("MISSING");
    assert!(missing.contains("noproc"), "{missing}");
    peer.wait_for("STOP ok");
    let after = peer.wait_for("AFTER");
    assert!(after.contains("noproc"), "{after}");
    let reason = tokio::time::timeout(WAIT, terminated.recv()).await.expect("terminate ran").expect("a message");
    assert_eq!(reason, t("{terminated, shutdown}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_calls_an_erlang_gen_server() {
    let Some(erlang) = Erlang::find("rust_calls_an_erlang_gen_server") else { return };
    let (node, epmd) = rust_node("rust_gs_caller").await;
    let dir = TempDir::new("erlnode-gs-peer");
    erlang.compile(Path::new(PEER_SOURCE), &dir);
    let name = unique("erl_gs_peer");
    let eval = format!(
        "{ERL_HOST}, gs_peer:start(), gs_peer:start(gs_peer_b), io:format(\"READY~n\"), timer:sleep(infinity)."
    );
    let dir_arg = dir.path().to_string_lossy().to_string();
    let mut peer =
        ErlNode::sname(&name).cookie(COOKIE).epmd_port(epmd).args(&["-pa", &dir_arg]).eval(&eval).start(&erlang);
    peer.wait_for("READY");
    let host = node.name().as_str().split_once('@').map(|(_, h)| h.to_string()).unwrap_or_default();
    let erl = Atom::new(&format!("{name}@{host}"));
    let server = (Atom::new("gs_peer"), erl);

    let (tx, rx) = tokio::sync::oneshot::channel();
    node.spawn(move |mut p| async move {
        let mut seen = Vec::new();
        seen.push(gen_server::call(&mut p, server, t("{echo, {hello, [1, 2.5, <<\"bin\">>]}}"), WAIT).await);
        let pid = gen_server::call(&mut p, server, t("whoami"), WAIT).await;
        let by_pid = match &pid {
            Ok(Term::Pid(pid)) => gen_server::call(&mut p, *pid, t("{echo, by_pid}"), WAIT).await,
            other => Err(CallError::Exit(Term::from(format!("{other:?}")))),
        };
        seen.push(by_pid);
        gen_server::cast(&p, server, t("{add, 5}"));
        gen_server::cast(&p, server, t("{add, 6}"));
        seen.push(gen_server::call(&mut p, server, t("casts"), WAIT).await);
        seen.push(gen_server::call(&mut p, server, t("{later, 100}"), WAIT).await);
        // Too slow: the call times out, and the late reply never shows up.
        seen.push(gen_server::call(&mut p, server, t("{sleep, 500}"), Duration::from_millis(100)).await);
        tokio::time::sleep(Duration::from_millis(700)).await;
        let left = p.mailbox_len();
        seen.push(gen_server::call(&mut p, (Atom::new("no_such"), erl), t("x"), WAIT).await);
        seen.push(gen_server::call(&mut p, server, t("{die, {gone, mid_call}}"), WAIT).await);
        let _ = tx.send((seen, left));
        Ok(())
    })
    .expect("the caller starts");
    let (seen, left) = tokio::time::timeout(WAIT * 4, rx).await.expect("the caller finished").expect("its answer");
    assert_eq!(seen[0], Ok(t("{hello, [1, 2.5, <<\"bin\">>]}")));
    assert_eq!(seen[1], Ok(t("by_pid")));
    assert_eq!(seen[2], Ok(t("11")));
    assert_eq!(seen[3], Ok(t("answered_later")));
    assert_eq!(seen[4], Err(CallError::Timeout));
    assert_eq!(left, 0, "a late reply reached the caller's mailbox");
    assert_eq!(seen[5], Err(CallError::NoProc));
    assert_eq!(seen[6], Err(CallError::Exit(t("{gone, mid_call}"))));

    // The peer's node goes away during a call that would wait a minute: the caller hears at once.
    let (tx, rx) = tokio::sync::oneshot::channel();
    node.spawn(move |mut p| async move {
        let other = (Atom::new("gs_peer_b"), erl);
        let call = gen_server::call(&mut p, other, t("{sleep, 60000}"), Duration::from_secs(60)).await;
        let _ = tx.send(call);
        Ok(())
    })
    .expect("the caller starts");
    tokio::time::sleep(Duration::from_millis(300)).await;
    peer.kill();
    let call =
        tokio::time::timeout(WAIT * 4, rx).await.expect("the call ended before its timeout").expect("its answer");
    assert!(matches!(call, Err(CallError::NodeDown(n)) if n == erl), "{call:?}");
}
