//! One connection to a peer node, after the handshake: a writer that batches and ticks, and a reader that
//! hands each message to [`incoming`](super::incoming).

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use erlnode_dist::DistFlags;
use erlnode_dist::control::Control;
use erlnode_dist::frame::{self, FrameReader, FrameWriter};
use erlnode_dist::handshake::Established;
use erlnode_etf::{Atom, Term};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::{Distribution, Outgoing, incoming};
use crate::Node;

/// The largest packet accepted from a peer (a fragment, or a whole message when fragments are off).
const MAX_PACKET: usize = 1 << 30;

/// How many queued messages one write may carry at most.
const BATCH: usize = 1024;

/// A connection that has passed the handshake.
pub(crate) struct Connection {
    node: Node,
    dist: Arc<Distribution>,
    peer: Atom,
    id: u64,
    established: Established,
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The peer closed it, or a read or write failed.
    Io(std::io::Error),
    /// Nothing arrived for `net_ticktime`.
    TickTimeout,
    /// The peer sent a packet that cannot be decoded.
    Protocol(String),
    /// This node dropped the connection (replaced, or the node stopped).
    Closed,
}

impl Connection {
    pub(crate) fn new(
        node: Node,
        dist: Arc<Distribution>,
        peer: Atom,
        id: u64,
        established: Established,
    ) -> Connection {
        Connection { node, dist, peer, id, established }
    }

    /// Runs the connection until it ends, then tells every process tied to the peer.
    pub(crate) async fn run(self, stream: TcpStream, rx: mpsc::UnboundedReceiver<Outgoing>) {
        let (read, write) = stream.into_split();
        let ticktime = self.dist.options.net_ticktime;
        let end = tokio::select! {
            end = write_loop(write, rx, FrameWriter::new(self.established.flags), ticktime / 4) => end,
            end = self.read_loop(read, ticktime) => end,
        };
        match &end {
            End::TickTimeout => {
                tracing::warn!(peer = %self.peer, "net_tick_timeout: peer not responding, disconnected")
            }
            End::Protocol(why) => tracing::warn!(peer = %self.peer, why, "bad packet from peer, disconnected"),
            End::Io(e) => tracing::info!(peer = %self.peer, error = %e, "connection closed"),
            End::Closed => tracing::info!(peer = %self.peer, "connection closed by this node"),
        }
        super::remove(&self.node, &self.dist, self.peer, self.id);
        incoming::connection_lost(&self.node, self.peer);
    }

    async fn read_loop(&self, mut read: OwnedReadHalf, ticktime: Duration) -> End {
        let mut reader = FrameReader::new();
        let mut buf = BytesMut::with_capacity(64 * 1024);
        loop {
            loop {
                match frame::split_packet(&mut buf, MAX_PACKET) {
                    Ok(Some(body)) if body.is_empty() => {}
                    Ok(Some(body)) => match reader.read(body) {
                        Ok(Some(message)) => match Control::from_term(&message.control) {
                            Ok(control) => incoming::dispatch(&self.node, self.peer, control, message.payload),
                            Err(e) => return End::Protocol(format!("control message {}: {e}", message.control)),
                        },
                        Ok(None) => {}
                        Err(e) => return End::Protocol(e.to_string()),
                    },
                    Ok(None) => break,
                    Err(e) => return End::Protocol(e.to_string()),
                }
            }
            // Reads grow the buffer with what arrives, never by what a length field claims.
            buf.reserve(64 * 1024);
            match tokio::time::timeout(ticktime, read.read_buf(&mut buf)).await {
                Ok(Ok(0)) => return End::Io(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return End::Io(e),
                Err(_) => return End::TickTimeout,
            }
        }
    }
}

/// Writes what local processes queue, up to [`BATCH`] messages a write, and a tick when idle for `tick`.
async fn write_loop(
    mut write: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    mut writer: FrameWriter,
    tick: Duration,
) -> End {
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        out.clear();
        match tokio::time::timeout(tick, rx.recv()).await {
            Err(_) => frame::tick(&mut out),
            Ok(None) => return End::Closed,
            Ok(Some(first)) => {
                let mut next = Some(first);
                let mut count = 0;
                while let Some(message) = next {
                    let (control, payload) = adapt(message, writer.flags());
                    let control = control.to_term();
                    if let Err(e) = writer.write(&control, payload.as_ref(), &mut out) {
                        tracing::warn!(error = %e, %control, "message to peer cannot be encoded, dropped");
                    }
                    count += 1;
                    next = if count < BATCH { rx.try_recv().ok() } else { None };
                }
            }
        }
        if let Err(e) = write.write_all(&out).await {
            return End::Io(e);
        }
    }
}

/// The form of `message` the peer understands: the older control messages when it lacks `SEND_SENDER`,
/// `EXIT_PAYLOAD` or `UNLINK_ID`.
fn adapt(message: Outgoing, flags: DistFlags) -> (Control, Option<Term>) {
    let Outgoing { control, payload } = message;
    if !flags.contains(DistFlags::SEND_SENDER) {
        if let Control::SendSender { to, .. } = control {
            return (Control::Send { to }, payload);
        }
    }
    if !flags.contains(DistFlags::EXIT_PAYLOAD) {
        let reason = payload.clone().unwrap_or_default();
        match control {
            Control::PayloadExit { from, to } => return (Control::Exit { from, to, reason }, None),
            Control::PayloadExit2 { from, to } => return (Control::Exit2 { from, to, reason }, None),
            Control::PayloadMonitorPExit { from, to, reference } => {
                return (Control::MonitorPExit { from, to, reference, reason }, None);
            }
            _ => {}
        }
    }
    if !flags.contains(DistFlags::UNLINK_ID) {
        if let Control::UnlinkId { from, to, .. } = control {
            return (Control::Unlink { from, to }, None);
        }
    }
    (control, payload)
}
