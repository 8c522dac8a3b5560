//! Packets after the handshake: ticks, pass-through frames, the distribution header with its atom cache,
//! and fragments, both ways.
//!
//! Once the handshake is over, each packet on the wire is `Len:32` followed by `Len` bytes of body. An empty
//! body is a tick. Every other body carries one message: a control tuple and, for some ops, a payload term
//! after it. The body takes one of three forms, chosen by the flags both nodes agreed on:
//!
//! - Pass-through, when neither `DIST_HDR_ATOM_CACHE` nor `FRAGMENTS` was agreed:
//!   `112, 131 Ctrl [131 Msg]`, two standalone terms.
//! - The distribution header, otherwise: `131, 68, N, Flags, Refs, Ctrl [Msg]`, the terms without their
//!   131 byte. `N` atom cache references follow the header; an `ATOM_CACHE_REF` (82, `Ix`) in the terms
//!   stands for reference `Ix` of this frame (see [Atom cache](#atom-cache) below).
//! - Fragments, for a large message when `FRAGMENTS` was agreed: a first packet
//!   `131, 69, SeqId:64, FragId:64, N, Flags, Refs, Ctrl, part of Msg` and then
//!   `131, 70, SeqId:64, FragId:64, more of Msg` packets, `FragId` counting down to 1. The header and the
//!   control message are always whole in the first fragment. Fragments of different sequences may interleave,
//!   one sequence's fragments arrive in order.
//!
//! # Atom cache
//! Each direction of a connection keeps a cache of 2048 atoms: 8 segments of 256 entries. `Flags` holds a
//! 4-bit field for each of the `N` references, `NewEntry:1 | Segment:3`, in the low half of a byte for an
//! even reference index and in the high half for an odd one, then one more field whose lowest bit,
//! `LongAtoms`, says that atom lengths take 2 bytes; `Flags` is `N / 2 + 1` bytes (none when `N` is 0). Each
//! reference is then either a new entry, `InternalIx, Len (1 or 2 bytes), UTF-8 text`, which the receiver
//! stores at `Segment * 256 + InternalIx`, or an old one, just `InternalIx`, an entry a previous frame stored.
//!
//! # Types
//! [`FrameReader`] turns packet bodies into [`Message`]s, keeping the receive cache and the partial
//! sequences of one connection; [`FrameWriter`] turns messages into packets, keeping the send cache.
//! [`split_packet`] cuts packets out of a byte stream and [`tick`] writes a tick.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use erlnode_dist::DistFlags;
//! use erlnode_dist::frame::{self, FrameReader, FrameWriter};
//! use erlnode_etf::Term;
//!
//! let flags = DistFlags::DIST_HDR_ATOM_CACHE | DistFlags::FRAGMENTS | DistFlags::UTF8_ATOMS;
//! let mut writer = FrameWriter::new(flags);
//! let mut reader = FrameReader::new();
//! let control: Term = "{6, <a@h.80.0>, '', net_kernel}".parse().unwrap();
//! let payload: Term = "{hello, world}".parse().unwrap();
//!
//! let mut wire = Vec::new();
//! frame::tick(&mut wire);
//! writer.write(&control, Some(&payload), &mut wire).unwrap();
//!
//! let mut stream = BytesMut::from(&wire[..]);
//! let tick = frame::split_packet(&mut stream, 1 << 20).unwrap().unwrap();
//! assert!(tick.is_empty());
//! let body = frame::split_packet(&mut stream, 1 << 20).unwrap().unwrap();
//! let message = reader.read(body).unwrap().unwrap();
//! assert_eq!((message.control, message.payload), (control, Some(payload)));
//! ```

mod atom_cache;
mod fragment;
mod reader;
mod writer;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use erlnode_etf::{AtomError, DecodeError, EncodeError, Term};

pub use reader::{Frame, FrameReader, ReaderLimits};
pub use writer::FrameWriter;

/// True for a control message that may well be the same as the previous one on the connection: a send
/// to a pid or a name (`SEND`, `REG_SEND`, `SEND_SENDER`, and their `_TT` forms), as in a stream from one
/// process to another. Reader and writer keep only these for the next packet; the others (exits, spawn
/// requests, sends to aliases) carry a fresh reference or pid each time, and keeping them would only cost
/// a copy.
fn may_repeat(control: &Term) -> bool {
    use crate::control::op;
    matches!(
        control.as_tuple(),
        Some([Term::Int(tag), ..]) if u8::try_from(*tag).is_ok_and(|tag| matches!(
            tag,
            op::SEND | op::REG_SEND | op::SEND_TT | op::REG_SEND_TT | op::SEND_SENDER | op::SEND_SENDER_TT
        ))
    )
}

/// The first byte of a pass-through body.
pub const PASS_THROUGH: u8 = 112;
/// The version byte that starts a standalone term and a distribution header.
pub const VERSION: u8 = 131;
/// The byte after [`VERSION`] in a distribution header.
pub const DIST_HEADER: u8 = 68;
/// The byte after [`VERSION`] in the header of a sequence's first fragment.
pub const DIST_FRAG_HEADER: u8 = 69;
/// The byte after [`VERSION`] in the header of a sequence's later fragments.
pub const DIST_FRAG_CONT: u8 = 70;

/// The atom cache references one frame may carry (OTP's limit; indexes 0 to 254).
pub const MAX_ATOM_REFS: usize = 255;
/// The longest atom text a new cache entry may carry: 255 characters of up to 4 bytes.
pub const MAX_ATOM_BYTES: usize = 1020;
/// The fragment size OTP uses and [`FrameWriter`] uses by default: 64 KiB.
pub const DEFAULT_MAX_FRAGMENT_SIZE: usize = 64 * 1024;
/// The smallest fragment size [`FrameWriter::with_max_fragment_size`] accepts.
pub const MIN_FRAGMENT_SIZE: usize = 32;

/// One message: a control tuple and, for the ops that have one, the payload term after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The control message (see [`crate::control`]).
    pub control: Term,
    /// The term after the control message, if the frame has one.
    pub payload: Option<Term>,
}

/// Why a packet could not be read or a message could not be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The packet ends in the middle of a fixed part.
    #[error("packet ends inside the {0}")]
    Truncated(&'static str),
    /// The first byte of a packet is neither 112 (pass-through) nor 131 (distribution header).
    #[error("packet starts with {0}, expected 112 (pass-through) or 131 (distribution header)")]
    UnknownPacket(u8),
    /// A distribution header of a kind other than 68, 69 or 70.
    #[error("unknown distribution header kind {0} (expected 68, 69 or 70)")]
    UnknownHeader(u8),
    /// A term of a pass-through packet that does not start with 131.
    #[error("term in a pass-through packet starts with {0}, expected 131")]
    BadVersion(u8),
    /// A header that is not followed by a control message.
    #[error("distribution header without a control message")]
    MissingControl,
    /// An old atom cache reference to an entry no earlier frame stored.
    #[error("atom cache entry {index} of segment {segment} is referenced but was never set")]
    AtomCacheMiss {
        /// The segment, 0 to 7.
        segment: u8,
        /// The index within the segment.
        index: u8,
    },
    /// A new atom cache entry with a text longer than [`MAX_ATOM_BYTES`].
    #[error("atom cache entry text of {0} bytes (at most 1020 are allowed)")]
    AtomTooLong(usize),
    /// A new atom cache entry whose text is not UTF-8.
    #[error("atom cache entry text is not valid UTF-8")]
    AtomNotUtf8,
    /// A new atom cache entry that does not make an atom (too many characters, or the atom table is full).
    #[error("atom cache entry: {0}")]
    Atom(#[from] AtomError),
    /// The control message does not decode.
    #[error("control message: {0}")]
    Control(#[source] DecodeError),
    /// The payload does not decode.
    #[error("payload: {0}")]
    Payload(#[source] DecodeError),
    /// Bytes after the payload.
    #[error("{0} bytes after the payload")]
    TrailingBytes(usize),
    /// A fragment header with fragment id 0 (ids count down to 1).
    #[error("fragment id 0 in sequence {0}")]
    FragmentIdZero(u64),
    /// A first fragment for a sequence that is still being received.
    #[error("sequence {0} started again before it was complete")]
    DuplicateSequence(u64),
    /// A continuation fragment for a sequence that was never started.
    #[error("fragment for unknown sequence {0}")]
    UnknownSequence(u64),
    /// A continuation fragment with another id than the next one expected.
    #[error("sequence {seq} expected fragment {expected}, got {got}")]
    FragmentOutOfOrder {
        /// The sequence id.
        seq: u64,
        /// The fragment id that should have come next.
        expected: u64,
        /// The fragment id that came.
        got: u64,
    },
    /// More sequences in progress at once than [`ReaderLimits::max_sequences`].
    #[error("more than {0} fragmented messages in progress at once")]
    TooManySequences(usize),
    /// More bytes buffered for partial sequences than [`ReaderLimits::max_buffered_bytes`].
    #[error("fragmented messages in progress would buffer more than {0} bytes")]
    BufferLimit(usize),
    /// A packet longer than the limit given to [`split_packet`], or one that a 32-bit length cannot carry.
    #[error("packet of {len} bytes exceeds the limit of {max}")]
    PacketTooLarge {
        /// The packet's length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A term that cannot be encoded.
    #[error("encoding: {0}")]
    Encode(#[from] EncodeError),
}

/// Appends a tick, an empty packet (four zero bytes), to `out`.
pub fn tick(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0; 4]);
}

/// Takes the first complete packet off the front of `buf` and returns its body (empty for a tick), or
/// `None` when `buf` does not hold a whole packet yet. A packet longer than `max_len` is an error, found
/// as soon as its length arrives.
pub fn split_packet(buf: &mut BytesMut, max_len: usize) -> Result<Option<Bytes>, FrameError> {
    let Some(body) = packet_at(buf, 0, max_len)? else {
        return Ok(None);
    };
    buf.advance(body.start);
    Ok(Some(buf.split_to(body.len()).freeze()))
}

/// Where the body of the complete packet that starts at `at` in `data` lies (empty for a tick; the next
/// packet starts at its end), or `None` when `data` does not hold all of it yet. A packet longer than
/// `max_len` is an error, found as soon as its length arrives.
///
/// For a reader that cuts many packets from one buffer: [`Bytes::slice`] on a frozen buffer costs less
/// for each than [`split_packet`].
pub fn packet_at(data: &[u8], at: usize, max_len: usize) -> Result<Option<Range<usize>>, FrameError> {
    let Some(len) = data.get(at..).and_then(<[u8]>::first_chunk::<4>).map(|b| u32::from_be_bytes(*b) as usize) else {
        return Ok(None);
    };
    if len > max_len {
        return Err(FrameError::PacketTooLarge { len: len as u64, max: max_len as u64 });
    }
    let start = at + 4;
    if data.len() - start < len {
        return Ok(None);
    }
    Ok(Some(start..start + len))
}

/// Reads fixed-size fields off the front of a packet, naming the field that is missing when it ends early.
struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(input: &'a [u8]) -> Self {
        Cursor { input, pos: 0 }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
        let bytes = self.input.get(self.pos..).and_then(|rest| rest.get(..n)).ok_or(FrameError::Truncated(what))?;
        self.pos += n;
        Ok(bytes)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, FrameError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, FrameError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, FrameError> {
        let mut word = [0; 8];
        word.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_be_bytes(word))
    }
}
