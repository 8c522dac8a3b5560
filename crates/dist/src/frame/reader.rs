//! Reading packet bodies into messages.
//!
//! A [`FrameReader`] reads what one peer sends on one connection: it keeps the receive side of the atom
//! cache and the fragmented messages in progress. It accepts every form OTP sends (pass-through, the
//! distribution header, fragments) whatever flags were agreed, and treats its input as hostile: every
//! length is checked before use, what a peer can make it hold is bounded by [`ReaderLimits`], and each
//! failure is a [`FrameError`]. After an error the connection should be closed, as OTP does: the peer's
//! atom cache may no longer match this side's.

use std::fmt;

use bytes::Bytes;
use erlnode_etf::{Atom, BodyReader, Decoder, Term};

use crate::control::Control;

use super::atom_cache::ReadCache;
use super::fragment::Reassembly;
use super::{Cursor, DIST_FRAG_CONT, DIST_FRAG_HEADER, DIST_HEADER, FrameError, Message, PASS_THROUGH, VERSION};

/// What [`FrameReader::read_frame`] makes of a packet that completes a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A message whose control message was read straight into a [`Control`], without building its
    /// tuple: the usual shape of every op, in a packet with a distribution header.
    Control(Control, Option<Term>),
    /// Any other message, its control message decoded as a term (for [`Control::from_term`], which says
    /// what is wrong with one that is not a control message).
    Message(Message),
    /// A message whose header and control message are the previous message's, byte for byte: only its
    /// payload. The previous message was a send with a payload (see [`FrameReader::read_frame`]).
    Repeat(Term),
}

/// Bounds on what a peer can make a [`FrameReader`] hold for fragmented messages in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderLimits {
    /// The most sequences in progress at once. OTP sends one at a time per sending process. Default 1024.
    pub max_sequences: usize,
    /// The most bytes held for all sequences in progress together, and so the largest fragmented message.
    /// Default 128 MiB.
    pub max_buffered_bytes: usize,
}

impl Default for ReaderLimits {
    fn default() -> Self {
        ReaderLimits { max_sequences: 1024, max_buffered_bytes: 128 << 20 }
    }
}

/// Reads packet bodies from one peer into [`Frame`]s ([`FrameReader::read_frame`]) or [`Message`]s
/// ([`FrameReader::read`]).
pub struct FrameReader {
    cache: ReadCache,
    refs: Vec<Atom>,
    fragments: Reassembly,
    /// The last message's header and control message, when it was a send (see [`super::may_repeat`]).
    last: Option<Last>,
}

/// A message's header and control message, kept so that a stream of messages with the same control
/// message (one process sending to one name, a caller to its server) decodes it once: the next packet
/// that starts with the same bytes has the same atom cache references and the same control message,
/// and its header changes nothing in the cache that the first one did not already set.
struct Last {
    /// The packet body up to the end of the control message.
    prefix: Vec<u8>,
    /// The atom cache references of its header.
    refs: Vec<Atom>,
    /// The control message as a term, when [`FrameReader::read`] decoded it: `read` rebuilds repeats with
    /// it, and decodes in full a packet that repeats one it did not keep a term of.
    control: Option<Term>,
}

/// Control messages (with their header) longer than this are not kept.
const LAST_MAX: usize = 256;

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader::new()
    }
}

impl fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameReader")
            .field("limits", &self.fragments.limits())
            .field("pending_sequences", &self.fragments.pending())
            .field("buffered_bytes", &self.fragments.buffered())
            .finish_non_exhaustive()
    }
}

impl FrameReader {
    /// A reader with an empty atom cache and the default [`ReaderLimits`].
    pub fn new() -> Self {
        FrameReader::with_limits(ReaderLimits::default())
    }

    /// A reader with an empty atom cache and the given limits.
    pub fn with_limits(limits: ReaderLimits) -> Self {
        FrameReader { cache: ReadCache::new(), refs: Vec::new(), fragments: Reassembly::new(limits), last: None }
    }

    /// The limits this reader enforces.
    pub fn limits(&self) -> ReaderLimits {
        self.fragments.limits()
    }

    /// The fragmented messages in progress.
    pub fn pending_sequences(&self) -> usize {
        self.fragments.pending()
    }

    /// The bytes held for fragmented messages in progress.
    pub fn buffered_bytes(&self) -> usize {
        self.fragments.buffered()
    }

    /// Reads one packet body (without its 4-byte length). Returns the message it completes, or `None` for a
    /// tick (an empty body) and for a fragment that leaves its message incomplete.
    ///
    /// Binaries in the message share `body`'s buffer when the message came in one packet.
    pub fn read(&mut self, body: Bytes) -> Result<Option<Message>, FrameError> {
        Ok(match self.read_packet(body, false)? {
            None => None,
            Some(Frame::Message(message)) => Some(message),
            Some(Frame::Control(control, payload)) => Some(Message { control: control.to_term(), payload }),
            Some(Frame::Repeat(payload)) => {
                let control = self.last.as_ref().and_then(|last| last.control.clone()).unwrap_or_default();
                Some(Message { control, payload: Some(payload) })
            }
        })
    }

    /// As [`FrameReader::read`], for a reader that acts on [`Control`]s: a control message of the usual
    /// shape comes read into one ([`Frame::Control`]), and a message that repeats the previous one's
    /// header and control message byte for byte comes as [`Frame::Repeat`], its payload alone: a caller
    /// that keeps what it made of the previous control message uses that again, and no term is copied.
    /// Only sends with a payload are repeated (a stream from one process to one pid or name); a message of
    /// any other kind in between ends the repeat.
    pub fn read_frame(&mut self, body: Bytes) -> Result<Option<Frame>, FrameError> {
        self.read_packet(body, true)
    }

    /// Reads one packet body; `controls`: read control messages of the usual shape into [`Control`]s.
    fn read_packet(&mut self, body: Bytes, controls: bool) -> Result<Option<Frame>, FrameError> {
        let Some(&first) = body.first() else {
            return Ok(None);
        };
        match first {
            PASS_THROUGH => {
                self.last = None;
                return pass_through(tail(&body, 1)).map(|message| Some(Frame::Message(message)));
            }
            VERSION => {}
            other => return Err(FrameError::UnknownPacket(other)),
        }
        let mut r = Cursor::new(&body);
        r.pos = 1;
        let header = r.u8("distribution header")?;
        if header != DIST_HEADER {
            self.last = None;
        }
        match header {
            DIST_HEADER => {
                // `read` rebuilds a repeat's message with the term it kept, so it needs one.
                if let Some(last) = self.last.as_ref().filter(|last| controls || last.control.is_some()) {
                    if body.len() > last.prefix.len() && body.starts_with(&last.prefix) {
                        let decoder = Decoder::new().atom_cache(&last.refs);
                        let payload = whole_payload(&decoder, &body, last.prefix.len())?;
                        return Ok(Some(Frame::Repeat(payload)));
                    }
                }
                // Taken first: a packet that fails to decode leaves nothing kept.
                let previous = self.last.take();
                let used = self.cache.read_refs(&body[r.pos..], &mut self.refs)?;
                let start = r.pos + used;
                let read = if controls { read_control(&self.refs, &body, start)? } else { None };
                let (frame, control_len) = match read {
                    Some((control, payload, control_len)) => (Frame::Control(control, payload), control_len),
                    None => {
                        let (message, control_len) = decode_measured(&self.refs, &body, start)?;
                        (Frame::Message(message), control_len)
                    }
                };
                let end = start + control_len;
                // A send with a payload is kept for the repeats that may follow it.
                let kept = match &frame {
                    Frame::Control(control, Some(_)) if end <= LAST_MAX && control.is_send() => Some(None),
                    Frame::Message(Message { control, payload: Some(_) })
                        if end <= LAST_MAX && super::may_repeat(control) =>
                    {
                        Some((!controls).then(|| control.clone()))
                    }
                    _ => None,
                };
                self.last = match (previous, kept) {
                    (Some(mut last), Some(control)) => {
                        last.prefix.clear();
                        last.prefix.extend_from_slice(&body[..end]);
                        last.refs.clone_from(&self.refs);
                        last.control = control;
                        Some(last)
                    }
                    (None, Some(control)) => {
                        Some(Last { prefix: body[..end].to_vec(), refs: self.refs.clone(), control })
                    }
                    _ => None,
                };
                Ok(Some(frame))
            }
            DIST_FRAG_HEADER => {
                let seq = r.u64("fragment sequence id")?;
                let frag_id = r.u64("fragment id")?;
                let used = self.cache.read_refs(&body[r.pos..], &mut self.refs)?;
                let refs = std::mem::take(&mut self.refs);
                match self.fragments.start(seq, frag_id, refs, tail(&body, r.pos + used))? {
                    Some((refs, data)) => {
                        let message = decode(&refs, data);
                        self.refs = refs;
                        message.map(|message| Some(Frame::Message(message)))
                    }
                    None => Ok(None),
                }
            }
            DIST_FRAG_CONT => {
                let seq = r.u64("fragment sequence id")?;
                let frag_id = r.u64("fragment id")?;
                match self.fragments.next(seq, frag_id, &body[r.pos..])? {
                    Some((refs, data)) => decode(&refs, data).map(|message| Some(Frame::Message(message))),
                    None => Ok(None),
                }
            }
            other => Err(FrameError::UnknownHeader(other)),
        }
    }
}

/// `bytes` from `at` on (empty past the end).
fn tail(bytes: &Bytes, at: usize) -> Bytes {
    if at <= bytes.len() { bytes.slice(at..) } else { Bytes::new() }
}

/// A pass-through body after its 112: `131 Ctrl [131 Msg]`.
fn pass_through(data: Bytes) -> Result<Message, FrameError> {
    let decoder = Decoder::new();
    match data.first() {
        None => return Err(FrameError::MissingControl),
        Some(&VERSION) => {}
        Some(&other) => return Err(FrameError::BadVersion(other)),
    }
    let data = tail(&data, 1);
    let (control, used) = decoder.decode_body_bytes(&data).map_err(FrameError::Control)?;
    let rest = tail(&data, used);
    match rest.first() {
        None => return Ok(Message { control, payload: None }),
        Some(&VERSION) => {}
        Some(&other) => return Err(FrameError::BadVersion(other)),
    }
    let payload = whole_payload(&decoder, &rest, 1)?;
    Ok(Message { control, payload: Some(payload) })
}

/// A control message of the usual shape read straight from `data` at `at` (see [`Control::read`]), its
/// payload, and the control message's length; `None` for another shape.
fn read_control(refs: &[Atom], data: &Bytes, at: usize) -> Result<Option<(Control, Option<Term>, usize)>, FrameError> {
    let decoder = Decoder::new().atom_cache(refs);
    let mut reader = BodyReader::new(&decoder, data, at);
    let Some(control) = Control::read(&mut reader) else {
        return Ok(None);
    };
    let end = reader.position();
    if data.len() == end {
        return Ok(Some((control, None, end - at)));
    }
    let payload = whole_payload(&decoder, data, end)?;
    Ok(Some((control, Some(payload), end - at)))
}

/// The terms after a distribution header: `Ctrl [Msg]`, without version bytes.
fn decode(refs: &[Atom], data: Bytes) -> Result<Message, FrameError> {
    decode_measured(refs, &data, 0).map(|(message, _)| message)
}

/// [`decode`] of `data` from `at` on, and the length of the control message.
fn decode_measured(refs: &[Atom], data: &Bytes, at: usize) -> Result<(Message, usize), FrameError> {
    if data.len() <= at {
        return Err(FrameError::MissingControl);
    }
    let decoder = Decoder::new().atom_cache(refs);
    let (control, used) = decoder.decode_body_bytes_at(data, at).map_err(FrameError::Control)?;
    if data.len() == at + used {
        return Ok((Message { control, payload: None }, used));
    }
    let payload = whole_payload(&decoder, data, at + used)?;
    Ok((Message { control, payload: Some(payload) }, used))
}

/// A payload term that must fill `data` from `at` on.
fn whole_payload(decoder: &Decoder<'_>, data: &Bytes, at: usize) -> Result<erlnode_etf::Term, FrameError> {
    let (payload, used) = decoder.decode_body_bytes_at(data, at).map_err(FrameError::Payload)?;
    match data.len().checked_sub(at + used) {
        Some(0) | None => Ok(payload),
        Some(left) => Err(FrameError::TrailingBytes(left)),
    }
}
