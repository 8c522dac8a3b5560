//! Applications: OTP's unit of starting and stopping a system, with its dependencies, environment and
//! start type.
//!
//! An [`AppSpec`] names an application, what it needs started first, its environment, and a start
//! function that returns its top supervisor. [`start`] starts the applications it depends on first (as
//! `application:ensure_all_started/2` does), then it; [`stop`] stops one. When a running application's
//! top supervisor ends on its own, its start type decides: a `permanent` one stops the node (every
//! application, newest first; [`stopped`] then returns), a `transient` one does so unless it ended
//! normally, a `temporary` one is only reported, as in OTP.
//!
//! ```
//! use erlnode::application::{self, AppSpec, StartType};
//! use erlnode::supervisor::{self, Flags, Strategy};
//! use erlnode::{Atom, Node, Term};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::new("doc@localhost", 1)?;
//! let app = AppSpec::new("shop", |node: Node| async move {
//!     supervisor::start(&node, Flags::new(Strategy::OneForOne), vec![], Some(Atom::new("shop_sup")))
//!         .await
//!         .map_err(|e| e.to_term())
//! })
//! .description("the shop")
//! .version("1.0.0")
//! .env("currency", Term::atom("eur"));
//! application::load(&node, app)?;
//! application::start(&node, Atom::new("shop"), StartType::Temporary).await?;
//! assert_eq!(application::get_env(&node, Atom::new("shop"), Atom::new("currency")), Some(Term::atom("eur")));
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use erlnode_etf::{Atom, Pid, Term};
use tokio::sync::watch;

use crate::Node;

/// What happens when a running application's top supervisor ends on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartType {
    /// The node stops.
    Permanent,
    /// The node stops, unless the application ended normally.
    Transient,
    /// It is reported; the node goes on.
    Temporary,
}

type StartFn = Arc<dyn Fn(Node) -> Pin<Box<dyn Future<Output = Result<Pid, Term>> + Send>> + Send + Sync>;

/// An application's specification (OTP's `.app` file and its `start/2` callback).
#[derive(Clone)]
pub struct AppSpec {
    name: Atom,
    description: String,
    version: String,
    applications: Vec<Atom>,
    env: Vec<(Atom, Term)>,
    start: StartFn,
}

impl std::fmt::Debug for AppSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSpec")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("applications", &self.applications)
            .finish_non_exhaustive()
    }
}

impl AppSpec {
    /// An application named `name` whose `start` returns its top supervisor's pid (or why it could not).
    pub fn new<F, Fut>(name: &str, start: F) -> AppSpec
    where
        F: Fn(Node) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Pid, Term>> + Send + 'static,
    {
        AppSpec {
            name: Atom::new(name),
            description: String::new(),
            version: String::new(),
            applications: Vec::new(),
            env: Vec::new(),
            start: Arc::new(move |node| Box::pin(start(node))),
        }
    }

    /// The description `which_applications` shows.
    pub fn description(mut self, description: &str) -> AppSpec {
        self.description = description.to_string();
        self
    }

    /// The version `which_applications` shows.
    pub fn version(mut self, version: &str) -> AppSpec {
        self.version = version.to_string();
        self
    }

    /// An application that must be running before this one starts.
    pub fn needs(mut self, application: &str) -> AppSpec {
        self.applications.push(Atom::new(application));
        self
    }

    /// A default for the environment variable `key`.
    pub fn env(mut self, key: &str, value: impl Into<Term>) -> AppSpec {
        self.env.push((Atom::new(key), value.into()));
        self
    }

    /// The application's name.
    pub fn name(&self) -> Atom {
        self.name
    }
}

/// Why an application could not be loaded, started or stopped (OTP's `{error, Reason}`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppError {
    /// `{already_loaded, App}`.
    #[error("application {0} is loaded already")]
    AlreadyLoaded(Atom),
    /// `{not_loaded, App}`.
    #[error("application {0} is not loaded")]
    NotLoaded(Atom),
    /// `{already_started, App}`.
    #[error("application {0} is running already")]
    AlreadyStarted(Atom),
    /// `{not_started, App}`.
    #[error("application {0} is not running")]
    NotStarted(Atom),
    /// Dependencies that need each other (`{circular_dependencies, Apps}`).
    #[error("circular dependencies among {0:?}")]
    Circular(Vec<Atom>),
    /// The start function failed (`{{bad_return, ...}}` or its reason).
    #[error("application {app} failed to start: {reason}")]
    StartFailed {
        /// The application.
        app: Atom,
        /// Why.
        reason: Term,
    },
}

/// A node's applications: loaded specs, running ones, and their environments.
#[derive(Debug, Default)]
pub(crate) struct Controller {
    state: Mutex<State>,
    /// `Some(reason)` once the node has been stopped.
    stopped: Mutex<Option<watch::Sender<Option<Term>>>>,
}

#[derive(Debug, Default)]
struct State {
    loaded: HashMap<Atom, AppSpec>,
    env: HashMap<(Atom, Atom), Term>,
    /// Running applications in start order: name, type, top supervisor.
    running: Vec<(Atom, StartType, Pid)>,
    /// Applications being stopped on request (their supervisor's end is not a failure).
    stopping: Vec<Atom>,
}

impl Controller {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stop_signal(&self) -> watch::Receiver<Option<Term>> {
        let mut sender = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        sender.get_or_insert_with(|| watch::channel(None).0).subscribe()
    }

    fn signal_stop(&self, reason: Term) {
        let mut sender = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        sender.get_or_insert_with(|| watch::channel(None).0).send_replace(Some(reason));
    }
}

/// Loads `spec` (`application:load/1`): its environment defaults apply from now on.
pub fn load(node: &Node, spec: AppSpec) -> Result<(), AppError> {
    let mut state = node.applications().lock();
    if state.loaded.contains_key(&spec.name) {
        return Err(AppError::AlreadyLoaded(spec.name));
    }
    for (key, value) in &spec.env {
        state.env.entry((spec.name, *key)).or_insert_with(|| value.clone());
    }
    state.loaded.insert(spec.name, spec);
    Ok(())
}

/// Starts `app` with `start_type`, starting first every application it needs that is not running
/// (`application:ensure_all_started/2`); returns the applications it started, in order.
pub async fn start(node: &Node, app: Atom, start_type: StartType) -> Result<Vec<Atom>, AppError> {
    let order = start_order(node, app)?;
    let mut started = Vec::new();
    for name in order {
        let spec = {
            let state = node.applications().lock();
            if state.running.iter().any(|(n, ..)| *n == name) {
                if name == app {
                    return Err(AppError::AlreadyStarted(app));
                }
                continue;
            }
            state.loaded.get(&name).cloned().ok_or(AppError::NotLoaded(name))?
        };
        let sup = (spec.start)(node.clone()).await.map_err(|reason| AppError::StartFailed { app: name, reason })?;
        node.applications().lock().running.push((name, start_type, sup));
        watch_top_supervisor(node, name, start_type, sup).await?;
        tracing::info!(application = %name, ?start_type, "application started");
        started.push(name);
    }
    Ok(started)
}

/// The applications `app` needs, transitively, then `app`: dependencies first.
fn start_order(node: &Node, app: Atom) -> Result<Vec<Atom>, AppError> {
    fn visit(state: &State, app: Atom, order: &mut Vec<Atom>, path: &mut Vec<Atom>) -> Result<(), AppError> {
        if order.contains(&app) {
            return Ok(());
        }
        if path.contains(&app) {
            return Err(AppError::Circular(path.clone()));
        }
        let spec = state.loaded.get(&app).ok_or(AppError::NotLoaded(app))?;
        path.push(app);
        for dep in &spec.applications {
            visit(state, *dep, order, path)?;
        }
        path.pop();
        order.push(app);
        Ok(())
    }
    let state = node.applications().lock();
    let mut order = Vec::new();
    visit(&state, app, &mut order, &mut Vec::new())?;
    Ok(order)
}

/// A process that watches the top supervisor of `app` and applies its start type when it ends; returns
/// once the watch is in place.
async fn watch_top_supervisor(node: &Node, app: Atom, start_type: StartType, sup: Pid) -> Result<(), AppError> {
    let (watching, watched) = tokio::sync::oneshot::channel();
    let spawned = node.spawn(move |mut p| async move {
        let monitor = p.monitor(sup);
        let _ = watching.send(());
        let down = p.recv_match(|m| crate::exit::is_down_of(m, &monitor)).await;
        let reason = down.as_tuple().and_then(|t| t.get(4).cloned()).unwrap_or_default();
        let node = p.node().clone();
        let requested = {
            let mut state = node.applications().lock();
            state.running.retain(|(n, ..)| *n != app);
            let requested = state.stopping.contains(&app);
            state.stopping.retain(|n| *n != app);
            requested
        };
        if requested {
            return Ok(());
        }
        let normal = reason == crate::exit::normal() || reason == Term::atom("shutdown");
        tracing::error!(application = %app, %reason, ?start_type, "application exited");
        let stops_node = match start_type {
            StartType::Permanent => true,
            StartType::Transient => !normal,
            StartType::Temporary => false,
        };
        if stops_node {
            let why = Term::tuple(vec![Term::atom("application_exited"), Term::Atom(app), reason]);
            stop_node(&node, why).await;
        }
        Ok(())
    });
    spawned.map_err(|e| AppError::StartFailed { app, reason: Term::from(e.to_string()) })?;
    let _ = watched.await;
    Ok(())
}

/// Stops `app` (`application:stop/1`): its top supervisor shuts down (its children in reverse order).
/// The node goes on, whatever the start type.
pub async fn stop(node: &Node, app: Atom) -> Result<(), AppError> {
    let sup = {
        let mut state = node.applications().lock();
        let Some(&(_, _, sup)) = state.running.iter().find(|(n, ..)| *n == app) else {
            return Err(AppError::NotStarted(app));
        };
        state.stopping.push(app);
        sup
    };
    shut_down(node, sup).await;
    // Off the list now, not when its watcher gets round to it, so that what comes next sees it stopped.
    node.applications().lock().running.retain(|(n, ..)| *n != app);
    tracing::info!(application = %app, "application stopped");
    Ok(())
}

/// Stops every running application, the last started first, then signals [`stopped`] with `reason`
/// (`init:stop/0` for an erlnode node; the OS process itself goes on).
pub async fn stop_node(node: &Node, reason: Term) {
    loop {
        let last = node.applications().lock().running.last().map(|(name, ..)| *name);
        let Some(app) = last else { break };
        if stop(node, app).await.is_err() {
            // Ended meanwhile: it took itself off the list.
            tokio::task::yield_now().await;
        }
    }
    tracing::warn!(%reason, "node stopped");
    node.applications().signal_stop(reason);
}

/// Waits until the node is stopped ([`stop_node`], or a permanent application that exited) and returns
/// why.
pub async fn stopped(node: &Node) -> Term {
    let mut signal = node.applications().stop_signal();
    loop {
        if let Some(reason) = signal.borrow_and_update().clone() {
            return reason;
        }
        if signal.changed().await.is_err() {
            return Term::atom("normal");
        }
    }
}

/// Stops a top supervisor as `gen_server:stop/1` does (it needs no parent for that) and waits for its end.
async fn shut_down(node: &Node, sup: Pid) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = node.spawn(move |mut p| async move {
        // OTP waits for as long as it takes; a day stands for that.
        let forever = std::time::Duration::from_secs(24 * 3600);
        let _ = crate::gen_server::stop(&mut p, sup, Term::atom("shutdown"), forever).await;
        let _ = tx.send(());
        Ok(())
    });
    if spawned.is_ok() {
        let _ = rx.await;
    }
}

/// The running applications, newest first, as `application:which_applications/0` returns them:
/// `[{Name, Description, Version}]` with charlists.
pub fn which_applications(node: &Node) -> Term {
    Term::list(running_with_tops(node).into_iter().map(|(_, _, about)| about).collect::<Vec<_>>())
}

/// The running applications, latest first: each one's top supervisor, name and
/// `{Name, Description, Version}`.
pub(crate) fn running_with_tops(node: &Node) -> Vec<(Pid, Atom, Term)> {
    let state = node.applications().lock();
    let apps = state.running.iter().rev().filter_map(|(name, _, top)| {
        let spec = state.loaded.get(name)?;
        let about =
            Term::tuple(vec![Term::Atom(*name), Term::charlist(&spec.description), Term::charlist(&spec.version)]);
        Some((*top, *name, about))
    });
    apps.collect()
}

/// The value of the environment variable `key` of `app` (`application:get_env/2`).
pub fn get_env(node: &Node, app: Atom, key: Atom) -> Option<Term> {
    node.applications().lock().env.get(&(app, key)).cloned()
}

/// Sets the environment variable `key` of `app` (`application:set_env/3`).
pub fn set_env(node: &Node, app: Atom, key: Atom, value: impl Into<Term>) {
    node.applications().lock().env.insert((app, key), value.into());
}
