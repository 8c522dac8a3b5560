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
//! - `app` on: the supervision tree of one application, `{Root, Names, Links, ExtraLinks}`, at once and
//!   again whenever it changes, until `app` is off. It is walked with `which_children` from the top
//!   supervisor down (OTP walks the links of the processes with the application's group leader, which
//!   erlnode does not have); `Root` is the top supervisor, `Names` pairs each pid with its registered name
//!   or `pid_to_list/1` text, `Links` are the supervisor-to-child edges, and `ExtraLinks` is empty. An
//!   application that is not running gives `{[], [], [], []}`, which observer shows as no tree.
//!
//!   Only processes that run an erlnode supervisor are asked for children (a child's declared type is a
//!   label: a server marked `supervisor` would fail the call), each for at most [`ASK`], and a walk ends
//!   after [`WALK`] or [`MAX_TREE`] processes, so a busy supervisor shows fewer children for a while
//!   rather than holding up the server. Each refresh walks each followed application once.
//!
//! The server follows each client with a monitor and traps exits: a client that ends, or that sends it an
//! exit signal (observer does so when it leaves the tab), is dropped, and the server ends with its last
//! client.

use std::collections::{HashMap, HashSet};
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
    /// The application whose tree it follows, and the last tree it got.
    app: Option<(Term, Term)>,
}

/// The most processes an application tree shows: its walk stops there.
const MAX_TREE: usize = 5000;

/// How long a walk waits for one supervisor's children.
const ASK: Duration = Duration::from_millis(500);

/// How long one walk may take.
const WALK: Duration = Duration::from_secs(2);

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
            let mut trees = std::collections::HashMap::new();
            for client in clients.iter_mut() {
                deliver_apps(&p, client, false);
                deliver_tree(&mut p, client, false, &mut trees).await;
            }
            // From now: a slow walk must not make the next refresh due at once.
            refresh_at = Instant::now() + REFRESH;
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
                        clients.push(Client { pid: *from, monitor, apps: None, aux: Term::NIL, app: None });
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
                        client.app = Some((aux.clone(), Term::NIL));
                        deliver_tree(&mut p, client, true, &mut std::collections::HashMap::new()).await;
                    }
                    "app" => client.app = None,
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

/// Sends `client` the tree of the application it follows if it changed (or always, `force`); `trees` holds
/// the trees walked in this refresh, by application.
async fn deliver_tree(p: &mut Process, client: &mut Client, force: bool, trees: &mut HashMap<Atom, Term>) {
    let Some((aux, last)) = client.app.as_ref() else { return };
    let tree = match aux {
        Term::Atom(app) => match trees.get(app) {
            Some(tree) => tree.clone(),
            None => {
                let tree = app_tree(p, *app).await;
                trees.insert(*app, tree.clone());
                tree
            }
        },
        _ => empty_tree(),
    };
    if force || *last != tree {
        deliver(p, client.pid, "app", aux.clone(), tree.clone());
        client.app = Some((aux.clone(), tree));
    }
}

/// `{[], [], [], []}`: no tree.
fn empty_tree() -> Term {
    Term::tuple(vec![Term::NIL, Term::NIL, Term::NIL, Term::NIL])
}

/// The supervision tree of the running application `app`, as `appmon_info` gives observer one (see the
/// module documentation).
async fn app_tree(p: &mut Process, app: Atom) -> Term {
    let tops = crate::application::running_with_tops(p.node());
    let Some(top) = tops.into_iter().find_map(|(top, name, _)| (name == app).then_some(top)) else {
        return empty_tree();
    };
    let node = p.node().clone();
    // A local process's registered name, else its pid as pid_to_list/1 writes it on its own node; and
    // whether it runs a supervisor. None: not a live process of this node.
    let look = |pid: Pid| {
        let (name, supervisor) = node.name_and_kind(pid)?;
        let name = name.map_or_else(|| format!("<0.{}.{}>", pid.id, pid.serial), |n| n.as_str().to_owned());
        Some((name, supervisor))
    };
    let Some((root, top_is_supervisor)) = look(top) else { return empty_tree() };
    let deadline = Instant::now() + WALK;
    let mut names = vec![(top, root.clone())];
    let mut seen = HashSet::from([top]);
    let mut links = Vec::new();
    let mut supervisors = if top_is_supervisor { vec![(top, root)] } else { Vec::new() };
    'walk: while let Some((supervisor, parent)) = supervisors.pop() {
        let left = deadline.saturating_duration_since(Instant::now()).min(ASK);
        if left.is_zero() {
            break;
        }
        // A supervisor that ended or does not answer in time shows no children.
        let request = Term::atom("which_children");
        let Ok(children) = crate::gen_server::call(p, supervisor, request, left).await else { continue };
        for child in children.to_list().unwrap_or_default() {
            // {Id, Pid, Type, Modules}; a child that is not running has no pid.
            let Some([_, Term::Pid(pid), ..]) = child.as_tuple() else { continue };
            if !seen.insert(*pid) {
                continue;
            }
            let Some((name, is_supervisor)) = look(*pid) else { continue };
            links.push((parent.clone(), name.clone()));
            if is_supervisor {
                supervisors.push((*pid, name.clone()));
            }
            names.push((*pid, name));
            if names.len() >= MAX_TREE {
                break 'walk;
            }
        }
    }
    let root = Term::charlist(&names[0].1);
    let names = names.into_iter().map(|(pid, name)| Term::tuple(vec![Term::Pid(pid), Term::charlist(&name)]));
    let links = links.into_iter().map(|(from, to)| Term::tuple(vec![Term::charlist(&from), Term::charlist(&to)]));
    Term::tuple(vec![root, Term::list(names.collect::<Vec<_>>()), Term::list(links.collect::<Vec<_>>()), Term::NIL])
}

/// Sends `{delivery, Server, Cmd, Aux, Result}`, as `appmon_info` does.
fn deliver(p: &Process, to: Pid, cmd: &str, aux: Term, result: Term) {
    p.send(to, Term::tuple(vec![Term::atom("delivery"), Term::Pid(p.self_pid()), Term::atom(cmd), aux, result]));
}
