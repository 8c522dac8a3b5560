//! The EPMD server: an in-memory registry of nodes behind OTP's protocol.
//!
//! [`Server::bind`] (or [`Server::bind_port`] for every interface) opens the listeners at once, so the
//! ports are known before the server runs; [`Server::run`] serves until a KILL request or
//! [`ServerHandle::shutdown`], and [`Server::spawn`] runs it as a task.
//!
//! What it does is what OTP's epmd does: a registration (ALIVE2) gets a fresh non-zero creation, keeps its
//! connection open and ends the moment that connection closes; a name already registered is refused; KILL
//! is refused while nodes are registered unless [`ServerOptions::relaxed_command_check`] is on, and STOP is
//! refused (the connection closed, no reply) unless it is on. ALIVE2, DUMP, KILL and STOP are accepted only
//! from this host (a loopback address, or the address the connection arrived on); PORT_PLEASE2 and NAMES
//! from anywhere.
//!
//! What a peer sends cannot hurt anyone else: a request with a zero or too large length
//! ([`MAX_REQUEST_LEN`]), an unknown tag, a truncated or malformed body, or anything after the request (a
//! second request, or bytes after a registration) closes that one connection, and the server goes on. A
//! connection must deliver its whole request within [`ServerOptions::read_timeout`], and at most
//! [`ServerOptions::max_pending`] connections may be waiting for their request at once: one more closes the
//! oldest of them. A request takes a client milliseconds, so slow or idle clients, however many, cannot keep
//! others from being served; and no connection buffers more than one request.
//!
//! Where it differs from OTP's epmd: DUMP lists only registered names (OTP also lists recently
//! unregistered ones, which it keeps to reuse creations), and a registration whose name is not UTF-8 closes
//! the connection (OTP replies with a refusal; either way nothing is registered).

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::proto::{
    AliveReply, EXTENDED_CREATION_VERSION, KillReply, ListReply, MAX_EXTRA_LEN, MAX_NAME_CHARS, MAX_REQUEST_LEN,
    NameLine, NodeEntry, PortReply, ProtoError, REFUSED_CREATION, Request, StopReply,
};

/// How long a connection may take to deliver its request unless [`ServerOptions::read_timeout`] says
/// otherwise (OTP's epmd default, `-packet_timeout 60`).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How many connections may wait for their request at once unless [`ServerOptions::max_pending`] says
/// otherwise.
pub const DEFAULT_MAX_PENDING: usize = 1024;

/// The listen backlog of each listener.
const BACKLOG: i32 = 1024;

/// The buffer a request is first read into; larger requests grow it up to their announced length.
const SMALL_REQUEST: usize = 128;

/// How long [`Server::run`] waits for open connections to close after a shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the accept loop pauses after an accept error (for example, out of file descriptors).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// How a [`Server`] behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// How long a connection may take to deliver its whole request, and to take the reply; then it is
    /// closed. Registered nodes' connections are not subject to it once registered.
    pub read_timeout: Duration,
    /// Allow KILL while nodes are registered, and STOP at all (OTP's `-relaxed_command_check`).
    pub relaxed_command_check: bool,
    /// The most connections that may be waiting for their request at once; when one more arrives, the
    /// oldest of them is closed. Registered nodes' connections do not count.
    pub max_pending: usize,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            read_timeout: DEFAULT_READ_TIMEOUT,
            relaxed_command_check: false,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }
}

/// A failure to start a server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listener could not be opened; [`ServerError::is_addr_in_use`] tells whether another process
    /// listens there.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// [`Server::bind`] was given no address.
    #[error("no address to listen on")]
    NoAddress,
    /// A listener could not be handed to the tokio runtime.
    #[error("cannot register a listener with the runtime: {0}")]
    Runtime(#[source] io::Error),
}

impl ServerError {
    /// True when the port is taken: typically another EPMD is already running.
    pub fn is_addr_in_use(&self) -> bool {
        matches!(self, ServerError::Bind { source, .. } if source.kind() == io::ErrorKind::AddrInUse)
    }
}

/// A bound, not yet running, EPMD server.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<std::net::TcpListener>,
    handle: ServerHandle,
}

impl Server {
    /// Listens on every address in `addrs`. Fails if any of them cannot be bound. When the first address
    /// has port 0, the others use the port the first one got.
    pub fn bind(addrs: &[SocketAddr], options: ServerOptions) -> Result<Server, ServerError> {
        let (first, rest) = addrs.split_first().ok_or(ServerError::NoAddress)?;
        let first = listen(*first)?;
        let port = local_addr(&first)?.port();
        let mut listeners = vec![first];
        for addr in rest {
            let addr = if addr.port() == 0 { SocketAddr::new(addr.ip(), port) } else { *addr };
            listeners.push(listen(addr)?);
        }
        Server::from_listeners(listeners, options)
    }

    /// Listens on every interface at `port`, as OTP's epmd does without `-address`: IPv4 always, IPv6
    /// as well where the host has it.
    pub fn bind_port(port: u16, options: ServerOptions) -> Result<Server, ServerError> {
        let v4 = listen(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port))?;
        let port = local_addr(&v4)?.port();
        let mut listeners = vec![v4];
        match listen(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port)) {
            Ok(v6) => listeners.push(v6),
            Err(e) => debug!("not listening on IPv6: {e}"),
        }
        Server::from_listeners(listeners, options)
    }

    fn from_listeners(listeners: Vec<std::net::TcpListener>, options: ServerOptions) -> Result<Server, ServerError> {
        let addrs = listeners.iter().map(local_addr).collect::<Result<Vec<_>, _>>()?;
        let shared = Arc::new(Shared {
            options,
            pending: Mutex::new(BTreeMap::new()),
            registry: Mutex::new(Registry::new()),
            shutdown: watch::Sender::new(false),
            stopped: watch::Sender::new(false),
            next_conn: AtomicU64::new(1),
        });
        Ok(Server { listeners, handle: ServerHandle { shared, addrs } })
    }

    /// The first listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    /// Every listening address.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.handle.local_addrs()
    }

    /// A handle to stop the server and watch it, usable before and after it runs.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Runs the server on the current tokio runtime until a KILL request is granted or
    /// [`ServerHandle::shutdown`] is called, then closes every connection (registered nodes' included) and
    /// returns. Dropping the future has the same effect.
    pub async fn run(self) -> Result<(), ServerError> {
        let shared = self.handle.shared;
        let _stop_on_exit = StopOnDrop(Arc::clone(&shared));
        // Every connection task holds a clone of `alive`; when all are dropped, every connection has closed.
        let (alive, mut all_closed) = mpsc::channel::<()>(1);
        let mut accepting = JoinSet::new();
        for (listener, addr) in self.listeners.into_iter().zip(&self.handle.addrs) {
            let listener = TcpListener::from_std(listener).map_err(ServerError::Runtime)?;
            accepting.spawn(accept_loop(Arc::clone(&shared), listener, addr.port(), alive.clone()));
        }
        drop(alive);
        info!(addrs = ?self.handle.addrs, "epmd listening");
        let mut shutdown = shared.shutdown.subscribe();
        let _ = shutdown.wait_for(|stop| *stop).await;
        accepting.shutdown().await;
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, all_closed.recv()).await;
        info!("epmd stopped");
        Ok(())
    }

    /// Runs the server as a task on the current tokio runtime; the handle stops and watches it.
    pub fn spawn(self) -> ServerHandle {
        let handle = self.handle();
        tokio::spawn(async move {
            if let Err(e) = self.run().await {
                warn!("epmd server failed: {e}");
            }
        });
        handle
    }
}

/// Controls and observes a [`Server`]. Cheap to clone. Dropping it does not stop the server.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
    addrs: Vec<SocketAddr>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle").field("addrs", &self.addrs).field("stopped", &self.is_stopped()).finish()
    }
}

impl ServerHandle {
    /// The first listening address.
    pub fn local_addr(&self) -> SocketAddr {
        // `Server::from_listeners` never builds a handle without addresses.
        self.addrs.first().copied().unwrap_or_else(|| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))
    }

    /// Every listening address.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Asks the server to stop, as a granted KILL does.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }

    /// Completes once [`Server::run`] has returned or been dropped.
    pub async fn stopped(&self) {
        let mut stopped = self.shared.stopped.subscribe();
        let _ = stopped.wait_for(|s| *s).await;
    }

    /// True once [`Server::run`] has returned or been dropped.
    pub fn is_stopped(&self) -> bool {
        *self.shared.stopped.borrow()
    }

    /// The registered names and ports, newest registration first (what NAMES answers).
    pub fn names(&self) -> Vec<NameLine> {
        self.shared
            .registry()
            .newest_first()
            .into_iter()
            .map(|node| NameLine { name: node.node.name.clone(), port: node.node.port })
            .collect()
    }
}

/// State shared by the accept loops and connections.
struct Shared {
    options: ServerOptions,
    registry: Mutex<Registry>,
    /// Set to true to stop the server.
    shutdown: watch::Sender<bool>,
    /// Set to true once the server has stopped.
    stopped: watch::Sender<bool>,
    /// The connections waiting for their request, oldest first, each with the means to close it.
    pending: Mutex<BTreeMap<u64, oneshot::Sender<()>>>,
    next_conn: AtomicU64,
}

impl Shared {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves the registry consistent (every change is one map operation).
        self.registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn pending(&self) -> MutexGuard<'_, BTreeMap<u64, oneshot::Sender<()>>> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a connection to the pending ones, closing the oldest when there are too many; returns the
    /// connection's number and what tells it to close.
    fn add_pending(&self) -> (u64, oneshot::Receiver<()>) {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (evict, evicted) = oneshot::channel();
        let mut pending = self.pending();
        while pending.len() >= self.options.max_pending.max(1) {
            let Some((_, oldest)) = pending.pop_first() else { break };
            let _ = oldest.send(());
        }
        pending.insert(id, evict);
        (id, evicted)
    }
}

/// Marks the server stopped, and stops its connections, however `run` ends.
struct StopOnDrop(Arc<Shared>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.shutdown.send_replace(true);
        // The connections are closing; their registrations end with them.
        self.0.registry().nodes.clear();
        self.0.stopped.send_replace(true);
    }
}

/// The registered nodes.
struct Registry {
    nodes: HashMap<String, Registered>,
    /// The next creation to hand out; never 0.
    next_creation: u32,
    /// Registration order, for listing the newest first as OTP does.
    next_seq: u64,
}

/// One registered node.
struct Registered {
    node: NodeEntry,
    creation: u32,
    seq: u64,
    /// The connection that registered it; only that connection's end unregisters it.
    conn: ConnId,
    /// Closes the registering connection (STOP).
    stop: oneshot::Sender<()>,
}

/// Identifies a connection: a unique number, and what DUMP shows for it (the file descriptor on Unix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ConnId {
    id: u64,
    fd: u64,
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("the name is registered already")]
    NameTaken,
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    NameTooLong,
    #[error("the extra data is longer than {MAX_EXTRA_LEN} bytes")]
    ExtraTooLong,
}

impl Registry {
    fn new() -> Registry {
        // Start somewhere unpredictable, as OTP's epmd does, so a restarted EPMD does not hand out the
        // creations of the one before it.
        let seed = RandomState::new().build_hasher().finish();
        Registry { nodes: HashMap::new(), next_creation: (seed as u32).max(1), next_seq: 0 }
    }

    fn register(&mut self, node: NodeEntry, conn: ConnId, stop: oneshot::Sender<()>) -> Result<u32, Refusal> {
        if node.name.chars().count() > MAX_NAME_CHARS {
            return Err(Refusal::NameTooLong);
        }
        if node.extra.len() > MAX_EXTRA_LEN {
            return Err(Refusal::ExtraTooLong);
        }
        let slot = match self.nodes.entry(node.name.clone()) {
            Entry::Occupied(_) => return Err(Refusal::NameTaken),
            Entry::Vacant(slot) => slot,
        };
        let creation = self.next_creation;
        self.next_creation = match creation.wrapping_add(1) {
            0 => 1,
            next => next,
        };
        self.next_seq += 1;
        slot.insert(Registered { node, creation, seq: self.next_seq, conn, stop });
        Ok(creation)
    }

    /// Removes `name` if `conn` registered it.
    fn unregister(&mut self, name: &str, conn: ConnId) -> Option<Registered> {
        match self.nodes.get(name) {
            Some(registered) if registered.conn == conn => self.nodes.remove(name),
            _ => None,
        }
    }

    fn newest_first(&self) -> Vec<&Registered> {
        let mut nodes: Vec<&Registered> = self.nodes.values().collect();
        nodes.sort_unstable_by_key(|node| std::cmp::Reverse(node.seq));
        nodes
    }
}

/// The creation an old node (highest version below 6) gets: OTP's epmd folds the creation into 1..=3, the
/// range such nodes use.
fn old_creation(creation: u32) -> u16 {
    (creation % 3) as u16 + 1
}

/// Opens a listener the way OTP's epmd does: address reuse on Unix, IPv6 listeners IPv6 only.
fn listen(addr: SocketAddr) -> Result<std::net::TcpListener, ServerError> {
    let open = || -> io::Result<std::net::TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        #[cfg(unix)]
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        socket.set_nonblocking(true)?;
        Ok(socket.into())
    };
    open().map_err(|source| ServerError::Bind { addr, source })
}

fn local_addr(listener: &std::net::TcpListener) -> Result<SocketAddr, ServerError> {
    listener.local_addr().map_err(ServerError::Runtime)
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, port: u16, alive: mpsc::Sender<()>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let (id, evicted) = shared.add_pending();
                let conn = Conn { stream, peer, port, id };
                tokio::spawn(serve(Arc::clone(&shared), conn, evicted, alive.clone()));
            }
            Err(e) => {
                warn!("accept failed: {e}");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
}

/// Why a connection was closed without (or after) a reply, for the log.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("timed out")]
    Timeout,
    #[error("request length {0} out of range 1..={MAX_REQUEST_LEN}")]
    BadLength(usize),
    #[error("more bytes after the request")]
    TrailingBytes,
    #[error("malformed request: {0}")]
    Proto(#[from] ProtoError),
    #[error("{0} request from a non-local address")]
    NotLocal(&'static str),
    #[error("STOP refused: relaxed command checking is off")]
    StopRefused,
    #[error("closed to make room: too many connections waiting for their request")]
    Evicted,
}

/// An accepted connection.
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    /// The port it arrived on (what NAMES and DUMP report).
    port: u16,
    /// Its number, unique within the server.
    id: u64,
}

impl Conn {
    /// OTP's test for commands only this host may give (see [`is_local_peer`]); fails with
    /// [`ConnError::NotLocal`] naming `what`.
    fn require_local(&self, what: &'static str) -> Result<(), ConnError> {
        // The common case, loopback, needs no system call.
        if self.peer.ip().to_canonical().is_loopback() || is_local_peer(self.peer.ip(), self.stream.local_addr()?.ip())
        {
            Ok(())
        } else {
            Err(ConnError::NotLocal(what))
        }
    }
}

/// Serves one connection: one request, then close (ALIVE2: hold until the node's connection ends).
async fn serve(shared: Arc<Shared>, mut conn: Conn, evicted: oneshot::Receiver<()>, _alive: mpsc::Sender<()>) {
    let mut shutdown = shared.shutdown.subscribe();
    let result = tokio::select! {
        result = handle(&shared, &mut conn, evicted) => result,
        _ = shutdown.wait_for(|stop| *stop) => Ok(()),
    };
    if let Err(e) = result {
        debug!(peer = %conn.peer, "closing connection: {e}");
    }
}

async fn handle(shared: &Shared, conn: &mut Conn, evicted: oneshot::Receiver<()>) -> Result<(), ConnError> {
    let timeout = shared.options.read_timeout;
    let read = tokio::select! {
        read = tokio::time::timeout(timeout, read_request(&mut conn.stream)) => {
            read.unwrap_or(Err(ConnError::Timeout))
        }
        // Only this connection removes itself from the pending ones, below: until then, the sender is either
        // there or was taken to close this connection.
        _ = evicted => Err(ConnError::Evicted),
    };
    shared.pending().remove(&conn.id);
    let request = read?;
    let peer = conn.peer;
    let reply = match request {
        Request::Alive2(node) => {
            conn.require_local("ALIVE2")?;
            return hold_registration(shared, conn, node).await;
        }
        Request::PortPlease2 { name } => {
            let reply = match shared.registry().nodes.get(&name) {
                Some(registered) => PortReply::Found(registered.node.clone()),
                None => PortReply::NotFound { result: 1 },
            };
            debug!(%peer, %name, found = matches!(reply, PortReply::Found(_)), "PORT_PLEASE2");
            reply.encode()?
        }
        Request::Names => {
            let registry = shared.registry();
            let nodes = registry.newest_first().into_iter().map(|r| (r.node.name.as_str(), r.node.port));
            ListReply::names(conn.port.into(), nodes).encode()
        }
        Request::Dump => {
            conn.require_local("DUMP")?;
            let registry = shared.registry();
            let nodes = registry.newest_first().into_iter().map(|r| (r.node.name.as_str(), r.node.port, r.conn.fd));
            ListReply::dump(conn.port.into(), nodes).encode()
        }
        Request::Kill => {
            conn.require_local("KILL")?;
            let registered = shared.registry().nodes.len();
            if registered > 0 && !shared.options.relaxed_command_check {
                warn!(%peer, registered, "KILL refused: nodes are registered");
                write_reply(&mut conn.stream, KillReply::Refused.encode(), timeout).await?;
            } else {
                info!(%peer, "KILL: stopping");
                write_reply(&mut conn.stream, KillReply::Killed.encode(), timeout).await?;
                shared.shutdown.send_replace(true);
            }
            return Ok(());
        }
        Request::Stop { name } => {
            conn.require_local("STOP")?;
            if !shared.options.relaxed_command_check {
                warn!(%peer, %name, "STOP refused: relaxed command checking is off");
                return Err(ConnError::StopRefused);
            }
            let removed = shared.registry().nodes.remove(&name);
            let reply = match removed {
                Some(registered) => {
                    info!(%peer, %name, "STOP: unregistered");
                    let _ = registered.stop.send(());
                    StopReply::Stopped
                }
                None => StopReply::NoExist,
            };
            reply.encode().to_vec()
        }
    };
    write_reply(&mut conn.stream, &reply, timeout).await
}

/// Registers `node`, replies, and keeps the registration until the connection ends (EOF, error, any
/// further byte, STOP or shutdown).
async fn hold_registration(shared: &Shared, conn: &mut Conn, node: NodeEntry) -> Result<(), ConnError> {
    let timeout = shared.options.read_timeout;
    let (stream, peer) = (&mut conn.stream, conn.peer);
    let conn = ConnId { id: conn.id, fd: display_fd(stream).unwrap_or(conn.id) };
    let name = node.name.clone();
    let extended = node.high_version >= EXTENDED_CREATION_VERSION;
    let (stop_tx, mut stop_rx) = oneshot::channel();
    let registered = shared.registry().register(node, conn, stop_tx);
    let mut sink = [0u8; 64];
    let creation = match registered {
        Ok(creation) => creation,
        Err(refusal) => {
            warn!(%peer, %name, "registration refused: {refusal}");
            let reply = if extended {
                AliveReply::Extended { result: 1, creation: REFUSED_CREATION.into() }
            } else {
                AliveReply::Old { result: 1, creation: REFUSED_CREATION }
            };
            write_reply(stream, &reply.encode(), timeout).await?;
            // Like OTP's epmd, leave the closing to the client (within the timeout).
            let _ = tokio::time::timeout(timeout, stream.read(&mut sink)).await;
            return Ok(());
        }
    };
    let reply = if extended {
        AliveReply::Extended { result: 0, creation }
    } else {
        AliveReply::Old { result: 0, creation: old_creation(creation) }
    };
    info!(%peer, %name, creation = reply.creation(), "registered");
    let written = write_reply(stream, &reply.encode(), timeout).await;
    if written.is_ok() {
        tokio::select! {
            // EOF, an error, or any byte at all: OTP's epmd treats all of them as the end.
            _ = stream.read(&mut sink) => {}
            _ = &mut stop_rx => {}
        }
    }
    let unregistered = shared.registry().unregister(&name, conn);
    if let Some(Registered { creation, .. }) = unregistered {
        info!(%peer, %name, creation, "unregistered");
    }
    written
}

#[cfg(unix)]
fn display_fd(stream: &TcpStream) -> Option<u64> {
    use std::os::fd::AsRawFd;
    u64::try_from(stream.as_raw_fd()).ok()
}

#[cfg(not(unix))]
fn display_fd(_stream: &TcpStream) -> Option<u64> {
    None
}

/// Reads one request: a 2-byte length in 1..=[`MAX_REQUEST_LEN`], then that many bytes, and nothing more
/// (OTP's epmd also closes a connection that sends more than one request). A small request takes one read.
async fn read_request(stream: &mut TcpStream) -> Result<Request, ConnError> {
    let mut buf = vec![0u8; SMALL_REQUEST];
    let mut filled = 0;
    let end = loop {
        if filled >= 2 {
            let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
            if len == 0 || len > MAX_REQUEST_LEN {
                return Err(ConnError::BadLength(len));
            }
            let end = 2 + len;
            if filled > end {
                return Err(ConnError::TrailingBytes);
            }
            if filled == end {
                break end;
            }
            buf.resize(buf.len().max(end), 0);
        }
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        filled += n;
    };
    Ok(Request::decode(&buf[2..end])?)
}

async fn write_reply(stream: &mut TcpStream, bytes: &[u8], timeout: Duration) -> Result<(), ConnError> {
    tokio::time::timeout(timeout, stream.write_all(bytes)).await.map_err(|_| ConnError::Timeout)??;
    Ok(())
}

/// OTP's rule for commands only this host may give: the peer is a loopback address, or the very address
/// the connection arrived on.
pub fn is_local_peer(peer: IpAddr, local: IpAddr) -> bool {
    let peer = peer.to_canonical();
    peer.is_loopback() || peer == local.to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(id: u64) -> ConnId {
        ConnId { id, fd: id }
    }

    #[test]
    fn creations_are_fresh_and_non_zero_even_across_the_wrap() {
        let mut registry = Registry::new();
        registry.next_creation = u32::MAX;
        let (tx, _rx) = oneshot::channel();
        let first = registry.register(NodeEntry::new("a", 1), conn(1), tx).unwrap();
        assert!(registry.unregister("a", conn(1)).is_some());
        let (tx, _rx) = oneshot::channel();
        let second = registry.register(NodeEntry::new("a", 1), conn(2), tx).unwrap();
        assert_eq!((first, second), (u32::MAX, 1));
    }

    #[test]
    fn taken_and_too_long_names_are_refused() {
        let mut registry = Registry::new();
        let (tx, _rx) = oneshot::channel();
        registry.register(NodeEntry::new("a", 1), conn(1), tx).unwrap();
        let (tx, _rx) = oneshot::channel();
        assert!(matches!(registry.register(NodeEntry::new("a", 2), conn(2), tx), Err(Refusal::NameTaken)));
        let (tx, _rx) = oneshot::channel();
        let long = NodeEntry::new("é".repeat(MAX_NAME_CHARS + 1), 2);
        assert!(matches!(registry.register(long, conn(3), tx), Err(Refusal::NameTooLong)));
        let (tx, _rx) = oneshot::channel();
        assert!(registry.register(NodeEntry::new("😀".repeat(MAX_NAME_CHARS), 2), conn(4), tx).is_ok());
        let (tx, _rx) = oneshot::channel();
        let mut big = NodeEntry::new("big", 2);
        big.extra = vec![1; MAX_EXTRA_LEN + 1];
        assert!(matches!(registry.register(big.clone(), conn(5), tx), Err(Refusal::ExtraTooLong)));
        let (tx, _rx) = oneshot::channel();
        big.extra.pop();
        assert!(registry.register(big, conn(5), tx).is_ok());
    }

    #[test]
    fn only_the_registering_connection_unregisters() {
        let mut registry = Registry::new();
        let (tx, _rx) = oneshot::channel();
        registry.register(NodeEntry::new("a", 1), conn(1), tx).unwrap();
        assert!(registry.unregister("a", conn(2)).is_none());
        assert!(registry.unregister("a", conn(1)).is_some());
    }

    #[test]
    fn old_creations_stay_in_one_to_three() {
        // OTP's epmd answered an old node with 2 when its counter stood at 0x6b06e3e4.
        assert_eq!(old_creation(0x6b06_e3e4), 2);
        assert!((0..1000).map(old_creation).all(|c| (1..=3).contains(&c)));
    }

    #[test]
    fn local_peers() {
        let lo: IpAddr = Ipv4Addr::LOCALHOST.into();
        let here: IpAddr = "10.0.0.5".parse().unwrap();
        let there: IpAddr = "10.0.0.6".parse().unwrap();
        assert!(is_local_peer(lo, here));
        assert!(is_local_peer("127.1.2.3".parse().unwrap(), here));
        assert!(is_local_peer(Ipv6Addr::LOCALHOST.into(), here));
        assert!(is_local_peer("::ffff:127.0.0.1".parse().unwrap(), here));
        assert!(is_local_peer(here, here));
        assert!(is_local_peer("::ffff:10.0.0.5".parse().unwrap(), here));
        assert!(!is_local_peer(there, here));
    }
}
