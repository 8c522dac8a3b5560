//! `erlnode`: run a demo node that Erlang nodes can talk to, ping a node, or call a function on one.
//!
//! ```text
//! erlnode demo [--name NAME] [--cookie COOKIE] [--longnames]
//! erlnode ping NODE [--cookie COOKIE]
//! erlnode rpc NODE MODULE FUNCTION ARGS [--cookie COOKIE] [--timeout-ms N] [--name NAME] [--longnames]
//! ```
//!
//! The cookie defaults to `~/.erlang.cookie`, as in Erlang (the demo creates that file, as `erl` does,
//! when there is none).

mod demo;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use erlnode::rpc::RpcError;
use erlnode::{Atom, Node, NodeOptions, Term};

#[derive(Parser)]
#[command(name = "erlnode", version, about = "An Erlang node in Rust")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a node with `echo` and `sink` processes that Erlang can call, with an embedded EPMD.
    Demo {
        /// The node name (`name` or `name@host`).
        #[arg(long, default_value = "demo")]
        name: String,
        /// The cookie (default: ~/.erlang.cookie).
        #[arg(long)]
        cookie: Option<String>,
        /// Complete the name with the fully qualified host name (`-name`), not the short one (`-sname`).
        #[arg(long)]
        longnames: bool,
    },
    /// Ping a node: prints `pong` (exit code 0) or `pang` (exit code 1), like `net_adm:ping/1`.
    Ping {
        /// The node to ping, `name@host`.
        node: String,
        /// The cookie (default: ~/.erlang.cookie).
        #[arg(long)]
        cookie: Option<String>,
    },
    /// Call `MODULE:FUNCTION(ARGS...)` on a node, like `rpc:call/5`: prints the result in Erlang syntax
    /// (exit code 0) or `{badrpc, Reason}` (exit code 1).
    Rpc(RpcArgs),
}

#[derive(Args)]
struct RpcArgs {
    /// The node to call, `name@host`.
    node: String,
    /// The module.
    module: String,
    /// The function.
    function: String,
    /// The arguments, as an Erlang list: `'[1, 2]'`, `'[]'`.
    args: String,
    /// The cookie (default: ~/.erlang.cookie).
    #[arg(long)]
    cookie: Option<String>,
    /// How long to wait for the result, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// This node's own name (default: `erlnode_rpc_<pid>`).
    #[arg(long)]
    name: Option<String>,
    /// Complete this node's name with the fully qualified host name (`-name`), not the short one (`-sname`).
    #[arg(long)]
    longnames: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,erlnode=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Demo { name, cookie, longnames } => match demo::run(&name, cookie, longnames).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("erlnode demo: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Ping { node, cookie } => ping(&node, cookie).await,
        Command::Rpc(args) => rpc(args).await,
    }
}

async fn ping(target: &str, cookie: Option<String>) -> ExitCode {
    let mut options = NodeOptions::new(format!("erlnode_ping_{}", std::process::id())).hidden(true);
    if let Some(cookie) = cookie {
        options = options.cookie(cookie);
    }
    let pong = match (Node::start(options).await, Atom::try_new(target)) {
        (Ok(node), Ok(target)) => node.ping(target, Duration::from_secs(10)).await,
        (Err(e), _) => {
            eprintln!("erlnode ping: {e}");
            false
        }
        (_, Err(_)) => false,
    };
    println!("{}", if pong { "pong" } else { "pang" });
    if pong { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `erlnode rpc`: exit code 0 with the result, 1 with `{badrpc, Reason}` (or when this node cannot start),
/// 2 when ARGS is not an Erlang list or MODULE or FUNCTION no atom. A thrown value is printed as
/// `rpc:call` returns it, as if it were the result, but with exit code 1, so scripts can tell.
async fn rpc(cli: RpcArgs) -> ExitCode {
    let Some(args) = cli.args.parse::<Term>().ok().and_then(|t| t.to_list()) else {
        eprintln!("erlnode rpc: ARGS must be an Erlang list, such as '[1, 2]' or '[]', not {}", cli.args);
        return ExitCode::from(2);
    };
    if Atom::try_new(&cli.module).is_err() || Atom::try_new(&cli.function).is_err() {
        eprintln!("erlnode rpc: MODULE and FUNCTION must be atoms (255 characters at most)");
        return ExitCode::from(2);
    }
    let name = cli.name.unwrap_or_else(|| format!("erlnode_rpc_{}", std::process::id()));
    // Hidden, as erl_call's node is: a one-off caller should not join the cluster.
    let mut options = NodeOptions::new(name).longnames(cli.longnames).hidden(true);
    if let Some(cookie) = cli.cookie {
        options = options.cookie(cookie);
    }
    let node = match Node::start(options).await {
        Ok(node) => node,
        Err(e) => {
            eprintln!("erlnode rpc: {e}");
            return ExitCode::FAILURE;
        }
    };
    let timeout = Duration::from_millis(cli.timeout_ms);
    let result = match Atom::try_new(&cli.node) {
        // The timeout bounds the whole call, connecting included, as in rpc:call/5.
        Ok(target) => tokio::time::timeout(timeout, node.rpc_call(target, &cli.module, &cli.function, args, timeout))
            .await
            .unwrap_or(Err(RpcError::Timeout)),
        // A name too long to be an atom names no node that is up.
        Err(_) => Err(RpcError::NoConnection),
    };
    match result {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}", e.to_badrpc());
            ExitCode::FAILURE
        }
    }
}
