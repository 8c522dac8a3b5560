//! Several nodes in one OS process: each has its own name, cookie, listener and EPMD registration, all
//! in one embedded EPMD; they talk over real distribution, to each other and to `erl` nodes. The proxy
//! of the `proxy` example belongs to two clusters with different cookies and forwards between them.

mod common;

#[path = "../examples/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use common::WAIT;
use erlnode::rpc::RpcError;
use erlnode::{Atom, Node, NodeOptions, Term};
use erlnode_erltest::node::{ERL_HOST, ErlNode, free_port, unique};
use erlnode_erltest::{Erlang, epmd};

const RED: &str = "erlnode_multinode_red";
const BLUE: &str = "erlnode_multinode_blue";

fn t(text: &str) -> Term {
    text.parse().expect("a term")
}

fn host_of(node: &Node) -> String {
    node.name().as_str().split_once('@').map(|(_, h)| h.to_string()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_in_one_process_share_an_epmd_and_a_proxy_joins_two_clusters() {
    let Some(erlang) = Erlang::find("nodes_in_one_process_share_an_epmd_and_a_proxy_joins_two_clusters") else {
        return;
    };
    let port = free_port();
    let (red_name, blue_name, proxy_name) = (unique("red"), unique("blue"), unique("proxy"));
    let (erl_red_name, erl_blue_name) = (unique("erl_red"), unique("erl_blue"));
    // The first node starts the embedded EPMD; the others find it and register with it.
    let red = Node::start(NodeOptions::new(&red_name).cookie(RED).epmd_port(port)).await.expect("red starts");
    let host = host_of(&red);
    let blue = Node::start(NodeOptions::new(&blue_name).cookie(BLUE).epmd_port(port)).await.expect("blue starts");
    let red_nodes = [red.name().as_str().to_owned(), format!("{erl_red_name}@{host}")];
    let red_refs: Vec<&str> = red_nodes.iter().map(String::as_str).collect();
    let proxy = Node::start(proxy::proxy_options(&proxy_name, BLUE, RED, &red_refs).epmd_port(port))
        .await
        .expect("the proxy starts");
    proxy::serve_forwarding(&proxy);
    blue.rpc().register("blue", "greet", 1, |args| async move {
        Ok(Term::tuple(vec![Term::atom("hello"), args[0].clone()]))
    });

    let ports = [red.dist_port(), blue.dist_port(), proxy.dist_port()];
    assert!(ports.iter().all(Option::is_some) && ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
    let names = epmd::wait_names(&erlang, port, "the three nodes", |names| {
        [&red_name, &blue_name, &proxy_name].iter().all(|n| names.contains(&format!("name {n} at port")))
    });
    assert!(names.contains(&format!("name {blue_name} at port {}", ports[1].unwrap_or_default())), "{names}");

    // An Erlang node in each cluster.
    let erl_blue = ErlNode::sname(&erl_blue_name)
        .cookie(BLUE)
        .epmd_port(port)
        .eval(&format!("{ERL_HOST}, io:format(\"READY~n\"), timer:sleep(infinity)."))
        .start(&erlang);
    erl_blue.wait_for("READY");
    let (blue_atom, proxy_atom) = (blue.name(), proxy.name());
    let erl_blue_atom = Atom::new(&format!("{erl_blue_name}@{host}"));

    // Rust nodes over real distribution: red and blue cannot talk; through the proxy they can.
    assert!(!red.ping(blue_atom, WAIT).await, "different cookies must not connect");
    assert!(red.ping(proxy_atom, WAIT).await && blue.ping(proxy_atom, WAIT).await);
    let direct = red.rpc_call(blue_atom, "blue", "greet", vec![t("red")], WAIT).await;
    assert_eq!(direct, Err(RpcError::NoConnection));
    let forward = |to: Atom, m: &str, f: &str, args: &str| vec![Term::Atom(to), Term::atom(m), Term::atom(f), t(args)];
    let via = red.rpc_call(proxy_atom, "proxy", "forward", forward(blue_atom, "blue", "greet", "[red]"), WAIT).await;
    assert_eq!(via, Ok(t("{hello, red}")));
    let via = red.rpc_call(proxy_atom, "proxy", "forward", forward(erl_blue_atom, "erlang", "node", "[]"), WAIT).await;
    assert_eq!(via, Ok(Term::Atom(erl_blue_atom)));

    // An Erlang node of the red cluster reaches both blue nodes through the proxy, and not directly.
    let eval = format!(
        "{ERL_HOST}, \
         io:format(\"DIRECT ~w~n\", [net_adm:ping('{blue_atom}')]), \
         io:format(\"RUST ~w~n\", [rpc:call('{proxy_atom}', proxy, forward, ['{blue_atom}', blue, greet, [erl]])]), \
         io:format(\"ERL ~w~n\", [rpc:call('{proxy_atom}', proxy, forward, ['{erl_blue_atom}', erlang, node, []]) \
                                  =:= '{erl_blue_atom}']), \
         io:format(\"FAIL ~w~n\", [rpc:call('{proxy_atom}', proxy, forward, ['{erl_blue_atom}', lists, nope, []])]), \
         timer:sleep(infinity)."
    );
    let erl_red = ErlNode::sname(&erl_red_name).cookie(RED).epmd_port(port).eval(&eval).start(&erlang);
    erl_red.wait_for("DIRECT pang");
    erl_red.wait_for("RUST {hello,erl}");
    erl_red.wait_for("ERL true");
    let fail = erl_red.wait_for("FAIL");
    assert!(fail.contains("{badrpc,{'EXIT',{{badrpc,{'EXIT',{undef,[{lists,nope,[],[]}"), "{fail}");

    // Messages between the nodes of one process.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let listener = proxy
        .spawn(move |mut p| async move {
            tx.send(p.recv_timeout(WAIT).await).ok();
            Ok(())
        })
        .expect("a listener starts");
    red.send(listener, t("{from, red}"));
    let got = tokio::time::timeout(WAIT, rx).await.expect("the message arrived").expect("an answer");
    assert_eq!(got, Some(t("{from, red}")));
}
