//! The `erlnode` command against real Erlang: the demo node's `echo` and `sink` used from `erl`, and
//! `erlnode ping` both answering `pong` and `pang`.

use std::path::Path;
use std::process::Command;

use erlnode_erltest::node::{ERL_HOST, ErlNode, free_port, unique};
use erlnode_erltest::{Erlang, Proc};

const ERLNODE: &str = env!("CARGO_BIN_EXE_erlnode");
const COOKIE: &str = "erlnode_cli_test";

#[test]
fn erlang_uses_the_demo_node_and_erlnode_pings_erlang() {
    let Some(erlang) = Erlang::find("erlang_uses_the_demo_node_and_erlnode_pings_erlang") else { return };
    let epmd = free_port();
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
    peer.wait_for("CHILDREN [counter,echo,sink]");
    peer.wait_for("UP");

    let host = node.split_once('@').map(|(_, h)| h).unwrap_or("localhost");
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
