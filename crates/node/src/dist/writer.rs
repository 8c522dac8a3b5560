//! The sending side of a connection: messages are encoded by the process that sends them, into the
//! connection's buffer, and written by the sending thread itself when the socket takes them.
//!
//! A hand-off to another thread for every message would cost a wake-up per message (and a
//! `gen_server:call` two of them each way), so the scheduler thread that runs a sending process writes:
//! the bytes of what a process sends during one poll are written when that poll ends (see
//! [`scheduler::defer`](crate::scheduler)), or as soon as they pass [`FLUSH_AT`], so a burst of sends
//! becomes few large writes. Only when the socket does not take everything does a flusher task on the
//! tokio runtime take over until the buffer is empty; meanwhile senders append, which keeps the order.
//! The flusher also sends a tick when nothing was written for a quarter of `net_ticktime`.
//!
//! A peer that takes less than is sent to it holds up only its own senders: past [`BUSY_LIMIT`] queued
//! bytes, a process that sends to it waits, once its poll ends, until the queue is under the limit again.
//! `send` itself does not wait (it is not async), so a process that sends in a loop without ever
//! awaiting queues everything it sends in that poll before it is held.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use erlnode_dist::DistFlags;
use erlnode_dist::control::Control;
use erlnode_dist::frame::{self, FrameWriter};
use erlnode_etf::Term;
use std::io::Write;

use tokio::io::{AsyncWrite, AsyncWriteExt, Interest};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::scheduler::Gate;

/// Bytes after which a sender writes at once instead of at the end of its poll.
const FLUSH_AT: usize = 64 * 1024;

/// Bytes queued for a peer past which the processes that send to it wait until it takes them: OTP's
/// `dist_buf_busy_limit` default (1 MiB), after which the BEAM suspends senders likewise.
pub(crate) const BUSY_LIMIT: usize = 1 << 20;

/// The largest written buffer kept for reuse (a burst's buffer is freed rather than held).
const SPARE_MAX: usize = 1 << 20;

/// A connection's sending side, shared by every local process that sends to the peer.
#[derive(Debug)]
pub(crate) struct Writer {
    state: Mutex<State>,
    /// Wakes the flusher: bytes it must write, or the end of the connection.
    wake: Notify,
    /// Wakes the connection's reader when the sending side closes (a failed write ends the connection).
    ended: Notify,
    stream: Transport,
    /// Messages pushed so far: the reader gathers a stream only while this node answers nothing.
    pushed: AtomicU64,
    /// Where senders wait while more than [`BUSY_LIMIT`] bytes are queued.
    busy: Arc<Gate>,
    /// The node's count of bytes written.
    io: Arc<super::IoBytes>,
}

/// Where the bytes go.
pub(crate) enum Transport {
    /// A TCP socket (non-blocking), which any thread can write to without waiting, and a second handle
    /// on it that the flusher registers with tokio's reactor only while the socket is full (made once,
    /// so a full socket never needs a new file descriptor).
    Tcp(std::net::TcpStream, Mutex<Option<std::net::TcpStream>>),
    /// Any other stream (TLS): written by the flusher only.
    Stream(tokio::sync::Mutex<Box<dyn AsyncWrite + Send + Unpin>>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Tcp(..) => "Tcp",
            Transport::Stream(_) => "Stream",
        })
    }
}

impl Transport {
    fn try_write(&self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Transport::Tcp(stream, _) => loop {
                match (&*stream).write(bytes) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    written => return written,
                }
            },
            Transport::Stream(_) => Err(std::io::ErrorKind::WouldBlock.into()),
        }
    }
}

#[derive(Debug)]
struct State {
    frames: FrameWriter,
    /// Encoded, not yet written.
    buf: Vec<u8>,
    /// The flusher owns the socket until `buf` is empty.
    flushing: bool,
    /// The schedulers (one bit each) at the end of whose current poll a flush is due: a sender on each
    /// scheduler gets its own, so no sender waits for another scheduler's poll to end.
    deferred: u64,
    /// The buffer the flusher wrote last, kept for reuse.
    spare: Vec<u8>,
    /// Bytes the flusher is writing now.
    in_flight: usize,
    /// The busy gate is closed.
    busy: bool,
    closed: bool,
    last_write: Instant,
}

/// Writes what is buffered, at the end of a poll of scheduler `scheduler` (or when its process waits in a
/// receive).
impl crate::scheduler::Deferred for Writer {
    fn run(&self, scheduler: usize) {
        let mut state = self.lock();
        // `push` defers only on schedulers 0 to 63, which have a bit.
        if let Some(bit) = 1u64.checked_shl(scheduler as u32) {
            state.deferred &= !bit;
        }
        self.flush_locked(&mut state);
    }
}

impl Writer {
    pub(crate) fn new(stream: Transport, flags: DistFlags, io: Arc<super::IoBytes>) -> Arc<Writer> {
        Arc::new(Writer {
            state: Mutex::new(State {
                frames: FrameWriter::new(flags),
                buf: Vec::with_capacity(4096),
                flushing: false,
                deferred: 0,
                spare: Vec::new(),
                in_flight: 0,
                busy: false,
                closed: false,
                last_write: Instant::now(),
            }),
            wake: Notify::new(),
            ended: Notify::new(),
            stream,
            pushed: AtomicU64::new(0),
            busy: Gate::new(),
            io,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encodes a message for the peer; `false` once the connection has closed. Borrowed, since a message
    /// is large to move and the caller keeps it for another connection when this one has closed.
    pub(crate) fn push(self: &Arc<Self>, control: &Control, payload: Option<&Term>) -> bool {
        self.pushed.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        let adapted = adapt(control, payload, state.frames.flags());
        let control = adapted.as_ref().unwrap_or(control);
        // An older form may carry the payload in its control message.
        let payload = payload.filter(|_| control.has_payload());
        let State { frames, buf, .. } = &mut *state;
        if let Err(e) = frames.write_control(control, payload, buf) {
            tracing::warn!(error = %e, ?control, "message to peer cannot be encoded, dropped");
            return true;
        }
        if state.buf.len() + state.in_flight > BUSY_LIMIT {
            // The peer takes less than we send: this sender waits once its poll ends (as a BEAM process
            // waits on a busy distribution port); the others go on.
            state.busy = true;
            self.busy.close();
            crate::scheduler::hold(&self.busy);
        }
        let bit = crate::scheduler::current().filter(|&i| i < 64).map(|i| (i, 1u64 << i));
        match bit {
            _ if state.buf.len() >= FLUSH_AT => self.flush_locked(&mut state),
            Some((_, bit)) if state.deferred & bit != 0 => {}
            Some((_, bit)) => {
                if crate::scheduler::defer(Arc::clone(self) as Arc<dyn crate::scheduler::Deferred>) {
                    state.deferred |= bit;
                } else {
                    self.flush_locked(&mut state);
                }
            }
            // Not on a scheduler (or past the 64th): write now.
            None => self.flush_locked(&mut state),
        }
        true
    }

    /// How many messages local processes have sent to the peer so far.
    pub(crate) fn pushed(&self) -> u64 {
        self.pushed.load(Ordering::Relaxed)
    }

    /// Writes what the TCP socket takes now without waiting, counting it as the node's output.
    fn try_write(&self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.stream.try_write(bytes);
        if let Ok(n) = written {
            self.io.output.fetch_add(n as u64, Ordering::Relaxed);
        }
        written
    }

    /// Writes what the socket takes now; the flusher takes the rest.
    fn flush_locked(&self, state: &mut State) {
        if state.flushing || state.closed || state.buf.is_empty() {
            return;
        }
        match self.try_write(&state.buf) {
            Ok(n) => {
                state.buf.drain(..n);
                state.last_write = Instant::now();
                self.open_if_drained(state);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                tracing::debug!(error = %e, "write to peer failed");
                state.closed = true;
                self.wake.notify_one();
                self.ended.notify_waiters();
                return;
            }
        }
        if !state.buf.is_empty() {
            state.flushing = true;
            self.wake.notify_one();
        }
    }

    /// Lets the waiting senders go on once the queue is under the limit again.
    fn open_if_drained(&self, state: &mut State) {
        if state.busy && state.buf.len() + state.in_flight <= BUSY_LIMIT {
            state.busy = false;
            self.busy.open();
        }
    }

    /// Ends the connection's sending side: later pushes are refused and the flusher stops.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        // The peer sees the end at once, whoever still holds this writer.
        if let Transport::Tcp(stream, _) = &self.stream {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        self.busy.open();
        self.wake.notify_one();
        self.ended.notify_waiters();
    }

    /// Returns once the sending side has closed.
    pub(crate) async fn closed(&self) {
        loop {
            let ended = self.ended.notified();
            if self.lock().closed {
                return;
            }
            ended.await;
        }
    }

    /// Writes all of `bytes`. A TCP socket is registered with tokio's reactor only while it is full
    /// (registered, every packet from the peer would wake the reactor's thread).
    async fn write_all(&self, mut bytes: &[u8]) -> std::io::Result<()> {
        let spare = match &self.stream {
            Transport::Tcp(_, spare) => spare,
            Transport::Stream(stream) => {
                let mut stream = stream.lock().await;
                stream.write_all(bytes).await?;
                self.io.output.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                return stream.flush().await;
            }
        };
        let mut waiter: Option<tokio::net::TcpStream> = None;
        let result = loop {
            if bytes.is_empty() {
                break Ok(());
            }
            match self.try_write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if waiter.is_none() {
                        let handle = spare.lock().unwrap_or_else(PoisonError::into_inner).take();
                        let handle =
                            handle.ok_or_else(|| std::io::Error::other("the writer's socket handle is gone"))?;
                        waiter = Some(tokio::net::TcpStream::from_std(handle)?);
                    }
                    let Some(waiter) = waiter.as_ref() else { continue };
                    if let Err(e) = waiter.writable().await {
                        break Err(e);
                    }
                    // Cleared before the next try: space freed after it sets readiness again.
                    let _ = waiter.try_io(Interest::WRITABLE, || Err::<(), _>(std::io::ErrorKind::WouldBlock.into()));
                }
                Err(e) => break Err(e),
            }
        };
        // Out of the reactor again, kept for the next time the socket is full.
        if let Some(Ok(handle)) = waiter.map(tokio::net::TcpStream::into_std) {
            *spare.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        }
        result
    }

    /// Writes what senders could not, and ticks when idle for `tick`; returns when the connection closes or
    /// a write fails.
    pub(crate) async fn run_flusher(self: Arc<Self>, tick: Duration) -> std::io::Error {
        loop {
            let due = {
                let state = self.lock();
                if state.closed {
                    return std::io::ErrorKind::ConnectionAborted.into();
                }
                state.last_write + tick
            };
            let woken = tokio::time::timeout_at(due, self.wake.notified()).await.is_ok();
            let bytes = {
                let mut state = self.lock();
                if state.closed {
                    return std::io::ErrorKind::ConnectionAborted.into();
                }
                if state.flushing {
                    let spare = std::mem::take(&mut state.spare);
                    let bytes = std::mem::replace(&mut state.buf, spare);
                    state.in_flight = bytes.len();
                    bytes
                } else if !woken && state.buf.is_empty() && state.last_write + tick <= Instant::now() {
                    // Idle for a tick period: a tick, through the same path so it never splits a packet.
                    let mut tick_bytes = Vec::with_capacity(4);
                    frame::tick(&mut tick_bytes);
                    state.flushing = true;
                    tick_bytes
                } else {
                    continue;
                }
            };
            if let Err(e) = self.write_all(&bytes).await {
                self.close();
                return e;
            }
            let mut state = self.lock();
            state.last_write = Instant::now();
            state.in_flight = 0;
            self.open_if_drained(&mut state);
            if bytes.capacity() <= SPARE_MAX {
                let mut bytes = bytes;
                bytes.clear();
                state.spare = bytes;
            }
            if state.buf.is_empty() {
                state.flushing = false;
            } else {
                // More arrived meanwhile: go round again at once.
                self.wake.notify_one();
            }
        }
    }
}

/// The control message in the form the peer understands, when it is not the message's own: the older
/// control messages when the peer lacks `SEND_SENDER`, `EXIT_PAYLOAD` or `UNLINK_ID`. The older exits
/// carry the reason, which was the payload, in the control message.
fn adapt(control: &Control, payload: Option<&Term>, flags: DistFlags) -> Option<Control> {
    if !flags.contains(DistFlags::SEND_SENDER) {
        if let Control::SendSender { to, .. } = *control {
            return Some(Control::Send { to });
        }
    }
    if !flags.contains(DistFlags::EXIT_PAYLOAD) {
        let reason = || payload.cloned().unwrap_or_default();
        match *control {
            Control::PayloadExit { from, to } => return Some(Control::Exit { from, to, reason: reason() }),
            Control::PayloadExit2 { from, to } => return Some(Control::Exit2 { from, to, reason: reason() }),
            Control::PayloadMonitorPExit { from, to, reference } => {
                return Some(Control::MonitorPExit { from, to, reference, reason: reason() });
            }
            _ => {}
        }
    }
    if !flags.contains(DistFlags::UNLINK_ID) {
        if let Control::UnlinkId { from, to, .. } = *control {
            return Some(Control::Unlink { from, to });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use erlnode_dist::frame::FrameReader;
    use erlnode_etf::{Atom, Pid};
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_peer_without_the_newer_ops_gets_their_older_forms() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (socket, _) = listener.accept().unwrap();
        let flags =
            DistFlags::MANDATORY_OTP25 & !(DistFlags::SEND_SENDER | DistFlags::EXIT_PAYLOAD | DistFlags::UNLINK_ID);
        let writer = Writer::new(Transport::Tcp(socket, Mutex::new(None)), flags, Arc::default());
        let (from, to) = (Pid::new(Atom::new("a@h"), 1, 0, 1), Pid::new(Atom::new("b@h"), 2, 0, 1));
        let reason = Term::atom("normal");
        assert!(writer.push(&Control::SendSender { from, to }, Some(&Term::from(1))));
        assert!(writer.push(&Control::PayloadExit { from, to }, Some(&reason)));
        assert!(writer.push(&Control::UnlinkId { id: 7, from, to }, None));
        writer.close();
        let mut wire = Vec::new();
        peer.read_to_end(&mut wire).unwrap();
        let mut buf = bytes::BytesMut::from(&wire[..]);
        let mut reader = FrameReader::new();
        let mut got = Vec::new();
        while let Some(body) = frame::split_packet(&mut buf, usize::MAX).unwrap() {
            if let Some(message) = reader.read(body).unwrap() {
                got.push((Control::from_term(&message.control).unwrap(), message.payload));
            }
        }
        assert_eq!(
            got,
            [
                (Control::Send { to }, Some(Term::from(1))),
                (Control::Exit { from, to, reason }, None),
                (Control::Unlink { from, to }, None),
            ]
        );
    }
}
