//! Reading a TCP connection so that the peer, and this node, spend as little as possible per message.
//!
//! Erlang nodes write most small messages with a system call each. A reader that waits for readiness
//! pays, for each such packet, a wake-up of the I/O thread and then of a scheduler, and the peer pays for
//! waking it: measured here with an `erl` node sending small messages, both sides spent more CPU in the
//! kernel than on the messages. Two things avoid that:
//!
//! - Busy polling. For a short while after data arrived (the node's `busy_poll`) the reader reads the
//!   socket itself whenever its scheduler has nothing else to run, yielding to every other process between
//!   looks, as the BEAM's schedulers busy-wait before they sleep. A request/reply pair then answers with
//!   no wake-up on this side. Only after that quiet time does the reader wait for readiness.
//! - Gathering. When the last read brought several messages and this node sent nothing back meanwhile,
//!   the peer is streaming one way: the reader waits [`GATHER`] before it reads again, so it takes
//!   hundreds of messages at once instead of one per wake-up. A peer that waits for answers is never
//!   delayed, since this node answered it; a read that filled its buffer is followed at once.
//!   With an `erl` node sending integers, this cut the receiving CPU per message about fivefold and let
//!   the sender go about twice as fast (`cargo bench -p erlnode-cli --bench dist_vs_erlang`).

use std::io::{ErrorKind, Read};
use std::os::fd::AsFd;
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::tcp::OwnedReadHalf;
use tokio::time::Instant;

/// The smallest and largest read: reads grow while they fill up, so a burst is taken in few calls, and
/// shrink when they do not, since each read first zeroes what it offers.
const MIN_CHUNK: usize = 4 * 1024;
const MAX_CHUNK: usize = 256 * 1024;

/// How long a one-way stream is left to gather before the next read.
const GATHER: Duration = Duration::from_micros(500);

/// The receiving half of a TCP connection.
pub(crate) struct TcpReader {
    /// For waiting on readiness, and reads that clear a stale readiness.
    half: OwnedReadHalf,
    /// The same socket, read without tokio's readiness (it is non-blocking).
    raw: std::net::TcpStream,
    busy_poll: Duration,
    last_data: Instant,
    chunk: usize,
    /// The last read filled all it was offered.
    full: bool,
}

impl TcpReader {
    /// Reads `half`, polling it directly for `busy_poll` after each arrival.
    pub(crate) fn new(half: OwnedReadHalf, busy_poll: Duration) -> std::io::Result<TcpReader> {
        let raw = std::net::TcpStream::from(half.as_ref().as_fd().try_clone_to_owned()?);
        Ok(TcpReader { half, raw, busy_poll, last_data: Instant::now(), chunk: MIN_CHUNK, full: false })
    }

    /// Appends what arrives to `buf` and returns how much (0 at the end of the stream); fails with
    /// [`ErrorKind::TimedOut`] when nothing arrived for `quiet`.
    pub(crate) async fn read(&mut self, buf: &mut BytesMut, quiet: Duration, stream: bool) -> std::io::Result<usize> {
        // A full read means more is waiting already.
        if stream && !self.full {
            crate::scheduler::delay(GATHER).await;
        }
        loop {
            match self.read_now(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if self.last_data.elapsed() < self.busy_poll {
                tokio::task::yield_now().await;
                continue;
            }
            let ready = tokio::time::timeout_at(self.last_data + quiet, self.half.readable()).await;
            match ready {
                Err(_) => return Err(ErrorKind::TimedOut.into()),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(())) => {}
            }
            // Through tokio, so that readiness is cleared if it was stale.
            match self.half.try_read_buf(buf) {
                Ok(n) => {
                    self.last_data = Instant::now();
                    self.full = false;
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// One non-blocking read straight from the socket.
    fn read_now(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        let start = buf.len();
        buf.resize(start + self.chunk, 0);
        let result = (&self.raw).read(&mut buf[start..]);
        let n = *result.as_ref().unwrap_or(&0);
        buf.truncate(start + n);
        if result.is_ok() {
            self.last_data = Instant::now();
            self.full = n == self.chunk;
            if n == self.chunk {
                self.chunk = (self.chunk * 2).min(MAX_CHUNK);
            } else if n < self.chunk / 4 {
                self.chunk = (self.chunk / 2).max(MIN_CHUNK);
            }
        }
        result
    }
}
