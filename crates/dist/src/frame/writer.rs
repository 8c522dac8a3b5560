//! Writing messages as packets.
//!
//! A [`FrameWriter`] writes what this node sends on one connection, in the form the agreed flags call for:
//!
//! - neither `DIST_HDR_ATOM_CACHE` nor `FRAGMENTS`: pass-through, `112, 131 Ctrl [131 Msg]`;
//! - otherwise the distribution header, `131, 68, N, Flags, Refs, Ctrl [Msg]` (OTP closes a connection on
//!   which either flag was agreed and a pass-through packet arrives). With `DIST_HDR_ATOM_CACHE` the atoms of
//!   the message become atom cache references (up to 255 a frame, the rest inline); with `FRAGMENTS` alone
//!   `N` is 0;
//! - with `FRAGMENTS`, a frame larger than the maximum fragment size is split: a first fragment
//!   `131, 69, SeqId, FragId, N, Flags, Refs, Ctrl` and the start of the payload, then
//!   `131, 70, SeqId, FragId` packets with the rest, `FragId` counting down to 1.
//!
//! Each packet goes out with its 4-byte length. A message is encoded in full before anything is appended
//! or the cache changes, so an error leaves the output and the atom cache as they were (the writer only
//! forgets the header it kept for repeats).

use std::fmt;

use erlnode_etf::{Encoder, Term};

use super::atom_cache::WriteCache;
use super::{
    DEFAULT_MAX_FRAGMENT_SIZE, DIST_FRAG_CONT, DIST_FRAG_HEADER, DIST_HEADER, FrameError, MAX_ATOM_BYTES,
    MAX_ATOM_REFS, MIN_FRAGMENT_SIZE, PASS_THROUGH, VERSION,
};
use crate::DistFlags;
use crate::control::Control;

/// The bytes a fragment header adds to a distribution header: sequence id and fragment id.
const FRAGMENT_IDS: usize = 16;

/// `131, 70, SeqId, FragId`.
const CONT_HEADER: usize = 2 + FRAGMENT_IDS;

/// The largest atom cache part of a header: count, flags, and 255 new entries of the longest text.
const MAX_REFS_LEN: usize = 1 + (MAX_ATOM_REFS / 2 + 1) + MAX_ATOM_REFS * (1 + 2 + MAX_ATOM_BYTES);

/// The scratch buffer capacity kept between messages.
const KEEP_SCRATCH: usize = 1 << 20;

/// Writes messages to one peer as packets.
///
/// Atoms in terms use the UTF-8 tags when `UTF8_ATOMS` was agreed (as it always is with a peer that OTP 25
/// or erlnode accepts), else `term_to_binary/1`'s; new atom cache entries always carry UTF-8 text.
pub struct FrameWriter {
    flags: DistFlags,
    max_fragment_size: usize,
    next_seq: u64,
    cache: WriteCache,
    /// The encoded control message and payload of the message being written.
    scratch: Vec<u8>,
    /// The atom cache part of its header.
    refs: Vec<u8>,
    /// The last message's control message and the bytes it made, when they can be written again.
    last: Option<Last>,
    /// How many messages used a kept control message's bytes (for tests).
    #[cfg(test)]
    kept_writes: u64,
}

/// A message's control message and its packet up to the end of it (`131, 68, Refs, Ctrl`), kept so that
/// a stream of messages with the same control message (one process sending to one name, a caller to its
/// server) encodes it once. Kept only from a packet whose header set no cache entry, and used while no
/// entry has been set since: the peer then reads its references as the same atoms. The payload of such a
/// message writes its atoms in full, since the header's references are fixed.
struct Last {
    /// The control message, as it was given: a term to [`FrameWriter::write`], a [`Control`] to
    /// [`FrameWriter::write_control`]. The next message of the same call is compared with it.
    control: Kept,
    prefix: Vec<u8>,
    changes: u64,
}

/// The control message of [`Last`].
enum Kept {
    Term(Term),
    Control(Control),
}

/// Control messages (with their header) longer than this are not kept.
const LAST_MAX: usize = 256;

impl fmt::Debug for FrameWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameWriter")
            .field("flags", &self.flags)
            .field("max_fragment_size", &self.max_fragment_size)
            .finish_non_exhaustive()
    }
}

impl FrameWriter {
    /// A writer for a connection with the agreed `flags`, with an empty atom cache and fragments of up to
    /// [`DEFAULT_MAX_FRAGMENT_SIZE`] bytes.
    pub fn new(flags: DistFlags) -> Self {
        FrameWriter {
            flags,
            max_fragment_size: DEFAULT_MAX_FRAGMENT_SIZE,
            next_seq: 1,
            cache: WriteCache::new(),
            scratch: Vec::new(),
            refs: Vec::new(),
            last: None,
            #[cfg(test)]
            kept_writes: 0,
        }
    }

    /// Sets the largest packet body a fragment may have, headers included, from [`MIN_FRAGMENT_SIZE`] to
    /// `u32::MAX` (values outside are moved into that range). A first fragment is larger when its header
    /// and control message alone are. Only used when `FRAGMENTS` was agreed.
    pub fn with_max_fragment_size(mut self, size: usize) -> Self {
        self.max_fragment_size = size.clamp(MIN_FRAGMENT_SIZE, u32::MAX as usize);
        self
    }

    /// The largest fragment this writer makes.
    pub fn max_fragment_size(&self) -> usize {
        self.max_fragment_size
    }

    /// How many atom cache entries this writer has set (for tests).
    #[cfg(test)]
    pub(crate) fn cache_changes(&self) -> u64 {
        self.cache.changes()
    }

    /// How many messages used the bytes of the last one's header and control message (for tests).
    #[cfg(test)]
    pub(crate) fn kept_writes(&self) -> u64 {
        self.kept_writes
    }

    /// The flags this writer writes for.
    pub fn flags(&self) -> DistFlags {
        self.flags
    }

    /// Appends the packets of one message, `control` and its `payload` if it has one, to `out`: one packet,
    /// or several fragments when the message is large and `FRAGMENTS` was agreed. On error nothing is
    /// appended.
    pub fn write(&mut self, control: &Term, payload: Option<&Term>, out: &mut Vec<u8>) -> Result<(), FrameError> {
        self.write_either(Ctrl::Term(control), payload, out)
    }

    /// As [`FrameWriter::write`] with `control.to_term()`, without making the term. The bytes are the same.
    pub fn write_control(
        &mut self,
        control: &Control,
        payload: Option<&Term>,
        out: &mut Vec<u8>,
    ) -> Result<(), FrameError> {
        self.write_either(Ctrl::Control(control), payload, out)
    }

    fn write_either(&mut self, control: Ctrl<'_>, payload: Option<&Term>, out: &mut Vec<u8>) -> Result<(), FrameError> {
        let result = self.write_message(control, payload, out);
        if result.is_err() {
            // Only the last message written may be repeated.
            self.last = None;
        }
        // One huge message should not pin its size in memory for the life of the connection.
        self.scratch.clear();
        self.scratch.shrink_to(KEEP_SCRATCH);
        result
    }

    /// Appends a message with the kept header and control message of [`Last`] and `payload`, if there is
    /// one that the peer still reads as written and the packet needs no fragments.
    fn write_kept(&mut self, payload: &Term, out: &mut Vec<u8>) -> Result<bool, FrameError> {
        let Some(last) = self.last.as_ref().filter(|last| last.changes == self.cache.changes()) else {
            return Ok(false);
        };
        // Encoded in place after the kept bytes, its length filled in after: each message of a stream is
        // copied once. On an error or a payload too big for one packet, `out` is cut back.
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&last.prefix);
        let encoded = Encoder::new().utf8_atoms(self.flags.contains(DistFlags::UTF8_ATOMS)).encode_body(payload, out);
        let body_len = out.len() - start - 4;
        if let Err(e) = encoded {
            out.truncate(start);
            return Err(e.into());
        }
        if body_len > self.max_fragment_size.min(u32::MAX as usize) {
            out.truncate(start);
            return Ok(false);
        }
        out[start..start + 4].copy_from_slice(&(body_len as u32).to_be_bytes());
        #[cfg(test)]
        {
            self.kept_writes += 1;
        }
        Ok(true)
    }

    fn write_message(
        &mut self,
        control: Ctrl<'_>,
        payload: Option<&Term>,
        out: &mut Vec<u8>,
    ) -> Result<(), FrameError> {
        let utf8 = self.flags.contains(DistFlags::UTF8_ATOMS);
        if !self.flags.contains(DistFlags::DIST_HDR_ATOM_CACHE) && !self.flags.contains(DistFlags::FRAGMENTS) {
            return pass_through(utf8, control, payload, out);
        }
        let with_cache = self.flags.contains(DistFlags::DIST_HDR_ATOM_CACHE);
        if let Some(payload) = payload {
            // A stream repeats its control message: its bytes are used again.
            if self.last.as_ref().is_some_and(|last| control.is(&last.control)) && self.write_kept(payload, out)? {
                return Ok(());
            }
        }
        self.cache.begin_frame();
        self.scratch.clear();
        let changes = self.cache.changes();
        let control_len = {
            let mut encoder = Encoder::new().utf8_atoms(utf8);
            if with_cache {
                encoder = encoder.atom_cache(&mut self.cache);
            }
            control.encode(&mut encoder, &mut self.scratch)?;
            let control_len = self.scratch.len();
            if let Some(payload) = payload {
                encoder.encode_body(payload, &mut self.scratch)?;
            }
            control_len
        };
        let fragments = self.flags.contains(DistFlags::FRAGMENTS);
        let whole = 2 + MAX_REFS_LEN + self.scratch.len();
        if (!fragments && whole > u32::MAX as usize) || CONT_HEADER + MAX_REFS_LEN + control_len > u32::MAX as usize {
            return Err(FrameError::PacketTooLarge { len: whole as u64, max: u64::from(u32::MAX) });
        }
        self.refs.clear();
        self.cache.write_refs(&mut self.refs);

        let body_len = 2 + self.refs.len() + self.scratch.len();
        let max = self.max_fragment_size;
        // The first fragment: header, control message, and as much payload as fits.
        let first_fixed = 2 + FRAGMENT_IDS + self.refs.len() + control_len;
        let first_payload = max.saturating_sub(first_fixed).min(self.scratch.len() - control_len);
        let rest = self.scratch.len() - control_len - first_payload;
        let per_fragment = max - CONT_HEADER;
        if !fragments || body_len <= max || rest == 0 {
            out.reserve(4 + body_len);
            out.extend_from_slice(&(body_len as u32).to_be_bytes());
            let start = out.len();
            out.extend_from_slice(&[VERSION, DIST_HEADER]);
            out.extend_from_slice(&self.refs);
            out.extend_from_slice(&self.scratch);
            let prefix_len = 2 + self.refs.len() + control_len;
            let keep = with_cache
                && payload.is_some()
                && changes == self.cache.changes()
                && prefix_len <= LAST_MAX
                && control.may_repeat();
            // Updated in place: a `Last` is large to move.
            match &mut self.last {
                Some(last) if keep => {
                    last.control = control.kept();
                    last.prefix.clear();
                    last.prefix.extend_from_slice(&out[start..start + prefix_len]);
                    last.changes = changes;
                }
                None if keep => {
                    self.last =
                        Some(Last { control: control.kept(), prefix: out[start..start + prefix_len].to_vec(), changes })
                }
                _ => self.last = None,
            }
            return Ok(());
        }
        self.last = None;
        let count = 1 + rest.div_ceil(per_fragment);
        let seq = self.next_seq;
        self.next_seq = self.next_seq.checked_add(1).unwrap_or(1);
        out.reserve(4 * count + body_len + FRAGMENT_IDS + (count - 1) * CONT_HEADER);

        let (first, mut left) = self.scratch.split_at(control_len + first_payload);
        out.extend_from_slice(&((first_fixed + first_payload) as u32).to_be_bytes());
        out.extend_from_slice(&[VERSION, DIST_FRAG_HEADER]);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&(count as u64).to_be_bytes());
        out.extend_from_slice(&self.refs);
        out.extend_from_slice(first);
        for frag_id in (1..count).rev() {
            let (part, after) = left.split_at(left.len().min(per_fragment));
            left = after;
            out.extend_from_slice(&((CONT_HEADER + part.len()) as u32).to_be_bytes());
            out.extend_from_slice(&[VERSION, DIST_FRAG_CONT]);
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&(frag_id as u64).to_be_bytes());
            out.extend_from_slice(part);
        }
        Ok(())
    }
}

/// A control message to write: a term, or a [`Control`] written without making its term.
#[derive(Clone, Copy)]
enum Ctrl<'a> {
    Term(&'a Term),
    Control(&'a Control),
}

impl Ctrl<'_> {
    fn encode(self, encoder: &mut Encoder<'_>, out: &mut Vec<u8>) -> Result<(), erlnode_etf::EncodeError> {
        match self {
            Ctrl::Term(term) => encoder.encode_body(term, out),
            Ctrl::Control(control) => control.encode(encoder, out),
        }
    }

    fn may_repeat(self) -> bool {
        match self {
            Ctrl::Term(term) => super::may_repeat(term),
            Ctrl::Control(control) => control.is_send(),
        }
    }

    /// This control message, kept to compare the next one with.
    fn kept(self) -> Kept {
        match self {
            Ctrl::Term(term) => Kept::Term(term.clone()),
            Ctrl::Control(control) => Kept::Control(control.clone()),
        }
    }

    /// `true` when this is the kept control message, given the same way.
    fn is(self, kept: &Kept) -> bool {
        match (self, kept) {
            (Ctrl::Term(term), Kept::Term(last)) => term == last,
            (Ctrl::Control(control), Kept::Control(last)) => control == last,
            _ => false,
        }
    }
}

/// Appends a pass-through packet: `112, 131 Ctrl [131 Msg]`.
fn pass_through(utf8: bool, control: Ctrl<'_>, payload: Option<&Term>, out: &mut Vec<u8>) -> Result<(), FrameError> {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0, PASS_THROUGH]);
    let mut encoder = Encoder::new().utf8_atoms(utf8);
    let mut encode = |out: &mut Vec<u8>| -> Result<(), FrameError> {
        out.push(VERSION);
        control.encode(&mut encoder, out)?;
        if let Some(payload) = payload {
            encoder.encode_to(payload, out)?;
        }
        let len = out.len() - start - 4;
        let len =
            u32::try_from(len).map_err(|_| FrameError::PacketTooLarge { len: len as u64, max: u64::from(u32::MAX) })?;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    };
    let result = encode(out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}
