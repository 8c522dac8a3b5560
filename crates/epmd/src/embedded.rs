//! Embedded EPMD and staying registered through EPMD restarts.
//!
//! A node needs an EPMD on its host. When none runs, [`start`] runs the EPMD server inside this process,
//! on a thread of its own, on the usual port and on every interface, so other nodes (erlnode or Erlang)
//! register with it and look this node up exactly as they would with the daemon. There is one embedded
//! server per port per process: every node of the process shares it, and it lives until the process ends
//! (or until a KILL request is granted, which, as with the daemon, needs it to be empty).
//!
//! [`KeepRegistered`] is what a node holds: a registration that survives its EPMD. When the EPMD connection
//! drops (the daemon died or was restarted), it registers again, with a daemon if one answers within
//! [`KeepRegisteredOptions::daemon_grace`], and otherwise by starting the embedded server. A new
//! registration brings a new creation, which the node must use from then on; [`KeepRegistered::subscribe`]
//! reports it. If the new EPMD refuses the name (another node took it meanwhile), it keeps trying at
//! [`KeepRegisteredOptions::retry_interval`] and logs why.

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::client::{Client, ClientError, DEFAULT_TIMEOUT, Registration};
use crate::proto::NodeEntry;
use crate::server::{Server, ServerError, ServerHandle, ServerOptions};

/// The embedded servers this process runs, by port.
static EMBEDDED: Mutex<Vec<(u16, ServerHandle)>> = Mutex::new(Vec::new());

/// A failure to start the embedded server or to register.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// Talking to the EPMD failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The embedded server could not listen; [`ServerError::is_addr_in_use`] tells whether another
    /// process took the port.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The embedded server's thread or runtime could not be started.
    #[error("cannot start the embedded EPMD thread: {0}")]
    Runtime(#[source] io::Error),
}

/// Starts the embedded EPMD server on `port` (every interface), or returns the one this process already
/// runs there. Fails with [`EmbeddedError::Server`] when another process listens on the port.
pub fn start(port: u16) -> Result<ServerHandle, EmbeddedError> {
    let mut servers = EMBEDDED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    servers.retain(|(_, handle)| !handle.is_stopped());
    if let Some((_, handle)) = servers.iter().find(|(p, _)| *p == port) {
        return Ok(handle.clone());
    }
    let server = Server::bind_port(port, ServerOptions::default())?;
    let handle = server.handle();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(EmbeddedError::Runtime)?;
    std::thread::Builder::new()
        .name(format!("epmd-{port}"))
        .spawn(move || {
            if let Err(e) = runtime.block_on(server.run()) {
                warn!("embedded EPMD failed: {e}");
            }
        })
        .map_err(EmbeddedError::Runtime)?;
    info!(port, "started the embedded EPMD");
    servers.push((port, handle.clone()));
    Ok(handle)
}

/// The embedded server this process runs on `port`, if it runs one.
pub fn running(port: u16) -> Option<ServerHandle> {
    let servers = EMBEDDED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    servers.iter().find(|(p, handle)| *p == port && !handle.is_stopped()).map(|(_, handle)| handle.clone())
}

/// How [`KeepRegistered`] finds and falls back to an EPMD.
#[derive(Debug, Clone)]
pub struct KeepRegisteredOptions {
    /// The EPMD port on this host (127.0.0.1).
    pub port: u16,
    /// Start the embedded server when no EPMD answers. Without it, the node waits for a daemon.
    pub embedded: bool,
    /// After the EPMD connection drops, how long to wait for a restarted daemon before starting the
    /// embedded server.
    pub daemon_grace: Duration,
    /// The pause between attempts to register again.
    pub retry_interval: Duration,
    /// The timeout of each exchange with the EPMD.
    pub timeout: Duration,
}

impl KeepRegisteredOptions {
    /// Defaults for the EPMD on `port`: embedded fallback on, half a second of grace for a restarted
    /// daemon, attempts every 100 ms.
    pub fn new(port: u16) -> KeepRegisteredOptions {
        KeepRegisteredOptions {
            port,
            embedded: true,
            daemon_grace: Duration::from_millis(500),
            retry_interval: Duration::from_millis(100),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl Default for KeepRegisteredOptions {
    /// Defaults for the EPMD port `ERL_EPMD_PORT` names, or 4369.
    fn default() -> KeepRegisteredOptions {
        KeepRegisteredOptions::new(crate::default_port())
    }
}

/// A current registration, as [`KeepRegistered`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    /// The creation the EPMD handed out; a node uses it in its pids, ports and references.
    pub creation: u32,
    /// Whether the EPMD is this process's embedded server.
    pub embedded: bool,
}

/// A node's registration with the EPMD on its host, kept through EPMD restarts.
///
/// It runs as a task on the tokio runtime that started it. Dropping it unregisters the node.
#[derive(Debug)]
pub struct KeepRegistered {
    state: watch::Receiver<Option<Registered>>,
    task: JoinHandle<()>,
}

impl KeepRegistered {
    /// Registers `node` with the EPMD on `options.port`, starting the embedded server first if nothing
    /// listens there (and `options.embedded` is on). Fails when the registration is refused (the name is
    /// taken) or no EPMD can be had.
    pub async fn start(node: NodeEntry, options: KeepRegisteredOptions) -> Result<KeepRegistered, EmbeddedError> {
        let client = Client::local(options.port).with_timeout(options.timeout);
        let registration = register(&client, &node, &options, options.embedded).await?;
        let registered = registered(&registration, &options);
        info!(name = %node.name, creation = registered.creation, embedded = registered.embedded, "registered with EPMD");
        let (tx, state) = watch::channel(Some(registered));
        let task = tokio::spawn(keep(registration, client, node, options, tx));
        Ok(KeepRegistered { state, task })
    }

    /// The current registration, or `None` while registering again.
    pub fn current(&self) -> Option<Registered> {
        *self.state.borrow()
    }

    /// A receiver that sees every change: `None` when the EPMD connection drops, then the new
    /// registration with its new creation.
    pub fn subscribe(&self) -> watch::Receiver<Option<Registered>> {
        self.state.clone()
    }
}

impl Drop for KeepRegistered {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn registered(registration: &Registration, options: &KeepRegisteredOptions) -> Registered {
    Registered { creation: registration.creation(), embedded: running(options.port).is_some() }
}

/// One attempt: register with whatever EPMD answers; when nothing does and `allow_embedded`, start the
/// embedded server and register with it.
async fn register(
    client: &Client,
    node: &NodeEntry,
    options: &KeepRegisteredOptions,
    allow_embedded: bool,
) -> Result<Registration, EmbeddedError> {
    match client.register(node).await {
        Ok(registration) => return Ok(registration),
        Err(e) if allow_embedded && e.is_connection_refused() => {}
        Err(e) => return Err(e.into()),
    }
    match start(options.port) {
        Ok(_) => {}
        // Another process started an EPMD in the meantime: register with it.
        Err(EmbeddedError::Server(e)) if e.is_addr_in_use() => debug!("the EPMD port was taken meanwhile: {e}"),
        Err(e) => return Err(e),
    }
    Ok(client.register(node).await?)
}

/// Holds the registration; whenever the EPMD connection drops, registers again.
async fn keep(
    mut registration: Registration,
    client: Client,
    node: NodeEntry,
    options: KeepRegisteredOptions,
    state: watch::Sender<Option<Registered>>,
) {
    loop {
        registration.closed().await;
        drop(registration);
        state.send_replace(None);
        warn!(name = %node.name, "lost the EPMD connection; registering again");
        let lost_at = Instant::now();
        // Each kind of failure is logged once as a warning, repeats only at debug level.
        let mut last_error = String::new();
        registration = loop {
            let allow_embedded = options.embedded && lost_at.elapsed() >= options.daemon_grace;
            match register(&client, &node, &options, allow_embedded).await {
                Ok(registration) => break registration,
                Err(e) => {
                    let error = e.to_string();
                    if error == last_error {
                        debug!(name = %node.name, "cannot register again yet: {error}");
                    } else {
                        warn!(name = %node.name, "cannot register again yet: {error}");
                        last_error = error;
                    }
                }
            }
            tokio::time::sleep(options.retry_interval).await;
        };
        let registered = registered(&registration, &options);
        info!(name = %node.name, creation = registered.creation, embedded = registered.embedded, "registered again");
        state.send_replace(Some(registered));
    }
}
