//! Applications: load, start with dependencies first, stop, environment, which_applications, and what
//! each start type does when the application's top supervisor exits.

mod common;

use std::time::Duration;

use common::{WAIT, node, t};
use erlnode::application::{self, AppError, AppSpec, StartType};
use erlnode::gen_server::{Ctx, GenServer, InitError};
use erlnode::supervisor::{self, ChildSpec, Flags, Strategy};
use erlnode::{Atom, Node, Pid, Term};

/// A worker that tells `watcher` it started and stopped.
struct Worker {
    name: &'static str,
    watcher: Pid,
}

impl GenServer for Worker {
    type Args = (&'static str, Pid);

    async fn init(ctx: &mut Ctx<'_>, (name, watcher): Self::Args) -> Result<Self, InitError> {
        ctx.trap_exit(true);
        ctx.send(watcher, Term::tuple(vec![t("started"), Term::atom(name)]));
        Ok(Worker { name, watcher })
    }

    async fn terminate(&mut self, ctx: &mut Ctx<'_>, _reason: &Term) {
        ctx.send(self.watcher, Term::tuple(vec![t("stopped"), Term::atom(self.name)]));
    }
}

/// An application `name` whose top supervisor runs one worker called `name`.
fn app(name: &'static str, watcher: Pid) -> AppSpec {
    AppSpec::new(name, move |node: Node| async move {
        let child = ChildSpec::gen_server::<Worker>(Term::atom(name), (name, watcher), None);
        let sup_name = Atom::new(&format!("{name}_sup"));
        supervisor::start(&node, Flags::new(Strategy::OneForOne), vec![child], Some(sup_name))
            .await
            .map_err(|e| e.to_term())
    })
    .description(&format!("the {name} application"))
    .version("1.0.0")
}

/// A process that forwards what it receives to the test, through a channel.
fn watcher(node: &Node) -> (Pid, tokio::sync::mpsc::UnboundedReceiver<Term>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let pid = node
        .spawn(move |mut p| async move {
            loop {
                let _ = tx.send(p.recv().await);
            }
        })
        .expect("the watcher starts");
    (pid, rx)
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Term>) -> Option<Term> {
    tokio::time::timeout(WAIT, rx.recv()).await.ok().flatten()
}

#[tokio::test]
async fn dependencies_start_first_and_stop_is_orderly() {
    let node = node();
    let (w, mut events) = watcher(&node);
    application::load(&node, app("base", w)).unwrap();
    application::load(&node, app("web", w).needs("base").env("port", 8080)).unwrap();
    assert_eq!(application::load(&node, app("web", w)), Err(AppError::AlreadyLoaded(Atom::new("web"))));
    assert_eq!(application::get_env(&node, Atom::new("web"), Atom::new("port")), Some(t("8080")));
    application::set_env(&node, Atom::new("web"), Atom::new("port"), 9090);
    assert_eq!(application::get_env(&node, Atom::new("web"), Atom::new("port")), Some(t("9090")));

    let started = application::start(&node, Atom::new("web"), StartType::Temporary).await.unwrap();
    assert_eq!(started, vec![Atom::new("base"), Atom::new("web")]);
    assert_eq!(next(&mut events).await, Some(t("{started, base}")));
    assert_eq!(next(&mut events).await, Some(t("{started, web}")));
    assert_eq!(
        application::which_applications(&node),
        t("[{web, \"the web application\", \"1.0.0\"}, {base, \"the base application\", \"1.0.0\"}]")
    );
    assert_eq!(
        application::start(&node, Atom::new("web"), StartType::Temporary).await,
        Err(AppError::AlreadyStarted(Atom::new("web")))
    );
    application::stop(&node, Atom::new("web")).await.unwrap();
    assert_eq!(next(&mut events).await, Some(t("{stopped, web}")));
    assert_eq!(application::which_applications(&node), t("[{base, \"the base application\", \"1.0.0\"}]"));
    assert_eq!(application::stop(&node, Atom::new("web")).await, Err(AppError::NotStarted(Atom::new("web"))));
    assert_eq!(
        application::start(&node, Atom::new("nothing"), StartType::Temporary).await,
        Err(AppError::NotLoaded(Atom::new("nothing")))
    );
}

#[tokio::test]
async fn circular_dependencies_and_failed_starts_are_errors() {
    let node = node();
    let (w, _events) = watcher(&node);
    application::load(&node, app("x", w).needs("y")).unwrap();
    application::load(&node, app("y", w).needs("x")).unwrap();
    assert!(matches!(
        application::start(&node, Atom::new("x"), StartType::Temporary).await,
        Err(AppError::Circular(_))
    ));
    application::load(&node, AppSpec::new("broken", |_node: Node| async { Err(t("no_database")) })).unwrap();
    assert_eq!(
        application::start(&node, Atom::new("broken"), StartType::Temporary).await,
        Err(AppError::StartFailed { app: Atom::new("broken"), reason: t("no_database") })
    );
}

/// Starts `one` and `two` (in that order) with `start_type` for `two`, then kills two's top supervisor
/// with `reason`; returns the node's stop reason if it stopped, and the events seen.
async fn exit_of_the_top_supervisor(start_type: StartType, reason: Term) -> (Option<Term>, Vec<Term>) {
    let node = node();
    let (w, mut events) = watcher(&node);
    application::load(&node, app("one", w)).expect("load one");
    application::load(&node, app("two", w)).expect("load two");
    application::start(&node, Atom::new("one"), StartType::Temporary).await.expect("start one");
    application::start(&node, Atom::new("two"), start_type).await.expect("start two");
    let mut seen = vec![next(&mut events).await, next(&mut events).await];
    let sup = node.whereis(Atom::new("two_sup")).expect("two's supervisor");
    if reason == t("kill") {
        node.exit(sup, reason);
    } else {
        // A supervisor traps exits: ending it with another reason takes gen_server:stop.
        node.spawn(move |mut p| async move {
            let _ = erlnode::gen_server::stop(&mut p, sup, reason, WAIT).await;
            Ok(())
        })
        .expect("spawn the stopper");
    }
    let stopped = tokio::time::timeout(Duration::from_millis(500), application::stopped(&node)).await.ok();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(100), events.recv()).await {
        seen.push(Some(event));
    }
    (stopped, seen.into_iter().flatten().collect())
}

#[tokio::test]
async fn start_types_decide_what_an_exit_of_the_application_does() {
    // Permanent: the node stops, every application with it (one, the other, stops too).
    let (stopped, seen) = exit_of_the_top_supervisor(StartType::Permanent, t("kill")).await;
    assert_eq!(stopped, Some(t("{application_exited, two, killed}")));
    assert!(seen.contains(&t("{stopped, one}")), "{seen:?}");
    // Transient: the same after an abnormal exit...
    let (stopped, seen) = exit_of_the_top_supervisor(StartType::Transient, t("kill")).await;
    assert_eq!(stopped, Some(t("{application_exited, two, killed}")));
    assert!(seen.contains(&t("{stopped, one}")), "{seen:?}");
    // ... but not after a normal one.
    let (stopped, seen) = exit_of_the_top_supervisor(StartType::Transient, t("normal")).await;
    let _ = seen;
    assert_eq!(stopped, None);
    // Temporary: reported, nothing more.
    let (stopped, seen) = exit_of_the_top_supervisor(StartType::Temporary, t("kill")).await;
    assert_eq!(stopped, None);
    assert!(!seen.contains(&t("{stopped, one}")), "{seen:?}");
}
