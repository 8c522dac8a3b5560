//! Distribution: this node as a member of an Erlang cluster.
//!
//! [`Node::start`](crate::Node::start) binds a listener, registers the node with EPMD (starting an embedded
//! EPMD when none runs), and accepts connections; a send to a pid, a name or an alias of another node
//! connects to it on first use, as Erlang does (auto-connect). On each connection, local processes encode
//! what they send and their scheduler writes it, many messages per write; a reader task
//! on the schedulers hands each of the peer's messages and signals to the local process it is for (see
//! the `incoming` module). A tick goes out when the connection has been quiet for a quarter of `net_ticktime`; a
//! peer silent for `net_ticktime` is disconnected. With [`TlsOptions`] every connection is TLS.
//!
//! # Connection table
//! One entry per peer node: connecting (with the messages queued meanwhile, sent in order once the
//! handshake is done, dropped if it fails, as Erlang drops sends to an unreachable node), up, or down.
//! Down lasts while the links and monitors of a lost connection get `noconnection`, a walk that takes
//! each process in turn. Meanwhile sends to the peer are dropped and new links, monitors and spawn
//! requests with it fail at once, so none made during the walk can reach the next connection after the
//! walk cut it here; a node that connects meanwhile waits for the walk to end.
//!
//! An initiator whose name compares greater than ours while we connect to it too is answered `nok`;
//! otherwise we answer `ok_simultaneous` and take its connection for ours. A node connecting again while we think the
//! old connection is up is asked `alive`, and the old connection is replaced.

mod connection;
pub(crate) mod incoming;
mod options;
mod tcp_read;
mod tls;
mod writer;

pub(crate) use writer::BUSY_LIMIT;

pub use options::NodeOptions;
pub use tls::{TlsError, TlsOptions};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use erlnode_dist::control::Control;
use erlnode_dist::flags::DistFlags;
use erlnode_dist::handshake::{self, Admission, Local};
use erlnode_epmd::{KeepRegistered, KeepRegisteredOptions, NodeEntry, NodeType};
use erlnode_etf::{Atom, Pid, Term};
use tokio::net::{TcpListener, TcpStream};

use crate::Node;
use crate::hash::BuildNumberHasher;
use connection::Connection;
use tls::Stream;

/// How long a connection may take from TCP connect to the end of the handshake (`net_setuptime`, 7 s).
const SETUP_TIME: Duration = Duration::from_secs(7);

/// Why a distributed node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The name is not a valid node name.
    #[error("invalid node name {0:?}")]
    InvalidName(String),
    /// No cookie was given and `~/.erlang.cookie` has none.
    #[error("no cookie: set one with NodeOptions::cookie or write ~/.erlang.cookie")]
    NoCookie,
    /// The listener could not be bound.
    #[error("cannot listen for distribution connections: {0}")]
    Listen(std::io::Error),
    /// EPMD refused the name or could not be reached.
    #[error("cannot register with EPMD: {0}")]
    Epmd(#[from] erlnode_epmd::EmbeddedError),
    /// erlnode's runtime is shutting down.
    #[error("erlnode's runtime is not running")]
    Runtime,
}

/// One message or signal for a peer, queued while its connection is being made.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) control: Control,
    pub(crate) payload: Option<Term>,
}

/// A live connection's sending side.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) id: u64,
    pub(crate) writer: Arc<writer::Writer>,
    /// What the peer and this node agreed on in the handshake.
    pub(crate) flags: DistFlags,
    /// Closes when the connection's reader has stopped handing out the peer's messages.
    reading: tokio::sync::watch::Receiver<()>,
}

/// An entry of the connection table.
#[derive(Debug)]
enum Slot {
    /// Connecting; what was sent meanwhile.
    Connecting(Vec<Outgoing>),
    /// Up.
    Up(Link),
    /// The connection was lost, and the ties across it are being cut (see the module doc).
    Down,
}

/// The distribution side of a node.
#[derive(Debug)]
pub(crate) struct Distribution {
    pub(crate) local: Local,
    pub(crate) options: NodeOptions,
    cookie: String,
    table: Mutex<HashMap<Atom, Slot, BuildNumberHasher>>,
    /// `monitor_node/2`: who gets `{nodedown, Node}` for which node (once per call, as in Erlang).
    node_monitors: Mutex<HashMap<Atom, Vec<Pid>>>,
    /// `net_kernel:monitor_nodes/1`: who gets every `{nodeup, Node}` and `{nodedown, Node}`.
    node_watchers: Mutex<Vec<Pid>>,
    next_id: AtomicU64,
    /// Notified whenever a connection attempt ends, up or given up, and when a lost connection's walk
    /// ends (for `connect_node` and for a connection waiting to be installed).
    settled: tokio::sync::Notify,
    /// Keeps the node registered; dropping it unregisters.
    _registration: KeepRegistered,
    port: u16,
    /// What the connections read and wrote.
    io: Arc<IoBytes>,
}

/// Bytes that the distribution connections read from and wrote to their sockets after the handshake
/// (over TLS, the bytes of the decrypted stream): what observer shows as the node's I/O, since erlnode has
/// no ports.
#[derive(Debug, Default)]
pub(crate) struct IoBytes {
    /// Bytes read.
    pub(crate) input: AtomicU64,
    /// Bytes written.
    pub(crate) output: AtomicU64,
}

/// Bytes read and written by `node`'s connections so far: `(0, 0)` when it is not distributed.
pub(crate) fn io_bytes(node: &Node) -> (u64, u64) {
    node.distribution().map_or((0, 0), |d| (d.io.input.load(Ordering::Relaxed), d.io.output.load(Ordering::Relaxed)))
}

impl Distribution {
    fn table(&self) -> MutexGuard<'_, HashMap<Atom, Slot, BuildNumberHasher>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The port this node accepts connections on.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The cookie for the connection with `peer`.
    fn cookie_for(&self, peer: &str) -> Vec<u8> {
        self.options.cookie_for(peer, &self.cookie).into_bytes()
    }

    /// The names of the nodes with a connection up, hidden ones included.
    pub(crate) fn connected(&self) -> Vec<Atom> {
        self.table().iter().filter(|(_, slot)| matches!(slot, Slot::Up(_))).map(|(name, _)| *name).collect()
    }
}

/// Starts distribution for a node named by `options` (see [`Node::start`](crate::Node::start)).
pub(crate) async fn start(options: NodeOptions) -> Result<Node, StartError> {
    let name = options.full_name();
    let cookie = options.cookie.clone().or_else(options::home_cookie).ok_or(StartError::NoCookie)?;
    let listener = TcpListener::bind((options.listen_addr, options.listen_port)).await.map_err(StartError::Listen)?;
    let port = listener.local_addr().map_err(StartError::Listen)?.port();
    let mut entry = NodeEntry::new(options.short_name(), port);
    entry.node_type = if options.hidden { NodeType::Hidden } else { NodeType::Normal };
    let mut epmd = KeepRegisteredOptions::new(options.epmd_port);
    epmd.embedded = options.embedded_epmd;
    let registration = KeepRegistered::start(entry, epmd).await?;
    let creation = registration.current().map_or(1, |r| r.creation);
    let node = Node::new(&name, creation).map_err(|_| StartError::InvalidName(name.clone()))?;
    let mut local = Local::new(name.clone(), creation, options.hidden);
    if !options.spawn {
        local.flags = local.flags & !DistFlags::SPAWN;
    }
    let dist = Arc::new(Distribution {
        local,
        options,
        cookie,
        table: Mutex::default(),
        node_monitors: Mutex::default(),
        node_watchers: Mutex::default(),
        next_id: AtomicU64::new(1),
        settled: tokio::sync::Notify::new(),
        _registration: registration,
        port,
        io: Arc::default(),
    });
    node.set_distribution(Arc::clone(&dist));
    tokio::spawn(accept_loop(node.downgrade(), listener));
    crate::services::start(&node);
    tracing::info!(%name, port, creation, "distribution started");
    Ok(node)
}

/// Accepts connections for as long as the node lives.
async fn accept_loop(node: crate::node::WeakNode, listener: TcpListener) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a distribution connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(node) = node.upgrade() else { return };
        tokio::spawn(async move {
            if let Err(e) = accept_one(node, stream).await {
                tracing::warn!(%addr, error = %e, "distribution connection refused");
            }
        });
    }
}

/// The acceptor's handshake on `stream`, then the connection.
async fn accept_one(node: Node, tcp: TcpStream) -> Result<(), handshake::HandshakeError> {
    let Some(dist) = node.distribution() else { return Ok(()) };
    let _ = tcp.set_nodelay(true);
    let mut stream = match &dist.options.tls {
        None => Stream::Tcp(tcp),
        Some(tls) => match tokio::time::timeout(SETUP_TIME, tls.accept(tcp)).await {
            Ok(Ok(stream)) => Stream::Tls(Box::new(stream)),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "TLS handshake with a connecting node failed");
                return Ok(());
            }
            Err(_) => return Ok(()),
        },
    };
    let admit = |peer: &str, _flags| {
        let cookie = dist.cookie_for(peer);
        let Ok(peer_atom) = Atom::try_new(peer) else { return Admission::NotAllowed };
        match dist.table().get(&peer_atom) {
            None => Admission::Accept { cookie, simultaneous: false },
            Some(Slot::Up(_)) => Admission::Alive { cookie },
            // Both sides are connecting: the greater name keeps its own attempt.
            Some(Slot::Connecting(_)) if dist.local.name.as_str() > peer => Admission::Nok,
            Some(Slot::Connecting(_)) => Admission::Accept { cookie, simultaneous: true },
            // Installed once the walk of the lost connection ends.
            Some(Slot::Down) => Admission::Accept { cookie, simultaneous: false },
        }
    };
    let framing = stream.framing();
    let handshake = handshake::accept(&mut stream, framing, &dist.local, admit);
    let established = match tokio::time::timeout(SETUP_TIME, handshake).await {
        Ok(result) => result.inspect_err(log_refusal)?,
        Err(_) => {
            tracing::warn!("distribution handshake timed out");
            return Ok(());
        }
    };
    let peer = Atom::try_new(&established.peer_name)
        .map_err(|_| handshake::HandshakeError::BadName(established.peer_name.clone()))?;
    install(&node, dist, peer, stream, established).await;
    Ok(())
}

/// A cookie mismatch is worth a clear line in the log (as Erlang's "Connection attempt from node ...
/// rejected" is); other refusals are routine.
fn log_refusal(e: &handshake::HandshakeError) {
    if let handshake::HandshakeError::WrongCookie { peer } = e {
        tracing::error!(%peer, "connection attempt rejected: wrong cookie (invalid challenge reply)");
    }
}

/// Puts an established connection in the table and runs it; queued messages go out first. Waits for the
/// walk of a connection to the peer lost just before. A connection it replaces (the peer answered
/// `alive`) is closed, and once its reader has stopped, its ties get `noconnection` while the entry is
/// down. Not to be cancelled: the entry would stay down.
async fn install(
    node: &Node,
    dist: &Arc<Distribution>,
    peer: Atom,
    stream: Stream,
    established: handshake::Established,
) {
    let id = dist.next_id.fetch_add(1, Ordering::Relaxed);
    let (read, write) = match stream.split(dist.options.busy_poll) {
        Ok(halves) => halves,
        Err(e) => {
            // As a failed connect: what was queued is dropped and a later send tries again.
            give_up(node, dist, peer, &format!("its socket cannot be shared: {e}"));
            return;
        }
    };
    let writer = writer::Writer::new(write, established.flags, Arc::clone(&dist.io));
    // The peer came back (`alive` answered true): the old connection goes first, with what hung on it,
    // once its reader has stopped (what it still handed out may have made ties the walk is to cut).
    let old = loop {
        wait_while_down(dist, peer).await;
        let mut table = dist.table();
        match table.get(&peer) {
            // Another walk began meanwhile.
            Some(Slot::Down) => continue,
            Some(Slot::Up(_)) => match table.insert(peer, Slot::Down) {
                Some(Slot::Up(old)) => break Some(old),
                _ => break None,
            },
            _ => break None,
        }
    };
    let replaced = old.is_some();
    if let Some(old) = old {
        old.writer.close();
        tracing::info!(%peer, "connection replaced by a new one from the same node");
        let mut reading = old.reading;
        // `changed` ends when the reader drops its side (it never sends), at its next poll since the
        // writer is closed; a walk before that could miss a tie the reader makes after it.
        if tokio::time::timeout(SETUP_TIME, reading.changed()).await.is_err() {
            tracing::warn!(%peer, "the replaced connection's reader is slow to stop; waiting for it");
            let _ = reading.changed().await;
        }
        incoming::connection_lost(node, peer);
    }
    let (done_reading, reading) = tokio::sync::watch::channel(());
    {
        // Queued messages go out before anything sent after the connection is in the table.
        let mut table = dist.table();
        let link = Link { id, writer: Arc::clone(&writer), flags: established.flags, reading };
        if let Some(Slot::Connecting(queued)) = table.insert(peer, Slot::Up(link)) {
            for out in queued {
                writer.push(&out.control, out.payload.as_ref());
            }
        }
    }
    dist.settled.notify_waiters();
    tracing::info!(%peer, hidden = established.hidden(), "connection up");
    // After the walk, as in Erlang: a process that acts on `nodedown` finds the ties cut and can send.
    if replaced {
        node_event(node, dist, "nodedown", peer, true);
    }
    node_event(node, dist, "nodeup", peer, false);
    let tick = dist.options.net_ticktime / 4;
    crate::scheduler::tokio_handle().spawn(Arc::clone(&writer).run_flusher(tick));
    let connection = Connection::new(node.clone(), Arc::clone(dist), peer, id, established);
    crate::scheduler::spawn(connection.run(read, writer, done_reading));
}

/// Returns once the entry of `peer` is not [`Slot::Down`].
async fn wait_while_down(dist: &Distribution, peer: Atom) {
    let up = |slot: Option<&Slot>| (!matches!(slot, Some(Slot::Down))).then_some(());
    let _ = wait_for(dist, peer, None, up).await;
}

/// Looks at the entry of `peer` each time an attempt or a walk ends, until `look` has an answer, or
/// until `deadline` (`None` then).
async fn wait_for<T>(
    dist: &Distribution,
    peer: Atom,
    deadline: Option<tokio::time::Instant>,
    look: impl Fn(Option<&Slot>) -> Option<T>,
) -> Option<T> {
    loop {
        // Listen before looking, so an end between the two is not missed.
        let settled = dist.settled.notified();
        let mut settled = std::pin::pin!(settled);
        settled.as_mut().enable();
        if let Some(answer) = look(dist.table().get(&peer)) {
            return Some(answer);
        }
        match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, settled).await.ok()?,
            None => settled.await,
        }
    }
}

/// The connection `id` to `peer` has ended: if it is still the current one, every link and monitor across
/// it gets `noconnection`, with the entry down meanwhile, and then node monitors get `nodedown`.
pub(crate) fn lost(node: &Node, dist: &Distribution, peer: Atom, id: u64) {
    {
        let mut table = dist.table();
        if !matches!(table.get(&peer), Some(Slot::Up(link)) if link.id == id) {
            return;
        }
        table.insert(peer, Slot::Down);
    }
    walk_down(node, dist, peer);
    // After the walk, as in Erlang: a send made on `nodedown` connects again.
    node_event(node, dist, "nodedown", peer, true);
}

/// Cuts every tie with `peer`, whose entry is down, then takes the entry out: the next send connects.
fn walk_down(node: &Node, dist: &Distribution, peer: Atom) {
    incoming::connection_lost(node, peer);
    let mut table = dist.table();
    if matches!(table.get(&peer), Some(Slot::Down)) {
        table.remove(&peer);
    }
    drop(table);
    dist.settled.notify_waiters();
}

/// Sends `{Event, Peer}` to the processes monitoring all nodes and, for `nodedown`, to those monitoring
/// `peer` (whose monitors are used up).
fn node_event(node: &Node, dist: &Distribution, event: &str, peer: Atom, down: bool) {
    let message = Term::tuple(vec![Term::atom(event), Term::Atom(peer)]);
    let mut targets: Vec<Pid> = dist.node_watchers.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if down {
        let monitors = dist.node_monitors.lock().unwrap_or_else(PoisonError::into_inner).remove(&peer);
        targets.extend(monitors.unwrap_or_default());
    }
    for pid in targets {
        node.send(pid, message.clone());
    }
}

/// `monitor_node(Node, Flag)` for the local process `pid`: with `on`, `{nodedown, Node}` comes when the
/// connection to `peer` goes down, or at once when it cannot be made; without, one such monitor is
/// removed.
pub(crate) fn monitor_node(node: &Node, pid: Pid, peer: Atom, on: bool) {
    let Some(dist) = node.distribution() else {
        if on {
            node.send(pid, Term::tuple(vec![Term::atom("nodedown"), Term::Atom(peer)]));
        }
        return;
    };
    let mut monitors = dist.node_monitors.lock().unwrap_or_else(PoisonError::into_inner);
    if !on {
        if let Some(list) = monitors.get_mut(&peer) {
            if let Some(at) = list.iter().position(|p| *p == pid) {
                list.remove(at);
            }
        }
        return;
    }
    monitors.entry(peer).or_default().push(pid);
    drop(monitors);
    let connected = matches!(dist.table().get(&peer), Some(Slot::Up(_)));
    if !connected {
        let node = node.clone();
        crate::scheduler::tokio_handle().spawn(async move {
            if !connect_node(&node, peer).await {
                if let Some(dist) = node.distribution() {
                    node_down_monitors(&node, dist, peer);
                }
            }
        });
    }
}

/// Forgets the node monitors of the local process `pid`, which has ended.
pub(crate) fn forget_node_monitors(node: &Node, pid: Pid) {
    let Some(dist) = node.distribution() else { return };
    for list in dist.node_monitors.lock().unwrap_or_else(PoisonError::into_inner).values_mut() {
        list.retain(|p| *p != pid);
    }
    dist.node_watchers.lock().unwrap_or_else(PoisonError::into_inner).retain(|p| *p != pid);
}

/// `net_kernel:monitor_nodes(Flag)` for the local process `pid`.
pub(crate) fn monitor_nodes(node: &Node, pid: Pid, on: bool) {
    let Some(dist) = node.distribution() else { return };
    let mut watchers = dist.node_watchers.lock().unwrap_or_else(PoisonError::into_inner);
    if on {
        watchers.push(pid);
    } else if let Some(at) = watchers.iter().position(|p| *p == pid) {
        watchers.remove(at);
    }
}

/// Queues `control` (and `payload`) for `peer`, connecting first if need be. Dropped, as in Erlang, when
/// this node is not distributed or the peer cannot be reached. `false`: dropped at once, since this node
/// is not distributed or the connection to `peer` was lost and its ties are being cut (a link, monitor or
/// spawn request asked for then is to fail with `noconnection`, see [`crate::process::tie`]). `true`:
/// handed on, which is not delivery: a connection that is closing or cannot be made drops it later, and
/// its walk then cuts any tie it asked for.
pub(crate) fn send(node: &Node, peer: Atom, control: Control, payload: Option<Term>) -> bool {
    let Some(dist) = node.distribution() else {
        tracing::trace!(%peer, "not distributed: signal to another node dropped");
        return false;
    };
    loop {
        let mut table = dist.table();
        match table.get_mut(&peer) {
            Some(Slot::Up(link)) => {
                let (id, writer) = (link.id, Arc::clone(&link.writer));
                // Encoding (and maybe writing) happens outside the table lock.
                drop(table);
                if writer.push(&control, payload.as_ref()) {
                    return true;
                }
                // That connection is ending: its reader takes it out of the table and tells every link
                // and monitor (noconnection); what is sent meanwhile is lost, as in Erlang. Once another
                // connection took its place, go round and use that one.
                if matches!(dist.table().get(&peer), Some(Slot::Up(link)) if link.id == id) {
                    tracing::trace!(%peer, "message to a closing connection dropped");
                    return true;
                }
            }
            Some(Slot::Connecting(queue)) => {
                queue.push(Outgoing { control, payload });
                return true;
            }
            Some(Slot::Down) => {
                tracing::trace!(%peer, "message to a lost connection dropped");
                return false;
            }
            None => {
                table.insert(peer, Slot::Connecting(vec![Outgoing { control, payload }]));
                drop(table);
                spawn_connect(node, dist, peer);
                return true;
            }
        }
    }
}

/// The flags agreed with `peer`, while a connection to it is up.
pub(crate) fn peer_flags(node: &Node, peer: Atom) -> Option<DistFlags> {
    match node.distribution()?.table().get(&peer) {
        Some(Slot::Up(link)) => Some(link.flags),
        _ => None,
    }
}

/// `true` while a connection to `peer` is up and published both ways: the peer is among Erlang's
/// `nodes()`, and takes part in `global`.
pub(crate) fn is_visible(node: &Node, peer: Atom) -> bool {
    peer_flags(node, peer).is_some_and(|flags| flags.contains(DistFlags::PUBLISHED))
}

/// Closes the connection to `peer`, if one is up (`erlang:disconnect_node/1`): its links and monitors fire
/// with `noconnection` and node monitors get `nodedown`, as for any lost connection.
pub(crate) fn disconnect(node: &Node, peer: Atom) -> bool {
    let Some(dist) = node.distribution() else { return false };
    let writer = match dist.table().get(&peer) {
        Some(Slot::Up(link)) => Arc::clone(&link.writer),
        _ => return false,
    };
    writer.close();
    true
}

/// Connects to `peer` without sending anything (`net_kernel:connect_node/1`); `true` once it is up.
pub(crate) async fn connect_node(node: &Node, peer: Atom) -> bool {
    let Some(dist) = node.distribution() else { return false };
    wait_while_down(dist, peer).await;
    {
        let mut table = dist.table();
        match table.get(&peer) {
            Some(Slot::Up(_)) => return true,
            Some(Slot::Connecting(_)) => {}
            // Lost again since: this attempt has failed.
            Some(Slot::Down) => return false,
            None => {
                table.insert(peer, Slot::Connecting(Vec::new()));
                drop(table);
                spawn_connect(node, dist, peer);
            }
        }
    }
    let deadline = tokio::time::Instant::now() + SETUP_TIME + Duration::from_secs(1);
    let settled = |slot: Option<&Slot>| match slot {
        Some(Slot::Up(_)) => Some(true),
        None | Some(Slot::Down) => Some(false),
        Some(Slot::Connecting(_)) => None,
    };
    wait_for(dist, peer, Some(deadline), settled).await.unwrap_or(false)
}

fn spawn_connect(node: &Node, dist: &Arc<Distribution>, peer: Atom) {
    let node = node.clone();
    let dist = Arc::clone(dist);
    crate::scheduler::tokio_handle().spawn(async move {
        match tokio::time::timeout(SETUP_TIME, connect(&dist, peer)).await {
            // Outside the time limit: once it has begun, installing is not to be cut short (it may
            // have taken a replaced connection's entry down for its walk).
            Ok(Ok(Some((stream, established)))) => install(&node, &dist, peer, stream, established).await,
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                log_refusal(&e);
                give_up(&node, &dist, peer, &e.to_string());
            }
            Err(_) => give_up(&node, &dist, peer, "timed out"),
        }
    });
}

/// Drops what was queued for `peer` after a failed attempt, unless another connection took its place.
/// Links and monitors made meanwhile get `noconnection`, and `monitor_node` holders `nodedown`, as in
/// Erlang when a node cannot be reached.
fn give_up(node: &Node, dist: &Distribution, peer: Atom, why: &str) {
    let gave_up = {
        let mut table = dist.table();
        match table.get(&peer) {
            Some(Slot::Connecting(queued)) => {
                tracing::warn!(%peer, dropped = queued.len(), why, "cannot connect");
                table.insert(peer, Slot::Down);
                true
            }
            _ => false,
        }
    };
    if gave_up {
        walk_down(node, dist, peer);
        node_down_monitors(node, dist, peer);
    } else {
        dist.settled.notify_waiters();
    }
}

/// Sends `{nodedown, Peer}` to the holders of `monitor_node` monitors on `peer` (used up).
fn node_down_monitors(node: &Node, dist: &Distribution, peer: Atom) {
    let monitors = dist.node_monitors.lock().unwrap_or_else(PoisonError::into_inner).remove(&peer);
    let message = Term::tuple(vec![Term::atom("nodedown"), Term::Atom(peer)]);
    for pid in monitors.unwrap_or_default() {
        node.send(pid, message.clone());
    }
}

/// Looks `peer` up in its host's EPMD, connects and shakes hands: the connection to install, or `None`
/// when the peer's own attempt became the connection.
async fn connect(
    dist: &Distribution,
    peer: Atom,
) -> Result<Option<(Stream, handshake::Established)>, handshake::HandshakeError> {
    let peer_name = peer.as_str().to_string();
    let (name, host) =
        peer_name.split_once('@').ok_or_else(|| handshake::HandshakeError::BadName(peer_name.clone()))?;
    let epmd = erlnode_epmd::Client::new(resolve(host, dist.options.epmd_port).await?);
    let entry = epmd
        .port_please(name)
        .await
        .map_err(|e| std::io::Error::other(format!("EPMD on {host}: {e}")))?
        .ok_or_else(|| std::io::Error::other(format!("{name} is not registered on {host}")))?;
    let addr = resolve(host, entry.port).await?;
    let tcp = TcpStream::connect(addr).await?;
    let _ = tcp.set_nodelay(true);
    let mut stream = match &dist.options.tls {
        None => Stream::Tcp(tcp),
        Some(tls) => Stream::Tls(Box::new(tls.connect(host, tcp).await?)),
    };
    let framing = stream.framing();
    let version = if entry.high_version >= 6 { handshake::Version::V6 } else { handshake::Version::V5 };
    let cookie = dist.cookie_for(&peer_name);
    // A peer that asks `alive` while its own connection to us is up (it connected meanwhile and we took
    // its attempt) is told this one was a mistake: replacing the live connection would lose what is on it.
    let connected = || matches!(dist.table().get(&peer), Some(Slot::Up(_)));
    let handshake =
        handshake::connect_unless(&mut stream, framing, &dist.local, &peer_name, &cookie, version, connected);
    let established = match handshake.await {
        Ok(established) => established,
        // The peer keeps its own simultaneous attempt, which becomes our connection: wait for it.
        Err(handshake::HandshakeError::Refused(handshake::Status::Nok | handshake::Status::Alive)) => {
            let deadline = tokio::time::Instant::now() + SETUP_TIME;
            while tokio::time::Instant::now() < deadline {
                if matches!(dist.table().get(&peer), Some(Slot::Up(_)) | None) {
                    return Ok(None);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            return Err(handshake::HandshakeError::Refused(handshake::Status::Nok));
        }
        Err(e) => return Err(e),
    };
    Ok(Some((stream, established)))
}

async fn resolve(host: &str, port: u16) -> Result<std::net::SocketAddr, std::io::Error> {
    tokio::net::lookup_host((host, port))
        .await?
        .find(|a| a.is_ipv4())
        .ok_or_else(|| std::io::Error::other(format!("cannot resolve {host}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::rpc::SpawnOptions;
    use erlnode_etf::Ref;

    const WAIT: Duration = Duration::from_secs(5);

    /// A link, monitor or spawn request asked for while a lost connection's ties are being cut fails at
    /// once with `noconnection`: sent on, it would reach the next connection after the walk cut it here.
    #[tokio::test(flavor = "multi_thread")]
    async fn ties_asked_for_while_a_lost_connection_is_cut_fail_at_once() {
        let epmd = erlnode_erltest::node::free_port();
        let options = NodeOptions::new(erlnode_erltest::node::unique("lost")).cookie("c").epmd_port(epmd);
        let node = Node::start(options).await.unwrap();
        let peer = Atom::new("gone@nowhere");
        node.distribution().unwrap().table().insert(peer, Slot::Down);
        let remote = Pid::new(peer, 7, 0, 1);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let pid = node
            .spawn(move |mut p| async move {
                p.trap_exit(true);
                let mut got = Vec::new();
                p.link(remote).unwrap();
                got.push(p.recv_timeout(WAIT).await);
                let by_pid = p.monitor(remote);
                got.push(p.recv_timeout(WAIT).await);
                let by_name = p.monitor((Atom::new("server"), peer));
                got.push(p.recv_timeout(WAIT).await);
                let req_id = p.spawn_request(peer, "m", "f", vec![], SpawnOptions::default());
                got.push(p.recv_timeout(WAIT).await);
                tx.send((got, [by_pid, by_name, req_id])).ok();
                std::future::pending().await
            })
            .unwrap();
        let (got, [by_pid, by_name, req_id]) = tokio::time::timeout(WAIT, rx).await.unwrap().unwrap();
        let t = |text: &str| text.parse::<Term>().unwrap();
        let noconnection = Term::atom("noconnection");
        let down = |r: Ref, object: Term| {
            Term::tuple(vec![Term::atom("DOWN"), Term::Ref(r), Term::atom("process"), object, noconnection.clone()])
        };
        let expected = [
            Term::tuple(vec![Term::atom("EXIT"), Term::Pid(remote), noconnection.clone()]),
            down(by_pid, Term::Pid(remote)),
            down(by_name, t("{server, 'gone@nowhere'}")),
            Term::tuple(vec![Term::atom("spawn_reply"), Term::Ref(req_id), Term::atom("error"), noconnection.clone()]),
        ];
        assert_eq!(got, expected.map(Some));
        // Nothing of them is left on this side, and nothing (a message neither) went towards a connection.
        node.send(remote, Term::atom("dropped"));
        let info = node.process_info(pid).unwrap();
        assert!(info.links.is_empty() && info.monitors.is_empty(), "{info:?}");
        assert!(matches!(node.distribution().unwrap().table().get(&peer), Some(Slot::Down)));
    }
}
