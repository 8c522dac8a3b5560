//! Reading a TCP connection so that the peer, and this node, spend as little as possible per message.
//!
//! Erlang nodes write most small messages with a system call each. A reader that waits for readiness
//! pays, for each such packet, a wake-up of the I/O thread and then of a scheduler, and the peer pays for
//! waking it: measured here with an `erl` node sending small messages, both sides spent more CPU in the
//! kernel than on the messages. Two things avoid that:
//!
//! - Busy polling. For a short while after data arrived (the node's `busy_poll`) the reader reads the
//!   socket itself whenever its scheduler has nothing else to run, yielding between looks only when
//!   another task waits to run on it (or in any run queue) or the poll deferred work, as the BEAM's
//!   schedulers busy-wait before they sleep. A request/reply pair then answers with no wake-up on this
//!   side. Only after that quiet time does the reader wait for readiness.
//! - Gathering. When the last read brought several messages and this node sent nothing back meanwhile,
//!   the peer is streaming one way: the reader waits [`GATHER`] before it reads again, so it takes
//!   hundreds of messages at once instead of one per wake-up. A peer that waits for answers is never
//!   delayed, since this node answered it; a read that filled its buffer is followed at once.
//!   With an `erl` node sending integers, this cut the receiving CPU per message about fivefold and let
//!   the sender go about twice as fast (`cargo bench -p erlnode-cli --bench dist_vs_erlang`).

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::Interest;
use tokio::time::Instant;

/// The size of a read that does not follow a full one.
const SCRATCH: usize = 16 * 1024;

/// The largest read: reads grow while they fill up, so a burst is taken in few calls.
const MAX_CHUNK: usize = 256 * 1024;

/// How long a one-way stream is left to gather before the next read.
const GATHER: Duration = Duration::from_micros(500);

/// The receiving half of a TCP connection.
pub(crate) struct TcpReader {
    /// The socket (non-blocking), read directly.
    raw: TcpStream,
    /// A second handle on it, registered with tokio's reactor only while the reader waits for readiness:
    /// registered, every packet would wake the I/O thread, even while the reader polls.
    waiter: Waiter,
    busy_poll: Duration,
    last_data: Instant,
    chunk: usize,
    scratch: Box<[u8]>,
    /// The last read filled all it was offered.
    full: bool,
}

/// The reader's handle for waiting on readiness.
enum Waiter {
    Idle(TcpStream),
    Registered(tokio::net::TcpStream),
    /// Only while switching, or after a failed registration.
    Gone,
}

impl TcpReader {
    /// Reads `socket` (non-blocking), polling it directly for `busy_poll` after each arrival.
    pub(crate) fn new(socket: TcpStream, busy_poll: Duration) -> std::io::Result<TcpReader> {
        let waiter = Waiter::Idle(socket.try_clone()?);
        Ok(TcpReader {
            raw: socket,
            waiter,
            busy_poll,
            last_data: Instant::now(),
            chunk: SCRATCH,
            scratch: vec![0; SCRATCH].into_boxed_slice(),
            full: false,
        })
    }

    /// Appends what arrives to `buf` and returns how much (0 at the end of the stream); fails with
    /// [`ErrorKind::TimedOut`] when nothing arrived for `quiet`. `stream`: the peer sends without
    /// waiting for answers, so what it sends may gather first.
    pub(crate) async fn read(&mut self, buf: &mut BytesMut, quiet: Duration, stream: bool) -> std::io::Result<usize> {
        // Polling starts from the last arrival, or from the end of a gathering wait.
        let mut poll_from = self.last_data;
        // A full read means more is waiting already.
        if stream && !self.full {
            // Out of the reactor while the stream gathers: registered, every packet of it would wake the
            // I/O thread for nothing.
            self.unregister();
            crate::scheduler::delay(GATHER).await;
            poll_from = Instant::now();
        }
        loop {
            match self.read_now(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if poll_from.elapsed() < self.busy_poll {
                self.unregister();
                if !crate::scheduler::nothing_else_to_run() {
                    tokio::task::yield_now().await;
                }
                continue;
            }
            let deadline = self.last_data + quiet;
            let waiter = self.register()?;
            match tokio::time::timeout_at(deadline, waiter.readable()).await {
                Err(_) => return Err(ErrorKind::TimedOut.into()),
                Ok(ready) => ready?,
            }
            // Cleared before the read: data that comes after it sets readiness again.
            let _ = waiter.try_io(Interest::READABLE, || Err::<(), _>(ErrorKind::WouldBlock.into()));
        }
    }

    /// Registers the waiting handle with the reactor (once).
    fn register(&mut self) -> std::io::Result<&tokio::net::TcpStream> {
        self.waiter = match std::mem::replace(&mut self.waiter, Waiter::Gone) {
            Waiter::Idle(socket) => Waiter::Registered(tokio::net::TcpStream::from_std(socket)?),
            other => other,
        };
        match &self.waiter {
            Waiter::Registered(socket) => Ok(socket),
            _ => Err(std::io::Error::other("the reader's socket handle is gone")),
        }
    }

    /// Takes the waiting handle out of the reactor while the reader polls.
    fn unregister(&mut self) {
        self.waiter = match std::mem::replace(&mut self.waiter, Waiter::Gone) {
            Waiter::Registered(socket) => match socket.into_std() {
                Ok(socket) => Waiter::Idle(socket),
                Err(_) => Waiter::Gone,
            },
            other => other,
        };
    }

    /// One non-blocking read straight from the socket.
    fn read_now(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        // Only a read that follows a full one is offered more than [`SCRATCH`]: a look that finds little or
        // nothing (most of busy polling) costs nothing more. Reads go through the scratch buffer, zeroed
        // once as it grows, and only what arrived is copied: zeroing the offered space in `buf` for each
        // read cost more than copying what a gathered read brings.
        let offered = if self.full { self.chunk.max(SCRATCH) } else { SCRATCH };
        if self.scratch.len() < offered {
            self.scratch = vec![0; offered].into_boxed_slice();
        }
        let result = (&self.raw).read(&mut self.scratch[..offered]);
        if let Ok(n) = result {
            buf.extend_from_slice(&self.scratch[..n]);
            self.last_data = Instant::now();
            self.full = n == offered;
            if self.full {
                self.chunk = (offered * 2).min(MAX_CHUNK);
            } else if n < self.chunk / 4 {
                self.chunk = (self.chunk / 2).max(SCRATCH);
                // A burst's buffer is not held once the traffic is small again.
                if self.chunk == SCRATCH && self.scratch.len() > SCRATCH {
                    self.scratch = vec![0; SCRATCH].into_boxed_slice();
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn pair() -> (TcpReader, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (socket, _) = listener.accept().unwrap();
        socket.set_nonblocking(true).unwrap();
        (TcpReader::new(socket, Duration::ZERO).unwrap(), peer)
    }

    #[tokio::test]
    async fn a_gathering_stream_is_out_of_the_reactor() {
        let (mut reader, mut peer) = pair();
        let mut buf = BytesMut::new();
        // Nothing comes: the reader waits for readiness, registered.
        let quiet = reader.read(&mut buf, Duration::from_millis(20), false).await;
        assert_eq!(quiet.unwrap_err().kind(), ErrorKind::TimedOut);
        assert!(matches!(reader.waiter, Waiter::Registered(_)));
        peer.write_all(b"hello").unwrap();
        assert_eq!(reader.read(&mut buf, Duration::from_secs(5), false).await.unwrap(), 5);
        // A stream gathers unregistered, so its packets do not wake the I/O thread meanwhile.
        peer.write_all(b" world").unwrap();
        assert_eq!(reader.read(&mut buf, Duration::from_secs(5), true).await.unwrap(), 6);
        assert!(matches!(reader.waiter, Waiter::Idle(_)));
        assert_eq!(&buf[..], b"hello world");
    }
}
