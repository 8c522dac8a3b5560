//! RPC and remote spawn against real Erlang, both ways.
//!
//! Erlang calls Rust: an `erl` probe (tests/erlang/rpc_probe.erl) calls a reference Erlang node running
//! tests/erlang/rpc_demo.erl and a Rust node registering the same functions, with every form (`rpc:call`
//! with and without a timeout, `block_call`, `multicall`, `cast`, `erpc:call/cast/multicall`, `rex`
//! directly, `spawn/4`, `spawn_link/4`, `spawn_monitor/4`, `erlang:spawn_request/5`), and the answers
//! must be the same. Rust calls Erlang: `rpc_call` of `lists:reverse/1`, `erlang:node/0` and the
//! compiled module, with exceptions and a timeout; `rpc_cast`; `spawn_remote` with link and monitor. And
//! Elixir calls and spawns on a Rust node (tests/elixir/rpc_caller.exs).

mod common;

use std::path::Path;
use std::time::Duration;

use common::WAIT;
use erlnode::rpc::{Exception, RpcError};
use erlnode::{Atom, Node, Term};
use erlnode_erltest::node::{ERL_HOST, ErlNode, unique};
use erlnode_erltest::{Erlang, TempDir};

const COOKIE: &str = "erlnode_rpc_test";
const DEMO_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/erlang/rpc_demo.erl");
const PROBE_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/erlang/rpc_probe.erl");

fn t(text: &str) -> Term {
    text.parse().expect("a term")
}

/// The functions of rpc_demo.erl, in Rust.
fn register_demo(node: &Node) {
    let rpc = node.rpc();
    rpc.register_typed("rpc_demo", "add", 2, |(a, b): (i64, i64)| async move { Ok::<_, Exception>(a + b) });
    rpc.register("rpc_demo", "echo", 1, |args| async move { Ok(args.into_iter().next().unwrap_or_default()) });
    rpc.register("rpc_demo", "fail", 1, |args| async move { Err(Exception::Error(args[0].clone())) });
    rpc.register("rpc_demo", "throw", 1, |args| async move { Err(Exception::Throw(args[0].clone())) });
    rpc.register("rpc_demo", "exit", 1, |args| async move { Err(Exception::Exit(args[0].clone())) });
    rpc.register("rpc_demo", "sleep", 1, |args| async move {
        let ms = args[0].as_i64().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
        Ok(Term::atom("slept"))
    });
    rpc.register("rpc_demo", "panic", 0, |_| async move { panic!("rust panicked") });
    rpc.register_process("rpc_demo", "note", 2, |p, args| async move {
        if let Term::Pid(to) = args[0] {
            p.send(to, Term::tuple(vec![Term::atom("noted"), args[1].clone()]));
        }
        Ok(Term::atom("ok"))
    });
    rpc.register_process("rpc_demo", "worker", 1, |mut p, args| async move {
        if let Term::Pid(parent) = args[0] {
            p.send(parent, Term::tuple(vec![Term::atom("worker_up"), Term::Pid(p.self_pid())]));
        }
        loop {
            let message = p.recv().await;
            if let Some([tag, reason]) = message.as_tuple() {
                if tag.as_atom().is_some_and(|a| a.as_str() == "stop") {
                    return Err(Exception::Exit(reason.clone()));
                }
            }
        }
    });
}

/// The line of `proc`'s output that starts with `prefix`, without it.
fn line_after(output: &str, prefix: &str) -> String {
    output.lines().find_map(|l| l.strip_prefix(prefix)).unwrap_or_else(|| panic!("no {prefix} in {output}")).to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn erlang_calls_rust_with_every_form_and_gets_erlangs_answers() {
    let Some(erlang) = Erlang::find("erlang_calls_rust_with_every_form_and_gets_erlangs_answers") else { return };
    let (node, epmd) = common::dist_node("rust_rpc", COOKIE).await;
    register_demo(&node);
    let dir = TempDir::new("erlnode-rpc");
    erlang.compile(Path::new(DEMO_SOURCE), &dir);
    erlang.compile(Path::new(PROBE_SOURCE), &dir);
    let dir_arg = dir.path().to_string_lossy().to_string();
    let host = node.name().as_str().split_once('@').map(|(_, h)| h.to_string()).unwrap_or_default();

    let reference = unique("erl_rpc_ref");
    let _reference_node = ErlNode::sname(&reference)
        .cookie(COOKIE)
        .epmd_port(epmd)
        .args(&["-pa", &dir_arg])
        .eval(&format!("{ERL_HOST}, timer:sleep(infinity)."))
        .start(&erlang);
    let eval =
        format!("{ERL_HOST}, rpc_probe:main('{reference}@{host}', '{}'), timer:sleep(infinity).", node.name().as_str());
    let probe = ErlNode::sname(&unique("erl_rpc_probe"))
        .cookie(COOKIE)
        .epmd_port(epmd)
        .args(&["-pa", &dir_arg])
        .eval(&eval)
        .start(&erlang);
    let output = probe.wait_for("PROBE DONE");
    let from_erlang = line_after(&output, "REF ");
    let from_rust = line_after(&output, "RUST ");
    // Not vacuous: the reference answers are the ones expected.
    for expected in [
        "{call,3}",
        "{call_throw,thrown}",
        "{call_exit,{badrpc,{'EXIT',bye}}}",
        "{call_error,{badrpc,{'EXIT',{oops,[{rpc_demo,fail,1,[]}]}}}}",
        "{call_undef,{badrpc,{'EXIT',{undef,[{rpc_demo,nope,[1],[]}]}}}}",
        "{call_timeout,{badrpc,timeout}}",
        "{block_call,5}",
        "{rex_call,10}",
        "{erpc_throw,{throw,x}}",
        "{erpc_exit,{exit,{exception,y}}}",
        "{erpc_error,{error,{exception,z,[{rpc_demo,fail,1,[]}]}}}",
        "{erpc_timeout,{error,{erpc,timeout}}}",
        "{rpc_cast,true,noted}",
        "{erpc_cast,ok,noted}",
        "{rex_cast,ok,noted}",
        "{spawn_link,up,boom}",
        "{spawn_monitor,up,{shut,down}}",
        "{spawn_undef,true,{undef,[{rpc_demo,nope,[x],[]}]}}",
        "{spawn_request,ok,done,done}",
        "{erpc_call_waits,slept}",
        "{erpc_process,{return,3},true,false,true}",
    ] {
        assert!(from_erlang.contains(expected), "the reference node answered {from_erlang}, without {expected}");
    }
    assert_eq!(from_rust, from_erlang, "Rust's answers differ from Erlang's");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_rust_function_is_an_error_result_and_the_node_lives_on() {
    let Some(erlang) = Erlang::find("a_panicking_rust_function_is_an_error_result_and_the_node_lives_on") else {
        return;
    };
    let (node, epmd) = common::dist_node("rust_rpc_panic", COOKIE).await;
    register_demo(&node);
    let rust = node.name().as_str().to_owned();
    let eval = format!(
        "{ERL_HOST}, P = fun(X) -> io_lib:print(X, 1, 100000, -1) end, \
         io:format(\"PANIC ~s~n\", [P(rpc:call('{rust}', rpc_demo, panic, []))]), \
         io:format(\"ERPC ~s~n\", [P(catch erpc:call('{rust}', rpc_demo, panic, []))]), \
         io:format(\"AFTER ~w~n\", [rpc:call('{rust}', rpc_demo, add, [20, 22])]), \
         io:format(\"NODE ~w~n\", [rpc:call('{rust}', erlang, node, []) =:= '{rust}']), \
         io:format(\"LOADED ~w ~w~n\", [rpc:call('{rust}', code, ensure_loaded, [rpc_demo]), \
                                        rpc:call('{rust}', code, ensure_loaded, [no_such_module])]), \
         io:format(\"EXPORTED ~w~n\", [rpc:call('{rust}', erlang, function_exported, [rpc_demo, add, 2])]), \
         Procs = rpc:call('{rust}', erlang, processes, []), \
         Rex = rpc:call('{rust}', erlang, whereis, [rex]), \
         io:format(\"PROCS ~w~n\", [is_list(Procs) andalso lists:member(Rex, Procs)]), \
         io:format(\"INFO ~w~n\", [rpc:call('{rust}', erlang, process_info, [Rex, [registered_name, trap_exit]])]), \
         io:format(\"INFO2 ~w~n\", [rpc:call('{rust}', erlang, process_info, \
                                       [Rex, [dictionary, priority, initial_call, current_stacktrace]])]), \
         io:format(\"INITIAL ~w~n\", [rpc:call('{rust}', proc_lib, translate_initial_call, [Rex])]), \
         SI = rpc:call('{rust}', observer_backend, sys_info, []), \
         io:format(\"IO ~w~n\", [proplists:get_value(io_input, SI) > 0 andalso proplists:get_value(io_output, SI) > 0]), \
         Sockets = rpc:call('{rust}', observer_backend, socket_info, []), \
         io:format(\"SOCKETS ~w ~w~n\", [proplists:get_value(num_sockets, Sockets), proplists:get_value(iov_max, Sockets)]), \
         io:format(\"SYSINFO ~w~n\", [is_integer(rpc:call('{rust}', erlang, system_info, [process_count]))]), \
         io:format(\"BADKEY ~w~n\", [rpc:call('{rust}', erlang, system_info, [no_such_key])]), \
         Mem = rpc:call('{rust}', erlang, memory, []), \
         io:format(\"MEMORY ~w~n\", [proplists:get_value(total, Mem) >= proplists:get_value(processes, Mem)]), \
         io:format(\"APPS ~w~n\", [rpc:call('{rust}', application, which_applications, [])]), \
         timer:sleep(infinity)."
    );
    let peer = ErlNode::sname(&unique("erl_rpc_panic")).cookie(COOKIE).epmd_port(epmd).eval(&eval).start(&erlang);
    let panic = line_after(&peer.wait_for("PANIC"), "PANIC ");
    assert!(panic.contains("{badrpc,{'EXIT',{{panic,<<\"rust panicked\">>},[{rpc_demo,panic,0,[]}]}}}"), "{panic}");
    let erpc = line_after(&peer.wait_for("ERPC"), "ERPC ");
    assert!(erpc.contains("{exception,{panic,<<\"rust panicked\">>},[{rpc_demo,panic,0,[]}]}"), "{erpc}");
    peer.wait_for("AFTER 42");
    peer.wait_for("NODE true");
    peer.wait_for("LOADED {module,rpc_demo} {error,nofile}");
    peer.wait_for("EXPORTED true");
    peer.wait_for("PROCS true");
    peer.wait_for("INFO [{registered_name,rex},{trap_exit,false}]");
    peer.wait_for("INFO2 [{dictionary,[]},{priority,normal},{initial_call,{erlang,apply,2}},{current_stacktrace,[]}]");
    peer.wait_for("INITIAL {proc_lib,init_p,5}");
    // The calls so far went over the connection both ways, and its bytes are counted.
    peer.wait_for("IO true");
    // observer's Sockets summary reads these keys; iov_max is left out (observer shows Not Supported).
    peer.wait_for("SOCKETS 0 undefined");
    peer.wait_for("SYSINFO true");
    peer.wait_for("BADKEY {badrpc,{'EXIT',{badarg,[{erlang,system_info,1,[]}]}}}");
    peer.wait_for("MEMORY true");
    peer.wait_for("APPS []");
}

/// An `erl` node running rpc_demo.erl, and its name.
fn erlang_peer(erlang: &Erlang, epmd: u16, node: &Node, dir: &TempDir) -> (erlnode_erltest::Proc, Atom) {
    erlang.compile(Path::new(DEMO_SOURCE), dir);
    let name = unique("erl_rpc_peer");
    let dir_arg = dir.path().to_string_lossy().to_string();
    let peer = ErlNode::sname(&name)
        .cookie(COOKIE)
        .epmd_port(epmd)
        .args(&["-pa", &dir_arg])
        .eval(&format!("{ERL_HOST}, code:ensure_loaded(rpc_demo), io:format(\"READY~n\"), timer:sleep(infinity)."))
        .start(erlang);
    peer.wait_for("READY");
    let host = node.name().as_str().split_once('@').map(|(_, h)| h.to_string()).unwrap_or_default();
    (peer, Atom::new(&format!("{name}@{host}")))
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_calls_erlang_functions() {
    let Some(erlang) = Erlang::find("rust_calls_erlang_functions") else { return };
    let (node, epmd) = common::dist_node("rust_rpc_caller", COOKIE).await;
    let dir = TempDir::new("erlnode-rpc-caller");
    let (mut peer, erl) = erlang_peer(&erlang, epmd, &node, &dir);

    let (tx, rx) = tokio::sync::oneshot::channel();
    node.spawn(move |mut p| async move {
        let mut seen = Vec::new();
        seen.push(p.rpc_call(erl, "lists", "reverse", vec![t("[1, 2, 3]")], WAIT).await);
        seen.push(p.rpc_call(erl, "erlang", "node", vec![], WAIT).await);
        seen.push(p.rpc_call(erl, "rpc_demo", "add", vec![t("40"), t("2")], WAIT).await);
        seen.push(p.rpc_call(erl, "rpc_demo", "fail", vec![t("{bad, thing}")], WAIT).await);
        seen.push(p.rpc_call(erl, "rpc_demo", "throw", vec![t("ball")], WAIT).await);
        seen.push(p.rpc_call(erl, "rpc_demo", "exit", vec![t("gone")], WAIT).await);
        seen.push(p.rpc_call(erl, "rpc_demo", "nope", vec![], WAIT).await);
        seen.push(p.rpc_call(erl, "rpc_demo", "sleep", vec![t("1000")], Duration::from_millis(100)).await);
        // A timed-out call leaves nothing behind, even when its answer comes later.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let left = p.mailbox_len();
        seen.push(p.rex_call(erl, "rpc_demo", "add", vec![t("1"), t("1")], WAIT).await);
        seen.push(p.rex_call(erl, "rpc_demo", "fail", vec![t("oops")], WAIT).await);
        // Output of the called function goes to this node's `user`, which answers it.
        seen.push(
            p.rpc_call(erl, "io", "format", vec![t("\"output from erl ~p ~s~n\""), t("[{a, 1}, \"text\"]")], WAIT)
                .await,
        );
        let _ = tx.send((seen, left));
        Ok(())
    })
    .expect("the caller starts");
    let (seen, left) = tokio::time::timeout(WAIT * 4, rx).await.expect("the caller finished").expect("its answer");
    assert_eq!(seen[0], Ok(t("[3, 2, 1]")));
    assert_eq!(seen[1], Ok(Term::Atom(erl)));
    assert_eq!(seen[2], Ok(t("42")));
    match &seen[3] {
        Err(RpcError::Error { reason, stack }) => {
            assert_eq!(reason, &t("{bad, thing}"));
            let frame = stack.to_list().and_then(|s| s.first().cloned()).expect("a stack frame");
            assert_eq!(frame.as_tuple().map(|f| f[..3].to_vec()), Some(vec![t("rpc_demo"), t("fail"), t("1")]));
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(seen[4], Err(RpcError::Throw(t("ball"))));
    assert_eq!(seen[5], Err(RpcError::Exit(t("gone"))));
    assert!(
        matches!(&seen[6], Err(RpcError::Error { reason, stack }) if *reason == t("undef") && *stack == t("[{rpc_demo, nope, [], []}]")),
        "{:?}",
        seen[6]
    );
    assert_eq!(seen[7], Err(RpcError::Timeout));
    assert_eq!(left, 0, "a late answer reached the caller's mailbox");
    assert_eq!(seen[8], Ok(t("2")));
    match &seen[9] {
        Err(RpcError::BadRpc(reason)) => assert!(reason.to_string().starts_with("{'EXIT',{oops,"), "{reason}"),
        other => panic!("expected badrpc, got {other:?}"),
    }
    assert_eq!(
        seen[3]
            .as_ref()
            .map_err(RpcError::to_badrpc)
            .err()
            .map(|t| t.to_string().starts_with("{badrpc,{'EXIT',{{bad,thing},")),
        Some(true)
    );
    assert_eq!(seen[10], Ok(t("ok")), "io:format on the Erlang node printed through this node's user");

    // The node goes away during a call: the caller hears at once, not after the timeout.
    let (tx, rx) = tokio::sync::oneshot::channel();
    node.spawn(move |mut p| async move {
        let call = p.rpc_call(erl, "rpc_demo", "sleep", vec![t("60000")], Duration::from_secs(60)).await;
        let _ = tx.send(call);
        Ok(())
    })
    .expect("the caller starts");
    tokio::time::sleep(Duration::from_millis(300)).await;
    peer.kill();
    let call =
        tokio::time::timeout(WAIT * 4, rx).await.expect("the call ended before its timeout").expect("its answer");
    assert_eq!(call, Err(RpcError::NoConnection));
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_casts_and_spawns_on_erlang() {
    let Some(erlang) = Erlang::find("rust_casts_and_spawns_on_erlang") else { return };
    let (node, epmd) = common::dist_node("rust_rpc_spawner", COOKIE).await;
    let dir = TempDir::new("erlnode-rpc-spawner");
    let (_peer, erl) = erlang_peer(&erlang, epmd, &node, &dir);

    let (tx, rx) = tokio::sync::oneshot::channel();
    node.spawn(move |mut p| async move {
        let me = Term::Pid(p.self_pid());
        let mut seen: Vec<Term> = Vec::new();
        p.rpc_cast(erl, "rpc_demo", "note", vec![me.clone(), t("cast")]).await;
        seen.push(p.recv_timeout(WAIT).await.unwrap_or_default());
        p.trap_exit(true);
        // Linked: the worker's exit reaches this process as an 'EXIT' message.
        let linked = p.spawn_remote(erl, "rpc_demo", "worker", vec![me.clone()], true, false).await;
        let (pid, _) = linked.expect("the worker starts");
        seen.push(p.recv_timeout(WAIT).await.unwrap_or_default());
        p.send(pid, t("{stop, boom}"));
        seen.push(p.recv_timeout(WAIT).await.unwrap_or_default());
        // Monitored: its end is a DOWN.
        let monitored = p.spawn_remote(erl, "rpc_demo", "worker", vec![me.clone()], false, true).await;
        let (pid2, monitor) = monitored.expect("the worker starts");
        seen.push(p.recv_timeout(WAIT).await.unwrap_or_default());
        p.send(pid2, t("{stop, {shut, down}}"));
        seen.push(p.recv_timeout(WAIT).await.unwrap_or_default());
        // An Erlang function that does not exist: the process starts and fails with undef, as in Erlang.
        let missing = p.spawn_remote(erl, "rpc_demo", "nope", vec![], false, true).await;
        let (pid3, monitor3) = missing.expect("the spawn is accepted");
        seen.push(p.recv_timeout(WAIT).await.unwrap_or_default());
        let _ = tx.send((seen, pid, pid2, monitor, pid3, monitor3));
        Ok(())
    })
    .expect("the caller starts");
    let (seen, pid, pid2, monitor, pid3, monitor3) =
        tokio::time::timeout(WAIT * 4, rx).await.expect("the caller finished").expect("its answer");
    assert_eq!(seen[0], t("{noted, cast}"));
    assert_eq!(pid.node, erl);
    assert_eq!(seen[1], Term::tuple(vec![Term::atom("worker_up"), Term::Pid(pid)]));
    assert_eq!(seen[2], common::exit_msg(pid, t("boom")));
    assert_eq!(seen[3], Term::tuple(vec![Term::atom("worker_up"), Term::Pid(pid2)]));
    let monitor = monitor.expect("a monitor");
    assert_eq!(seen[4], common::down(monitor, Term::Pid(pid2), t("{shut, down}")));
    let monitor3 = monitor3.expect("a monitor");
    assert_eq!(seen[5], common::down(monitor3, Term::Pid(pid3), t("{undef, [{rpc_demo, nope, [], []}]}")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_without_remote_spawn_is_called_through_rex() {
    let Some(erlang) = Erlang::find("a_node_without_remote_spawn_is_called_through_rex") else { return };
    let (caller, epmd) = common::dist_node("rust_rpc_rex_caller", COOKIE).await;
    let options = erlnode::NodeOptions::new(unique("rust_no_spawn")).cookie(COOKIE).epmd_port(epmd).remote_spawn(false);
    let node = Node::start(options).await.expect("the node starts");
    register_demo(&node);
    let rust = node.name().as_str().to_owned();

    // OTP 25's rpc:call goes through erpc only, so it is refused; rex (block_call, casts to it) serves.
    let eval = format!(
        "{ERL_HOST}, \
         io:format(\"CALL ~w~n\", [rpc:call('{rust}', rpc_demo, add, [1, 2])]), \
         io:format(\"ERPC ~w~n\", [catch erpc:call('{rust}', rpc_demo, add, [1, 2])]), \
         io:format(\"BLOCK ~w~n\", [rpc:block_call('{rust}', rpc_demo, add, [1, 2])]), \
         io:format(\"ERROR ~w~n\", [rpc:block_call('{rust}', rpc_demo, fail, [oops])]), \
         io:format(\"SPAWN ~w~n\", [catch spawn_monitor('{rust}', rpc_demo, worker, [self()])]), \
         gen_server:cast({{rex, '{rust}'}}, {{cast, rpc_demo, note, [self(), cast], user}}), \
         io:format(\"CAST ~w~n\", [receive {{noted, cast}} -> noted after 5000 -> not_noted end]), \
         timer:sleep(infinity)."
    );
    let peer = ErlNode::sname(&unique("erl_rpc_rex")).cookie(COOKIE).epmd_port(epmd).eval(&eval).start(&erlang);
    peer.wait_for("CALL {badrpc,notsup}");
    let erpc = line_after(&peer.wait_for("ERPC"), "ERPC ");
    assert!(erpc.contains("{erpc,notsup}"), "{erpc}");
    peer.wait_for("BLOCK 3");
    peer.wait_for("ERROR {badrpc,{'EXIT',{oops,[{rpc_demo,fail,1,[]}]}}}");
    let spawn = line_after(&peer.wait_for("SPAWN"), "SPAWN ");
    assert!(spawn.starts_with("{'EXIT',{notsup,"), "{spawn}");
    peer.wait_for("CAST noted");

    // A Rust caller does the same: rex for calls and casts, notsup for spawns.
    let target = node.name();
    let (call, error, noted, spawn) = common::within(&caller, move |mut p| async move {
        let call = p.rpc_call(target, "rpc_demo", "add", vec![t("2"), t("3")], WAIT).await;
        let error = p.rpc_call(target, "rpc_demo", "throw", vec![t("ball")], WAIT).await;
        p.rpc_cast(target, "rpc_demo", "note", vec![Term::Pid(p.self_pid()), t("rex_cast")]).await;
        let noted = p.recv_timeout(WAIT).await;
        let spawn = p.spawn_remote(target, "rpc_demo", "worker", vec![], false, false).await;
        (call, error, noted, spawn.map(|_| ()))
    })
    .await;
    assert_eq!(call, Ok(t("5")));
    // Through rex a throw is a value, as rpc:call returns it.
    assert_eq!(error, Ok(t("ball")));
    assert_eq!(noted, Some(t("{noted, rex_cast}")));
    assert_eq!(spawn, Err(t("notsup")));
}

#[tokio::test(flavor = "multi_thread")]
async fn elixir_calls_and_spawns_on_a_rust_node() {
    let Some(elixir) = erlnode_erltest::find::elixir("elixir_calls_and_spawns_on_a_rust_node") else { return };
    let (node, epmd) = common::dist_node("rust_rpc_elixir", COOKIE).await;
    register_demo(&node);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/elixir/rpc_caller.exs");
    let name = unique("ex_rpc");
    let args =
        ["--sname", name.as_str(), "--cookie", COOKIE, "--erl", "-start_epmd false", script, node.name().as_str()];
    let caller = erlnode_erltest::Proc::start(&name, &elixir, &args, &[("ERL_EPMD_PORT", epmd.to_string())]);
    caller.wait_for("ADD 3");
    caller.wait_for("ECHO %{list: [1, \"two\", :three]}");
    caller.wait_for("FAIL {:badrpc, {:EXIT, {:oops, [{:rpc_demo, :fail, 1, []}]}}}");
    caller.wait_for("THROW {:throw, :ball}");
    caller.wait_for("WORKER up on true");
    caller.wait_for("EXIT :bye");
}

#[tokio::test(flavor = "multi_thread")]
async fn etop_shows_a_rust_nodes_processes() {
    let Some(erlang) = Erlang::find("etop_shows_a_rust_nodes_processes") else { return };
    if !common::erl_has_module(&erlang, "etop") {
        assert!(!erlnode_erltest::find::ci(), "etop is missing, and CI=true requires this test to run");
        eprintln!("etop_shows_a_rust_nodes_processes: skipped: etop not installed (erlang-observer)");
        return;
    }
    let (node, epmd) = common::dist_node("rust_etop", COOKIE).await;
    let worker = node.spawn(common::forever).expect("a worker starts");
    node.register(Atom::new("busy_worker"), worker).expect("the name is free");
    for i in 0..3 {
        node.send(worker, Term::from(i));
    }
    let rust = node.name().as_str().to_owned();
    let eval = format!(
        "{ERL_HOST}, \
         spawn(fun() -> etop:start([{{node, '{rust}'}}, {{output, text}}, {{tracing, off}}, {{interval, 1}}, \
                                    {{lines, 50}}, {{sort, msg_q}}]) end), \
         timer:sleep(2500), etop:stop(), io:format(\"ETOP DONE~n\"), timer:sleep(infinity)."
    );
    let peer = ErlNode::sname(&unique("erl_etop")).cookie(COOKIE).epmd_port(epmd).eval(&eval).start(&erlang);
    let output = peer.wait_for("ETOP DONE");
    // etop's table lists the node and its processes: the worker with its 3 waiting messages.
    assert!(output.contains(&rust), "{output}");
    let row = output.lines().find(|l| l.contains("busy_worker")).unwrap_or_else(|| panic!("no worker row in {output}"));
    assert!(row.split_whitespace().any(|field| field == "3"), "{row}");
}
