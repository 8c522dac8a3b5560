//! The part of `appmon_info` (runtime_tools) behind `observer`'s Applications tab.
//!
//! observer calls `appmon_info:start_link2(Starter, Client, Opts)` on the node it watches, which answers
//! `{ok, Server}` with a server registered as `appmon_info` (started by the first call, shared by the
//! later ones). observer then casts `{Client, Cmd, Aux, OnOff, Opts}` to it, and the server answers
//! with `{delivery, Server, Cmd, Aux, Result}` messages:
//!
//! - `app_ctrl` on: the running applications, `[{Pid, Name, {Name, Description, Version}}]` (the pid
//!   of the application's top supervisor, where OTP gives its application master), at once and again
//!   whenever the list changes (looked at every second), until `app_ctrl` is off;
//! - `app` on: the process tree of one application, `{Root, Names, Links, ExtraLinks}`; sent empty
//!   (`{[], [], [], []}`, which observer shows as no tree), since erlnode does not walk supervision trees
//!   for it yet.
//!
//! The server follows each client with a monitor and traps exits: a client that ends, or that sends it an
//! exit signal (observer does so when it leaves the tab), is dropped, and the server ends with its last
//! client.

use std::time::Duration;

use erlnode_etf::{Atom, Pid, Ref, Term};
use tokio::time::Instant;

use super::{Exception, Rpc};
use crate::{Node, Process, RegisterError};

/// How often the running applications are looked at while a client follows them.
const REFRESH: Duration = Duration::from_secs(1);

/// How long a server that never had a client waits for one.
const IDLE: Duration = Duration::from_secs(60);

/// Registers `appmon_info:start_link2/3`.
pub(super) fn register(rpc: &Rpc) {
    rpc.register_process("appmon_info", "start_link2", 3, |p, _| async move {
        let server = server(p.node()).map_err(Exception::error)?;
        Ok(Term::tuple(vec![Term::atom("ok"), Term::Pid(server)]))
    });
}

/// The node's `appmon_info` server, started if there is none; the error is the reason Erlang would raise.
fn server(node: &Node) -> Result<Pid, Term> {
    let name = Atom::new("appmon_info");
    loop {
        if let Some(pid) = node.whereis(name) {
            return Ok(pid);
        }
        let pid = node.spawn(serve)?;
        match node.register(name, pid) {
            Ok(()) => return Ok(pid),
            // Another caller's server took the name first: this one ends unused.
            Err(RegisterError::NameTaken { .. }) => node.exit(pid, Term::atom("kill")),
            Err(other) => {
                node.exit(pid, Term::atom("kill"));
                return Err(other.into());
            }
        }
    }
}

/// A client and what it follows.
struct Client {
    pid: Pid,
    monitor: Ref,
    /// The last `app_ctrl` answer it got, while it follows the applications.
    apps: Option<Term>,
    /// The `Aux` of its `app_ctrl` cast, given back in each delivery.
    aux: Term,
}

/// The server: answers casts, refreshes what its clients follow every [`REFRESH`], and ends with its last
/// client (or after [`IDLE`] without one).
async fn serve(mut p: Process) -> crate::ExitResult {
    p.trap_exit(true);
    let mut clients: Vec<Client> = Vec::new();
    let mut had_client = false;
    let mut refresh_at = Instant::now() + IDLE;
    loop {
        let now = Instant::now();
        if now >= refresh_at {
            if !had_client {
                return Ok(());
            }
            for client in clients.iter_mut() {
                deliver_apps(&p, client, false);
            }
            refresh_at = now + REFRESH;
        }
        let Some(message) = p.recv_timeout(refresh_at - now).await else { continue };
        match message.as_tuple() {
            Some([tag, cast]) if crate::atoms::is(tag, "$gen_cast") => {
                let Some([Term::Pid(from), Term::Atom(cmd), aux, Term::Atom(on), _opts]) = cast.as_tuple() else {
                    continue;
                };
                let index = match clients.iter().position(|c| c.pid == *from) {
                    Some(i) => i,
                    None => {
                        let monitor = p.monitor(*from);
                        clients.push(Client { pid: *from, monitor, apps: None, aux: Term::NIL });
                        if !had_client {
                            had_client = true;
                            refresh_at = Instant::now() + REFRESH;
                        }
                        clients.len() - 1
                    }
                };
                let on = on.as_str() == "true";
                let client = &mut clients[index];
                match cmd.as_str() {
                    "app_ctrl" if on => {
                        client.aux = aux.clone();
                        deliver_apps(&p, client, true);
                    }
                    "app_ctrl" => client.apps = None,
                    "app" if on => {
                        let tree = Term::tuple(vec![Term::NIL, Term::NIL, Term::NIL, Term::NIL]);
                        deliver(&p, client.pid, "app", aux.clone(), tree);
                    }
                    _ => {}
                }
            }
            Some([tag, Term::Ref(monitor), ..]) if crate::atoms::is(tag, "DOWN") => {
                clients.retain(|c| c.monitor != *monitor);
                if clients.is_empty() {
                    return Ok(());
                }
            }
            Some([tag, Term::Pid(from), _]) if crate::atoms::is(tag, "EXIT") => {
                clients.retain(|c| c.pid != *from);
                if clients.is_empty() && had_client {
                    return Ok(());
                }
            }
            _ => {}
        }
    }
}

/// Sends `client` the running applications if it follows them and they changed (or always, `force`).
fn deliver_apps(p: &Process, client: &mut Client, force: bool) {
    if !force && client.apps.is_none() {
        return;
    }
    let apps = crate::application::running_with_tops(p.node());
    let apps = Term::list(
        apps.into_iter()
            .map(|(top, name, about)| Term::tuple(vec![Term::Pid(top), Term::Atom(name), about]))
            .collect::<Vec<_>>(),
    );
    if !force && client.apps.as_ref() == Some(&apps) {
        return;
    }
    deliver(p, client.pid, "app_ctrl", client.aux.clone(), apps.clone());
    client.apps = Some(apps);
}

/// Sends `{delivery, Server, Cmd, Aux, Result}`, as `appmon_info` does.
fn deliver(p: &Process, to: Pid, cmd: &str, aux: Term, result: Term) {
    p.send(to, Term::tuple(vec![Term::atom("delivery"), Term::Pid(p.self_pid()), Term::atom(cmd), aux, result]));
}
