//! `erlnode`: run a demo node that Erlang nodes can talk to, or ping a node.
//!
//! ```text
//! erlnode demo [--name NAME] [--cookie COOKIE] [--longnames]
//! erlnode ping NODE [--cookie COOKIE]
//! ```
//!
//! The cookie defaults to `~/.erlang.cookie`, as in Erlang (the demo creates that file, as `erl` does,
//! when there is none).

mod demo;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use erlnode::{Atom, Node, NodeOptions};

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
