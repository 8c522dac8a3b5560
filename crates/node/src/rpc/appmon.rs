//! The part of `appmon_info` (runtime_tools) behind `observer`'s Applications tab.
//!
//! observer calls `appmon_info:start_link2(Starter, Client, Opts)` on the node it watches, which answers
//! `{ok, Server}` with a server registered as `appmon_info` (started by the first call, shared by the
//! later ones). observer then casts `{Client, Cmd, Aux, OnOff, Opts}` to it, and the server answers
//! with `{delivery, Server, Cmd, Aux, Result}` messages:
//!
//! - `app_ctrl` on: the running applications, `[{TopSupervisor, Name, {Name, Description, Version}}]`,
//!   at once and again whenever the list changes (looked at every second), until `app_ctrl` is off;
//! - `app` on: the process tree of one application, `{Root, Names, Links, ExtraLinks}`; sent empty
//!   (`{[], [], [], []}`, which observer shows as no tree), since erlnode does not walk supervision trees
//!   for it yet.
//!
//! The server follows each client with a monitor and ends when the last one has ended.

use std::time::Duration;

use erlnode_etf::{Atom, Pid, Ref, Term};

use super::{Exception, Rpc};
use crate::{Node, Process};

/// How often the running applications are looked at while a client follows them.
const REFRESH: Duration = Duration::from_secs(1);

/// How long a server that never had a client waits for one.
const IDLE: Duration = Duration::from_secs(60);

pub(super) fn register(rpc: &Rpc) {
    rpc.register_process("appmon_info", "start_link2", 3, |p, _| async move {
        let server = server(p.node()).map_err(|e| Exception::error(Term::atom(&e)))?;
        Ok(Term::tuple(vec![Term::atom("ok"), Term::Pid(server)]))
    });
}

/// The node's `appmon_info` server, started if there is none.
fn server(node: &Node) -> Result<Pid, String> {
    let name = Atom::new("appmon_info");
    loop {
        if let Some(pid) = node.whereis(name) {
            return Ok(pid);
        }
        let pid = node.spawn(serve).map_err(|e| e.to_string())?;
        if node.register(name, pid).is_ok() {
            return Ok(pid);
        }
        // Another caller's server took the name first: this one ends unused.
        node.send(pid, Term::atom("stop"));
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

async fn serve(mut p: Process) -> crate::ExitResult {
    let mut clients: Vec<Client> = Vec::new();
    let mut had_client = false;
    loop {
        let wait = if had_client { REFRESH } else { IDLE };
        let Some(message) = p.recv_timeout(wait).await else {
            if !had_client {
                return Ok(());
            }
            for client in clients.iter_mut() {
                deliver_apps(&p, client, false);
            }
            continue;
        };
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
                        had_client = true;
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
            _ if message == Term::atom("stop") => return Ok(()),
            _ => {}
        }
    }
}

/// Sends `client` the running applications if it follows them and they changed (or always, `force`).
fn deliver_apps(p: &Process, client: &mut Client, force: bool) {
    let apps = crate::application::running_with_tops(p.node());
    let apps = Term::list(
        apps.into_iter()
            .map(|(top, about)| {
                let name = about.as_tuple().map(|t| t[0].clone()).unwrap_or_default();
                Term::tuple(vec![Term::Pid(top), name, about])
            })
            .collect::<Vec<_>>(),
    );
    if !force && client.apps.as_ref().is_none_or(|last| *last == apps) {
        return;
    }
    deliver(p, client.pid, "app_ctrl", client.aux.clone(), apps.clone());
    client.apps = Some(apps);
}

fn deliver(p: &Process, to: Pid, cmd: &str, aux: Term, result: Term) {
    p.send(to, Term::tuple(vec![Term::atom("delivery"), Term::Pid(p.self_pid()), Term::atom(cmd), aux, result]));
}
