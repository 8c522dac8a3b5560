//! One connection to a peer node, after the handshake: the reader, which hands each message to
//! [`incoming`](super::incoming); the sending side is the [`Writer`].

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use erlnode_dist::control::Control;
use erlnode_dist::frame::{self, Frame, FrameReader};
use erlnode_dist::handshake::Established;
use erlnode_etf::Atom;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The receiving half of a connection's stream.
pub(crate) enum Reader {
    /// Plain TCP, polled directly while traffic is recent.
    Tcp(TcpReader),
    /// Any other stream (TLS).
    Stream(Box<dyn AsyncRead + Send + Unpin>),
}

impl Reader {
    /// Appends what arrives to `buf` (0: the stream ended); [`std::io::ErrorKind::TimedOut`] after `quiet`
    /// with nothing. `stream`: the peer sends without waiting for answers, so what it sends may gather.
    async fn read(&mut self, buf: &mut BytesMut, quiet: Duration, stream: bool) -> std::io::Result<usize> {
        match self {
            Reader::Tcp(tcp) => tcp.read(buf, quiet, stream).await,
            Reader::Stream(stream) => {
                // Reads grow the buffer with what arrives, never by what a length field claims.
                buf.reserve(64 * 1024);
                match tokio::time::timeout(quiet, stream.read_buf(buf)).await {
                    Ok(result) => result,
                    Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
                }
            }
        }
    }
}

use super::Distribution;
use super::incoming::{self, Recipient};
use super::tcp_read::TcpReader;
use super::writer::Writer;
use crate::Node;

/// The largest packet accepted from a peer (a fragment, or a whole message when fragments are off).
const MAX_PACKET: usize = 1 << 30;

/// A read that brought this many messages, with nothing sent back meanwhile, is taken for a one-way
/// stream (see [`TcpReader::read`]).
const STREAM_MESSAGES: usize = 4;

/// Messages handed out before the reader lets other processes of its scheduler run.
const DISPATCH_BUDGET: usize = 1000;

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

    /// Reads until the connection ends, then closes its sending side and tells every process tied to
    /// the peer. Runs on a scheduler, so what it delivers wakes processes there without another hop.
    /// `done_reading` is dropped once no more of the peer's messages will be handed out.
    pub(crate) async fn run(self, read: Reader, writer: Arc<Writer>, done_reading: tokio::sync::watch::Sender<()>) {
        let ticktime = self.dist.options.net_ticktime;
        let end = tokio::select! {
            // In this order: a random one would cost a random number for each poll, and the reader polls
            // often.
            biased;
            end = self.read_loop(read, &writer, ticktime) => end,
            () = writer.closed() => End::Io(std::io::ErrorKind::BrokenPipe.into()),
        };
        drop(done_reading);
        writer.close();
        match &end {
            End::TickTimeout => {
                tracing::warn!(peer = %self.peer, "net_tick_timeout: peer not responding, disconnected")
            }
            End::Protocol(why) => tracing::warn!(peer = %self.peer, why, "bad packet from peer, disconnected"),
            End::Io(e) => tracing::info!(peer = %self.peer, error = %e, "connection closed"),
        }
        // A connection that was replaced has been accounted for already; only the current one's end
        // is the peer's nodedown.
        super::lost(&self.node, &self.dist, self.peer, self.id);
        tracing::debug!(peer = %self.peer, version = ?self.established.version, "connection ended");
    }

    /// Acts on one message: a repeat is a send with the `last` control message again; a send with a
    /// payload is kept in `last`, with where it went, for the repeats that may follow it.
    fn dispatch(&self, frame: Frame, last: &mut Option<(Control, Recipient)>) -> Result<(), String> {
        let (control, payload) = match frame {
            Frame::Repeat(payload) => {
                let Some((control, recipient)) = last else {
                    return Err("a repeated control message, but none came before".into());
                };
                incoming::deliver(&self.node, control, payload, recipient);
                return Ok(());
            }
            Frame::Control(control, payload) => (control, payload),
            Frame::Message(message) => {
                let control = Control::from_term(&message.control)
                    .map_err(|e| format!("control message {}: {e}", message.control))?;
                (control, message.payload)
            }
        };
        match payload {
            Some(payload) if control.is_send() => {
                let (control, recipient) = last.insert((control, Recipient::default()));
                incoming::deliver(&self.node, control, payload, recipient);
            }
            payload => {
                *last = None;
                incoming::dispatch(&self.node, self.peer, control, payload);
            }
        }
        Ok(())
    }

    async fn read_loop(&self, mut read: Reader, writer: &Writer, ticktime: Duration) -> End {
        let mut reader = FrameReader::new();
        let mut buf = BytesMut::with_capacity(64 * 1024);
        // Messages since the last read, and whether this node sent any meanwhile: how the reader tells a
        // one-way stream, worth gathering, from requests that wait for answers.
        let mut packets = 0;
        let mut pushed = writer.pushed();
        // The control message of the last message, when a send, and where it went: for the next one
        // that repeats it byte for byte.
        let mut last = None;
        loop {
            match frame::packet_at(&buf, 0, MAX_PACKET) {
                Ok(None) => {}
                Err(e) => return End::Protocol(e.to_string()),
                Ok(Some(_)) => {
                    // The whole packets that arrived are cut from one frozen buffer: a slice costs a packet
                    // one reference count, where splitting the buffer for each cost several. The start of
                    // a packet still arriving goes back into the buffer, copied once.
                    let data = buf.split().freeze();
                    let mut at = 0;
                    loop {
                        let body = match frame::packet_at(&data, at, MAX_PACKET) {
                            Ok(Some(body)) => body,
                            Ok(None) => break,
                            Err(e) => return End::Protocol(e.to_string()),
                        };
                        at = body.end;
                        if body.is_empty() {
                            continue;
                        }
                        match reader.read_frame(data.slice(body)) {
                            Ok(Some(frame)) => {
                                if let Err(why) = self.dispatch(frame, &mut last) {
                                    return End::Protocol(why);
                                }
                                packets += 1;
                                // A long burst lets the processes it feeds run now and then.
                                if packets % DISPATCH_BUDGET == 0 {
                                    tokio::task::yield_now().await;
                                }
                            }
                            Ok(None) => {}
                            Err(e) => return End::Protocol(e.to_string()),
                        }
                    }
                    buf.extend_from_slice(&data[at..]);
                }
            }
            // What these messages woke runs before the next look at the socket, which would only find it
            // empty before they answer: a request's reply goes out a system call sooner.
            if packets > 0 && !crate::scheduler::nothing_else_to_run() {
                tokio::task::yield_now().await;
            }
            let now_pushed = writer.pushed();
            let stream = packets >= STREAM_MESSAGES && now_pushed == pushed;
            (packets, pushed) = (0, now_pushed);
            match read.read(&mut buf, ticktime, stream).await {
                Ok(0) => return End::Io(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    self.dist.io.input.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return End::TickTimeout,
                Err(e) => return End::Io(e),
            }
        }
    }
}
