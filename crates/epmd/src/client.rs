//! The async EPMD client: register a node, look nodes up, list names, and the operator commands.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::proto::{AliveReply, KillReply, ListReply, NameLine, NodeEntry, PortReply, ProtoError, Request, StopReply};

/// How long one exchange with EPMD may take unless [`Client::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes a client reads in reply to one request; an EPMD sending more is treated as broken.
pub const MAX_REPLY_LEN: usize = 4 << 20;

/// A failure to talk to EPMD.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection could be made; [`ClientError::is_connection_refused`] tells whether nothing listens.
    #[error("cannot connect to EPMD at {addr}: {source}")]
    Connect {
        /// The EPMD address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// Reading or writing failed after the connection was made.
    #[error("EPMD at {addr}: {source}")]
    Io {
        /// The EPMD address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The exchange took longer than the client's timeout.
    #[error("EPMD at {addr} did not answer within {timeout:?}")]
    Timeout {
        /// The EPMD address.
        addr: SocketAddr,
        /// The timeout.
        timeout: Duration,
    },
    /// The EPMD closed the connection before a whole reply arrived (OTP's epmd does this for a STOP
    /// request unless it runs with relaxed command checking).
    #[error("EPMD at {addr} closed the connection without a complete reply")]
    Closed {
        /// The EPMD address.
        addr: SocketAddr,
    },
    /// The reply was not what the protocol allows.
    #[error("EPMD at {addr} sent a bad reply: {source}")]
    Proto {
        /// The EPMD address.
        addr: SocketAddr,
        /// What was wrong.
        source: ProtoError,
    },
    /// The reply was longer than [`MAX_REPLY_LEN`].
    #[error("EPMD at {addr} sent more than {MAX_REPLY_LEN} bytes")]
    ReplyTooLarge {
        /// The EPMD address.
        addr: SocketAddr,
    },
    /// The request could not be encoded (a name or extra data too long for the protocol).
    #[error("cannot encode the request: {0}")]
    Request(#[source] ProtoError),
    /// The EPMD refused the registration: the name is in use, or too long.
    #[error("EPMD at {addr} refused to register {name:?} (result {result}): the name is taken or not acceptable")]
    Refused {
        /// The EPMD address.
        addr: SocketAddr,
        /// The node name.
        name: String,
        /// The non-zero result code.
        result: u8,
    },
}

impl ClientError {
    /// True when the connection was refused: nothing listens on the EPMD port.
    pub fn is_connection_refused(&self) -> bool {
        matches!(self, ClientError::Connect { source, .. } if source.kind() == io::ErrorKind::ConnectionRefused)
    }
}

/// A client for one EPMD address. Cheap to clone; every call opens its own connection, as the protocol
/// expects.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    timeout: Duration,
}

impl Client {
    /// A client for the EPMD at `addr`.
    pub fn new(addr: impl Into<SocketAddr>) -> Client {
        Client { addr: addr.into(), timeout: DEFAULT_TIMEOUT }
    }

    /// A client for the EPMD on this host (127.0.0.1) at `port`.
    pub fn local(port: u16) -> Client {
        Client::new((Ipv4Addr::LOCALHOST, port))
    }

    /// The same client with another timeout for each exchange (connect, request and reply together).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    /// The EPMD address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Registers `node`. The returned [`Registration`] owns the connection: the node stays registered
    /// until it is dropped or the EPMD goes away. EPMD accepts registrations only from its own host.
    pub async fn register(&self, node: &NodeEntry) -> Result<Registration, ClientError> {
        let frame = Request::Alive2(node.clone()).encode().map_err(ClientError::Request)?;
        let addr = self.addr;
        let (stream, reply) = self
            .bounded(async {
                let mut stream = self.connect().await?;
                stream.write_all(&frame).await.map_err(|source| ClientError::Io { addr, source })?;
                let mut buf = Vec::with_capacity(8);
                loop {
                    match AliveReply::decode(&buf) {
                        Ok((reply, _)) => return Ok((stream, reply)),
                        Err(ProtoError::Truncated) => {}
                        Err(source) => return Err(ClientError::Proto { addr, source }),
                    }
                    if read_some(&mut stream, &mut buf, addr).await? == 0 {
                        return Err(ClientError::Closed { addr });
                    }
                }
            })
            .await?;
        if reply.result() != 0 {
            return Err(ClientError::Refused { addr, name: node.name.clone(), result: reply.result() });
        }
        Ok(Registration { stream, node: node.clone(), creation: reply.creation(), epmd: addr })
    }

    /// Looks up the node `name` (the part before `@`): its port, type, protocol, versions and extra data,
    /// or `None` when it is not registered.
    pub async fn port_please(&self, name: &str) -> Result<Option<NodeEntry>, ClientError> {
        let bytes = self.raw_request(&Request::PortPlease2 { name: name.to_owned() }).await?;
        self.decode(PortReply::decode(&bytes)).map(PortReply::into_entry)
    }

    /// The registered names and ports (NAMES), newest registration first when the EPMD is OTP's or ours.
    pub async fn names(&self) -> Result<Vec<NameLine>, ClientError> {
        let reply = self.list(Request::Names).await?;
        self.decode(reply.name_lines())
    }

    /// The DUMP text: every registered name with its port and file descriptor (or connection number).
    pub async fn dump(&self) -> Result<ListReply, ClientError> {
        self.list(Request::Dump).await
    }

    /// Asks the EPMD to stop (KILL). It refuses while nodes are registered, unless it runs with relaxed
    /// command checking.
    pub async fn kill(&self) -> Result<KillReply, ClientError> {
        let bytes = self.raw_request(&Request::Kill).await?;
        self.decode(KillReply::decode(&bytes))
    }

    /// Forcibly unregisters `name` (STOP). EPMD allows it only with relaxed command checking; otherwise it
    /// closes the connection without a reply, which is [`ClientError::Closed`].
    pub async fn stop(&self, name: &str) -> Result<StopReply, ClientError> {
        let bytes = self.raw_request(&Request::Stop { name: name.to_owned() }).await?;
        self.decode(StopReply::decode(&bytes))
    }

    /// Sends one request and returns every byte the EPMD sent until it closed the connection (at most
    /// [`MAX_REPLY_LEN`]). The `epmd` binary uses this to print replies exactly as OTP's does.
    pub async fn raw_request(&self, request: &Request) -> Result<Vec<u8>, ClientError> {
        let frame = request.encode().map_err(ClientError::Request)?;
        let addr = self.addr;
        self.bounded(async {
            let mut stream = self.connect().await?;
            stream.write_all(&frame).await.map_err(|source| ClientError::Io { addr, source })?;
            let mut buf = Vec::new();
            while read_some(&mut stream, &mut buf, addr).await? != 0 {}
            Ok(buf)
        })
        .await
    }

    async fn list(&self, request: Request) -> Result<ListReply, ClientError> {
        let bytes = self.raw_request(&request).await?;
        self.decode(ListReply::decode(&bytes))
    }

    /// Maps a decode result of a complete reply: a truncated one means the EPMD closed early.
    fn decode<T>(&self, result: Result<T, ProtoError>) -> Result<T, ClientError> {
        result.map_err(|source| match source {
            ProtoError::Truncated => ClientError::Closed { addr: self.addr },
            source => ClientError::Proto { addr: self.addr, source },
        })
    }

    async fn connect(&self) -> Result<TcpStream, ClientError> {
        TcpStream::connect(self.addr).await.map_err(|source| ClientError::Connect { addr: self.addr, source })
    }

    async fn bounded<T>(&self, work: impl Future<Output = Result<T, ClientError>>) -> Result<T, ClientError> {
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or(Err(ClientError::Timeout { addr: self.addr, timeout: self.timeout }))
    }
}

/// Reads once, appending to `buf`; returns how many bytes came (0 at end of stream).
async fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>, addr: SocketAddr) -> Result<usize, ClientError> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await.map_err(|source| ClientError::Io { addr, source })?;
    if buf.len() + n > MAX_REPLY_LEN {
        return Err(ClientError::ReplyTooLarge { addr });
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// A registered node. It owns the connection to EPMD: dropping it unregisters the node, and
/// [`Registration::closed`] tells when the EPMD has gone away.
#[derive(Debug)]
pub struct Registration {
    stream: TcpStream,
    node: NodeEntry,
    creation: u32,
    epmd: SocketAddr,
}

impl Registration {
    /// The creation the EPMD handed out; it changes with every registration.
    pub fn creation(&self) -> u32 {
        self.creation
    }

    /// What was registered.
    pub fn node(&self) -> &NodeEntry {
        &self.node
    }

    /// The EPMD address.
    pub fn epmd_addr(&self) -> SocketAddr {
        self.epmd
    }

    /// Completes when the EPMD closes the connection (it stopped, died, or unregistered the name on a STOP
    /// request). Cancel-safe: dropping the future loses nothing.
    pub async fn closed(&mut self) {
        let mut sink = [0u8; 64];
        loop {
            match self.stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                // EPMD sends nothing after its reply; anything else is ignored.
                Ok(_) => continue,
            }
        }
    }

    /// Unregisters the node by closing the connection (the same as dropping the registration).
    pub fn unregister(self) {}
}
