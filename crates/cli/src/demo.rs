//! The demo node: `echo` and `sink`, for Erlang to talk to.
//!
//! - `echo` answers `gen_server:call({echo, Node}, Request)` with `Request`, and `{echo, Pid, Msg}` by
//!   sending `Msg` to `Pid`.
//! - `sink`, on `{sink, N, Pid}`, counts the next `N` messages and then sends `done` to `Pid`.

use erlnode::{Atom, Node, NodeOptions, Process, Term};

/// Starts the demo node and runs until interrupted.
pub(crate) async fn run(name: &str, cookie: Option<String>, longnames: bool) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = NodeOptions::new(name).longnames(longnames);
    match cookie {
        Some(cookie) => options = options.cookie(cookie),
        None => ensure_home_cookie()?,
    }
    let node = Node::start(options).await?;
    node.register(Atom::new("echo"), node.spawn(echo)?)?;
    node.register(Atom::new("sink"), node.spawn(sink)?)?;
    println!("erlnode demo node {} ready", node.name());
    tokio::signal::ctrl_c().await?;
    Ok(())
}

async fn echo(mut p: Process) -> erlnode::ExitResult {
    loop {
        let message = p.recv().await;
        match message.as_tuple() {
            Some([tag, from, request]) if tag.as_atom().map(|a| a.as_str()) == Some("$gen_call") => {
                p.reply(from, request.clone());
            }
            Some([tag, Term::Pid(to), msg]) if tag.as_atom().map(|a| a.as_str()) == Some("echo") => {
                p.send(*to, msg.clone());
            }
            _ => {}
        }
    }
}

async fn sink(mut p: Process) -> erlnode::ExitResult {
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
