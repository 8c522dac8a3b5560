//! Several nodes in one program: `red` and `blue` belong to two clusters with different cookies, so they
//! cannot talk to each other; `proxy` belongs to both (its cookie is blue's, with red's cookie set for
//! `red`, as `erlang:set_cookie(Node, Cookie)` does) and forwards calls between them with the RPC
//! function `proxy:forward(Node, Module, Function, Args)`. The three nodes share one embedded EPMD, each
//! with its own name, cookie and listener.
//!
//! Run with `cargo run -p erlnode --example proxy`. With `-- --serve` the nodes stay up, so an Erlang
//! node of the blue cluster can use the proxy too (a red Erlang node would need its name given to
//! `proxy_options`, since the proxy knows the red cookie only for the red nodes it is told of):
//! `erl -sname e -setcookie erlnode_blue_cookie -eval "io:format(\"~p~n\", [rpc:call(proxy@HOST, proxy, forward, [red@HOST, erlang, node, []])])"`.

use std::time::Duration;

use erlnode::rpc::Exception;
use erlnode::{Node, NodeOptions, Term};

const RED: &str = "erlnode_red_cookie";
const BLUE: &str = "erlnode_blue_cookie";
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Registers `proxy:forward/4` on `proxy`: it calls `Module:Function(Args)` on `Node`, whichever cluster
/// that node is in, and returns the result, or raises `{badrpc, Reason}` as an error.
pub(crate) fn serve_forwarding(proxy: &Node) {
    proxy.rpc().register_process("proxy", "forward", 4, |mut p, args| async move {
        let [Term::Atom(node), Term::Atom(module), Term::Atom(function), call_args] = args.as_slice() else {
            return Err(Exception::error(Term::atom("badarg")));
        };
        let call_args = call_args.to_list().ok_or_else(|| Exception::error(Term::atom("badarg")))?;
        p.rpc_call(*node, module.as_str(), function.as_str(), call_args, CALL_TIMEOUT)
            .await
            .map_err(|e| Exception::Error(e.to_badrpc()))
    });
}

/// The options of a proxy named `name` between the blue cluster and the red nodes `red_nodes`.
pub(crate) fn proxy_options(name: &str, blue_cookie: &str, red_cookie: &str, red_nodes: &[&str]) -> NodeOptions {
    red_nodes
        .iter()
        .fold(NodeOptions::new(name).cookie(blue_cookie), |options, node| options.node_cookie(*node, red_cookie))
}

#[allow(dead_code)] // the multinode test includes this file for the functions above
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let red = Node::start(NodeOptions::new("red").cookie(RED)).await?;
    let blue = Node::start(NodeOptions::new("blue").cookie(BLUE)).await?;
    let proxy = Node::start(proxy_options("proxy", BLUE, RED, &[red.name().as_str()])).await?;
    serve_forwarding(&proxy);
    blue.rpc().register("blue", "greet", 1, |args| async move { Ok(Term::from(format!("blue greets {}", args[0]))) });
    for node in [&red, &blue, &proxy] {
        println!("{} listens on port {}", node.name(), node.dist_port().unwrap_or_default());
    }

    let blue_name = blue.name();
    let direct = red.ping(blue_name, Duration::from_secs(2)).await;
    println!("red pings blue directly: {}", if direct { "pong" } else { "pang (different cookies)" });

    let forward =
        vec![Term::Atom(blue_name), Term::atom("blue"), Term::atom("greet"), Term::list(vec![Term::atom("red")])];
    let answer = red.rpc_call(proxy.name(), "proxy", "forward", forward, CALL_TIMEOUT).await;
    match answer {
        Ok(value) => println!("red -> proxy -> blue: {value}"),
        Err(e) => println!("red -> proxy -> blue failed: {e}"),
    }

    if std::env::args().any(|a| a == "--serve") {
        println!("serving; red's cookie is {RED}, blue's is {BLUE}; Ctrl-C stops");
        std::future::pending::<()>().await;
    }
    Ok(())
}
