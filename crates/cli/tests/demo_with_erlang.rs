//! The `erlnode` command against real Erlang: the demo node's `echo` and `sink` used from `erl`, its
//! functions called with `rpc:call`, `erlnode ping` both answering `pong` and `pang`, and `erlnode rpc`
//! calling the demo node and `erl`.

use std::path::Path;
use std::process::{Command, Output};

use erlnode::Term;

use erlnode_erltest::node::{ERL_HOST, ErlNode, free_port, unique};
use erlnode_erltest::{Erlang, Proc};

const ERLNODE: &str = env!("CARGO_BIN_EXE_erlnode");
const COOKIE: &str = "erlnode_cli_test";

/// Starts `erlnode demo` with its embedded EPMD on port `epmd`; returns it with its node name once ready.
fn start_demo(epmd: u16) -> (Proc, String) {
    let demo_name = unique("demo");
    let demo = Proc::start(
        "erlnode demo",
        Path::new(ERLNODE),
        &["demo", "--name", &demo_name, "--cookie", COOKIE],
        &[("ERL_EPMD_PORT", epmd.to_string())],
    );
    let ready = demo.wait_for("ready");
    let node = ready
        .lines()
        .find_map(|l| l.strip_prefix("erlnode demo node ").and_then(|rest| rest.strip_suffix(" ready")))
        .expect("the ready line names the node")
        .to_string();
    assert!(node.starts_with(&format!("{demo_name}@")), "{node}");
    (demo, node)
}

/// The host part of a node name.
fn host_of(node: &str) -> &str {
    node.split_once('@').map(|(_, h)| h).expect("a node name has a host")
}

/// Runs `erlnode rpc NODE MODULE FUNCTION ARGS --cookie COOKIE` against the EPMD on port `epmd`.
fn erlnode_rpc(epmd: u16, call: [&str; 4]) -> Output {
    Command::new(ERLNODE)
        .arg("rpc")
        .args(call)
        .args(["--cookie", COOKIE])
        .env("ERL_EPMD_PORT", epmd.to_string())
        .output()
        .expect("run erlnode rpc")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn erlang_uses_the_demo_node_and_erlnode_pings_erlang() {
    let Some(erlang) = Erlang::find("erlang_uses_the_demo_node_and_erlnode_pings_erlang") else { return };
    let epmd = free_port();
    let (_demo, node) = start_demo(epmd);

    let eval = format!(
        "{ERL_HOST}, N = '{node}', \
         io:format(\"CALL ~p~n\", [gen_server:call({{echo, N}}, {{hello, [1, 2.5, <<\"bin\">>]}})]), \
         {{echo, N}} ! {{echo, self(), hi}}, receive hi -> io:format(\"ECHO hi~n\") after 5000 -> io:format(\"ECHO none~n\") end, \
         {{sink, N}} ! {{sink, 1000, self()}}, [{{sink, N}} ! I || I <- lists:seq(1, 1000)], \
         receive done -> io:format(\"SINK done~n\") after 10000 -> io:format(\"SINK none~n\") end, \
         C = {{counter, N}}, \
         io:format(\"COUNTER ~p ~p ~p~n\", [gen_server:call(C, incr), gen_server:call(C, incr), gen_server:call(C, get)]), \
         io:format(\"CRASH ~p~n\", [element(1, catch gen_server:call(C, crash))]), \
         Get = fun Loop(0) -> gave_up; Loop(K) -> case catch gen_server:call(C, get) of 0 -> 0; _ -> timer:sleep(50), Loop(K - 1) end end, \
         io:format(\"RESTARTED ~p~n\", [Get(100)]), \
         io:format(\"REPLACED ~p ~p~n\", [sys:replace_state(C, fun(X) -> X + 10 end), gen_server:call(C, get)]), \
         io:format(\"CHILDREN ~p~n\", [lists:sort([Id || {{Id, _, worker, _}} <- supervisor:which_children({{demo_sup, N}})])]), \
         io:format(\"UP~n\"), timer:sleep(infinity)."
    );
    let erl_name = unique("erl_cli");
    let peer = ErlNode::sname(&erl_name).cookie(COOKIE).epmd_port(epmd).eval(&eval).start(&erlang);
    peer.wait_for("CALL {hello,[1,2.5,<<\"bin\">>]}");
    peer.wait_for("ECHO hi");
    peer.wait_for("SINK done");
    peer.wait_for("COUNTER 1 2 2");
    peer.wait_for("CRASH 'EXIT'");
    peer.wait_for("RESTARTED 0");
    peer.wait_for("REPLACED 10 10");
    peer.wait_for("CHILDREN [counter,echo,sink]");
    peer.wait_for("UP");

    let host = host_of(&node);
    let ping = |target: &str, cookie: &str| {
        Command::new(ERLNODE)
            .args(["ping", target, "--cookie", cookie])
            .env("ERL_EPMD_PORT", epmd.to_string())
            .output()
            .expect("run erlnode ping")
    };
    let pong = ping(&format!("{erl_name}@{host}"), COOKIE);
    assert_eq!(String::from_utf8_lossy(&pong.stdout).trim(), "pong", "{pong:?}");
    assert!(pong.status.success());
    let pong = ping(&node, COOKIE);
    assert_eq!(String::from_utf8_lossy(&pong.stdout).trim(), "pong", "the demo node answers erlnode ping too");
    let pang = ping(&format!("nobody@{host}"), COOKIE);
    assert_eq!(String::from_utf8_lossy(&pang.stdout).trim(), "pang");
    assert!(!pang.status.success());
    let pang = ping(&format!("{erl_name}@{host}"), "wrong_cookie");
    assert_eq!(String::from_utf8_lossy(&pang.stdout).trim(), "pang", "a wrong cookie is pang");
}

#[test]
fn erlang_calls_the_demo_functions_over_rpc() {
    let Some(erlang) = Erlang::find("erlang_calls_the_demo_functions_over_rpc") else { return };
    let epmd = free_port();
    let (_demo, node) = start_demo(epmd);
    // `~w` keeps each answer on one line, where `~p` may wrap a long one.
    let eval = format!(
        "N = '{node}', \
         io:format(\"ADD ~w ~w~n\", [rpc:call(N, demo, add, [1, 2]), erpc:call(N, demo, add, [2, 3])]), \
         io:format(\"BADARITH ~w~n\", [rpc:call(N, demo, add, [1, a])]), \
         T = {{nested, [1, -2, 1 bsl 70, 2.5, \"str\", <<\"bin\">>, #{{k => {{a, []}}}}], self(), make_ref()}}, \
         io:format(\"ECHO ~w~n\", [rpc:call(N, demo, echo, [T]) =:= T]), \
         io:format(\"FAIL ~w~n\", [rpc:call(N, demo, fail, [{{my, reason}}])]), \
         Apps = rpc:call(N, application, which_applications, []), \
         io:format(\"APP ~p~n\", [lists:keyfind(demo, 1, Apps)]), \
         io:format(\"DONE~n\"), timer:sleep(infinity)."
    );
    let peer = ErlNode::sname(&unique("erl_rpc")).cookie(COOKIE).epmd_port(epmd).eval(&eval).start(&erlang);
    peer.wait_for("DONE");
    peer.wait_for("ADD 3 5");
    peer.wait_for("BADARITH {badrpc,{'EXIT',{badarith,[{demo,add,2,[]}]}}}");
    peer.wait_for("ECHO true");
    peer.wait_for("FAIL {badrpc,{'EXIT',{{my,reason},[{demo,fail,1,[]}]}}}");
    peer.wait_for(&format!("APP {{demo,\"erlnode's demo\",\"{}\"}}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn erlnode_rpc_calls_the_demo_node_and_erlang() {
    let Some(erlang) = Erlang::find("erlnode_rpc_calls_the_demo_node_and_erlang") else { return };
    let epmd = free_port();
    let (_demo, node) = start_demo(epmd);
    let erl_name = unique("erl_target");
    let peer =
        ErlNode::sname(&erl_name).cookie(COOKIE).epmd_port(epmd).eval("io:format(\"UP~n\"), timer:sleep(infinity).");
    let peer = peer.start(&erlang);
    peer.wait_for("UP");
    let erl = format!("{erl_name}@{}", host_of(&node));

    let add = erlnode_rpc(epmd, [&node, "demo", "add", "[1, 2]"]);
    assert_eq!((stdout(&add).as_str(), add.status.code()), ("3", Some(0)), "{add:?}");
    let reverse = erlnode_rpc(epmd, [&erl, "lists", "reverse", "[[1,2,3]]"]);
    assert_eq!((stdout(&reverse).as_str(), reverse.status.code()), ("[3,2,1]", Some(0)), "{reverse:?}");
    let name = erlnode_rpc(epmd, [&erl, "erlang", "node", "[]"]);
    assert_eq!(stdout(&name).parse::<Term>(), Ok(Term::atom(&erl)), "{name:?}");
    assert!(name.status.success());

    let fail = erlnode_rpc(epmd, [&node, "demo", "fail", "[boom]"]);
    assert_eq!(stdout(&fail), "{badrpc,{'EXIT',{boom,[{demo,fail,1,[]}]}}}", "{fail:?}");
    assert_eq!(fail.status.code(), Some(1));
    let undef = erlnode_rpc(epmd, [&erl, "no_such_module", "f", "[]"]);
    assert_eq!(stdout(&undef), "{badrpc,{'EXIT',{undef,[{no_such_module,f,[],[]}]}}}", "{undef:?}");
    assert_eq!(undef.status.code(), Some(1));
    let down = erlnode_rpc(epmd, [&format!("nobody@{}", host_of(&node)), "erlang", "node", "[]"]);
    assert_eq!((stdout(&down).as_str(), down.status.code()), ("{badrpc,nodedown}", Some(1)), "{down:?}");
    let bad_args = erlnode_rpc(epmd, [&erl, "erlang", "node", "not a list"]);
    assert_eq!(bad_args.status.code(), Some(2), "{bad_args:?}");
    assert!(String::from_utf8_lossy(&bad_args.stderr).contains("ARGS must be an Erlang list"), "{bad_args:?}");
}
