//! Decoding the external term format.
//!
//! The decoder treats its input as hostile: every length is checked against the bytes that remain before
//! anything is allocated, nesting is bounded ([`Decoder::max_depth`]), and each failure is a
//! [`DecodeError`] naming what was wrong and the byte offset where it was found.
//!
//! ```
//! use erlnode_etf::{Decoder, DecodeErrorKind, Term};
//! // A list header claiming 4 billion elements in 10 bytes is refused, not allocated.
//! let err = Term::decode(&[131, 108, 255, 255, 255, 255, 106]).unwrap_err();
//! assert!(matches!(err.kind, DecodeErrorKind::LengthTooLarge { .. }));
//! assert_eq!(err.offset, 2);
//! ```

use std::cell::Cell;
use std::io::Read;

use bytes::Bytes;

use crate::atom::{AtomCacheError, AtomError};
use crate::tag;
use crate::{Atom, BigInt, BitString, Export, Fun, Map, Pid, Port, Ref, Term};

/// What went wrong in a decode.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended while `needed` more bytes were expected.
    #[error("input ends early ({needed} more bytes needed)")]
    UnexpectedEnd {
        /// How many more bytes the decoder needed.
        needed: usize,
    },
    /// A standalone term did not start with 131.
    #[error("bad version byte {0} (expected 131)")]
    BadVersion(u8),
    /// A tag byte that is not part of the format.
    #[error("unknown tag {0}")]
    UnknownTag(u8),
    /// A tag of the format that this decoder refuses (LOCAL_EXT, the pre-R13 FUN_EXT).
    #[error("unsupported tag {tag} ({what})")]
    Unsupported {
        /// The tag byte.
        tag: u8,
        /// Its name and why it is refused.
        what: &'static str,
    },
    /// A length larger than the remaining input could hold.
    #[error("length {claimed} exceeds what the remaining {remaining} bytes can hold")]
    LengthTooLarge {
        /// The length the input claimed.
        claimed: u64,
        /// The bytes left after the length field.
        remaining: usize,
    },
    /// Nesting deeper than the decoder's limit.
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    /// Where a particular kind of term must stand, another was found.
    #[error("expected {expected}, found tag {found}")]
    Expected {
        /// What the format requires here.
        expected: &'static str,
        /// The tag found instead.
        found: u8,
    },
    /// An atom's text is not valid UTF-8.
    #[error("atom is not valid UTF-8")]
    AtomNotUtf8,
    /// An atom is too long, or the atom table is full.
    #[error("invalid atom: {0}")]
    Atom(#[from] AtomError),
    /// An atom that does not exist yet, in [`Decoder::existing_atoms_only`] mode.
    #[error("atom {0:?} does not exist")]
    UnknownAtom(String),
    /// An ATOM_CACHE_REF index with no atom behind it.
    #[error("atom cache reference {0} is not in this frame's cache")]
    AtomCacheMiss(u8),
    /// A float that is NaN or infinite, or a legacy float whose text does not parse.
    #[error("invalid float")]
    InvalidFloat,
    /// A bit binary whose trailing bit count is not 1 to 8 (0 when it is empty).
    #[error("invalid bit binary ({bits} bits in the last of {len} bytes)")]
    InvalidBitBinary {
        /// The byte count.
        len: u32,
        /// The bit count of the last byte.
        bits: u8,
    },
    /// A reference with no id words or more than five.
    #[error("reference with {0} id words (1 to 5 allowed)")]
    InvalidReference(u16),
    /// A map with the same key twice.
    #[error("duplicate map key {0}")]
    DuplicateKey(Term),
    /// A fun whose size field disagrees with its contents.
    #[error("fun size field says {claimed} bytes, contents took {actual}")]
    FunSize {
        /// The size field.
        claimed: u32,
        /// The bytes actually consumed.
        actual: usize,
    },
    /// An integer field (a fun's index or arity) out of its range.
    #[error("integer out of range for {0}")]
    IntegerRange(&'static str),
    /// A compressed term that does not inflate to its stated size.
    #[error("compressed term: {0}")]
    Compression(String),
    /// A compressed term nested inside another term (OTP only compresses whole terms).
    #[error("compressed term inside a term")]
    NestedCompression,
    /// An error inside a compressed term, at an offset of its inflated bytes.
    #[error("inside compressed term: {0}")]
    InCompressed(Box<DecodeError>),
    /// Bytes left over after a complete standalone term.
    #[error("{0} bytes after the term")]
    TrailingBytes(usize),
}

/// A decode failure: what went wrong and the byte offset in the input where it was found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct DecodeError {
    /// The offset of the byte at which decoding failed.
    pub offset: usize,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

type Result<T> = std::result::Result<T, DecodeError>;

/// Decoding options. `Decoder::default()` reads any standalone term OTP produces.
///
/// ```
/// use erlnode_etf::{Atom, Decoder, Term};
/// // A distribution frame's term refers to atoms through the frame's atom cache references.
/// let cache = [Atom::new("hello")];
/// let (term, used) = Decoder::new().atom_cache(&cache).decode_body(&[82, 0]).unwrap();
/// assert_eq!((term, used), (Term::atom("hello"), 2));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Decoder<'c> {
    max_depth: usize,
    atom_cache: Option<&'c [Atom]>,
    existing_atoms_only: bool,
}

/// The default nesting bound: deep enough for any real message, and shallow enough that the recursive
/// operations on the result (drop, compare, encode, print) stay within a 2 MiB thread stack.
pub const DEFAULT_MAX_DEPTH: usize = 512;

impl Default for Decoder<'_> {
    fn default() -> Self {
        Decoder { max_depth: DEFAULT_MAX_DEPTH, atom_cache: None, existing_atoms_only: false }
    }
}

impl<'c> Decoder<'c> {
    /// A decoder with the default options.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Sets the deepest nesting of tuples, lists, maps and funs accepted.
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Resolves ATOM_CACHE_REF indexes through `atoms`, this frame's atom cache references in order.
    pub fn atom_cache(mut self, atoms: &'c [Atom]) -> Decoder<'c> {
        self.atom_cache = Some(atoms);
        self
    }

    /// Refuses atoms that do not exist yet, like `binary_to_term(B, [safe])`.
    pub fn existing_atoms_only(mut self, yes: bool) -> Self {
        self.existing_atoms_only = yes;
        self
    }

    /// Decodes one standalone term (starting with 131) that fills `input`. Binaries are copied out.
    pub fn decode(&self, input: &[u8]) -> Result<Term> {
        self.standalone(Source { data: input, owner: None })
    }

    /// Decodes one standalone term that fills `input`; binaries in the result share `input`'s buffer.
    pub fn decode_bytes(&self, input: &Bytes) -> Result<Term> {
        self.standalone(Source { data: input, owner: Some(input) })
    }

    /// Decodes one term without the version byte (as terms follow a distribution header) from the start of
    /// `input`; returns it and the number of bytes it took.
    pub fn decode_body(&self, input: &[u8]) -> Result<(Term, usize)> {
        let mut r = Reader::new(self, Source { data: input, owner: None });
        let term = r.term()?;
        Ok((term, r.pos))
    }

    /// As [`Decoder::decode_body`], sharing `input`'s buffer with the binaries in the result.
    pub fn decode_body_bytes(&self, input: &Bytes) -> Result<(Term, usize)> {
        self.decode_body_bytes_at(input, 0)
    }

    /// As [`Decoder::decode_body_bytes`] on `input` from `at` on (error offsets count from `at` too), without
    /// the cost of slicing `input` first: a packet's payload follows its header in the same buffer.
    pub fn decode_body_bytes_at(&self, input: &Bytes, at: usize) -> Result<(Term, usize)> {
        let mut r = Reader::new(self, Source { data: input, owner: Some(input) });
        // Past the end is an empty input.
        r.pos = at.min(input.len());
        match r.term() {
            Ok(term) => Ok((term, r.pos - at)),
            Err(e) => Err(DecodeError { offset: e.offset.saturating_sub(at), kind: e.kind }),
        }
    }

    fn standalone(&self, src: Source<'_>) -> Result<Term> {
        let mut r = Reader::new(self, src);
        let version = r.u8()?;
        if version != tag::VERSION {
            return Err(DecodeError { offset: 0, kind: DecodeErrorKind::BadVersion(version) });
        }
        let term = if r.peek() == Some(tag::COMPRESSED) {
            r.pos += 1;
            r.compressed()?
        } else {
            r.term()?
        };
        if r.pos != src.data.len() {
            return Err(r.err_at(r.pos, DecodeErrorKind::TrailingBytes(src.data.len() - r.pos)));
        }
        Ok(term)
    }
}

/// Reads a term part by part, for a caller that expects a known shape (a distribution control tuple) and
/// wants its parts without building the whole term: a tuple's arity, then its elements as pids, atoms,
/// references, small integers or whole terms. A part of any other shape, or a decoding error, is `None`;
/// the caller then decodes the whole term with [`Decoder::decode_body_bytes_at`], which says what is
/// wrong. Binaries in what it reads share the input's buffer.
pub struct BodyReader<'a, 'c> {
    r: Reader<'a, 'c>,
    /// The tuples open, against [`Decoder::max_depth`] as a whole decode counts them.
    depth: usize,
}

impl<'a, 'c> BodyReader<'a, 'c> {
    /// A reader of `input` from `at` on (past the end is empty input), with `decoder`'s options.
    pub fn new(decoder: &'a Decoder<'c>, input: &'a Bytes, at: usize) -> Self {
        let mut r = Reader::new(decoder, Source { data: input, owner: Some(input) });
        r.pos = at.min(input.len());
        BodyReader { r, depth: 0 }
    }

    /// Where the next part starts.
    pub fn position(&self) -> usize {
        self.r.pos
    }

    /// Opens a tuple of up to 255 elements and returns its arity: its elements are the next parts, then
    /// [`BodyReader::end`]. `None` as well where a whole decode would find the tuple too deep.
    pub fn tuple(&mut self) -> Option<usize> {
        match self.r.peek()? {
            tag::SMALL_TUPLE => {
                let arity = *self.r.src.data.get(self.r.pos + 1)?;
                if arity > 0 && self.depth >= self.r.opts.max_depth {
                    return None;
                }
                self.r.pos += 2;
                self.depth += 1;
                Some(usize::from(arity))
            }
            _ => None,
        }
    }

    /// Closes the innermost tuple [`BodyReader::tuple`] opened, once its elements are read.
    pub fn end(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// A pid.
    pub fn pid(&mut self) -> Option<Pid> {
        let t = self.r.peek()?;
        if t != tag::NEW_PID && t != tag::PID {
            return None;
        }
        self.r.pos += 1;
        self.r.pid_after_tag(t).ok()
    }

    /// An atom.
    pub fn atom(&mut self) -> Option<Atom> {
        self.r.atom().ok()
    }

    /// An integer of the two fixed-size forms (`SMALL_INTEGER_EXT`, `INTEGER_EXT`).
    pub fn int(&mut self) -> Option<i64> {
        match self.r.peek()? {
            tag::SMALL_INTEGER => {
                self.r.pos += 1;
                self.r.u8().ok().map(i64::from)
            }
            tag::INTEGER => {
                self.r.pos += 1;
                self.r.array().ok().map(|b| i64::from(i32::from_be_bytes(b)))
            }
            _ => None,
        }
    }

    /// A non-negative integer of up to 64 bits, in any of the forms OTP writes one in (a big of up to 8
    /// bytes included).
    pub fn uint(&mut self) -> Option<u64> {
        if self.r.peek()? != tag::SMALL_BIG {
            return self.int().and_then(|i| u64::try_from(i).ok());
        }
        let [_, n, sign] = self.r.array().ok()?;
        if sign != 0 || n > 8 {
            return None;
        }
        let digits = self.r.take(usize::from(n)).ok()?;
        Some(digits.iter().rev().fold(0, |value, &digit| value << 8 | u64::from(digit)))
    }

    /// A reference.
    pub fn reference(&mut self) -> Option<Ref> {
        let at = self.r.pos;
        match self.r.peek()? {
            t @ (tag::NEWER_REFERENCE | tag::NEW_REFERENCE) => {
                self.r.pos += 1;
                self.r.reference_after_tag(t, at).ok()
            }
            tag::REFERENCE => match self.term()? {
                Term::Ref(r) => Some(r),
                _ => None,
            },
            _ => None,
        }
    }

    /// The next term, whole (an element of the tuple being read, if one is open).
    pub fn term(&mut self) -> Option<Term> {
        self.r.nested(self.depth).ok()
    }
}

impl Term {
    /// Decodes a standalone term (as made by `term_to_binary/1`) with the default [`Decoder`].
    pub fn decode(input: &[u8]) -> Result<Term> {
        Decoder::new().decode(input)
    }

    /// Decodes a standalone term, sharing `input`'s buffer with the binaries in the result (zero-copy).
    pub fn decode_bytes(input: &Bytes) -> Result<Term> {
        Decoder::new().decode_bytes(input)
    }
}

/// The input, and the shared buffer it lives in when binaries can be sliced out of it.
#[derive(Clone, Copy)]
struct Source<'a> {
    data: &'a [u8],
    owner: Option<&'a Bytes>,
}

/// A term whose parts are still being read.
enum Open {
    /// Elements so far, and how many are still to come.
    Tuple(Vec<Term>, usize),
    /// Elements so far, and how many are still to come before the tail.
    List(Vec<Term>, usize),
    /// All elements read; the tail comes next.
    Tail(Vec<Term>),
    /// Entries so far, a key waiting for its value, and how many entries are still to come.
    Map { at: usize, entries: Vec<(Term, Term)>, key: Option<Term>, left: usize },
    /// A fun waiting for `left` more free variables.
    Fun { at: usize, size: u32, fun: Box<Fun>, left: usize },
}

/// What adding a value did to an open term.
enum Step {
    /// It needs more.
    More,
    /// It is complete.
    Done(Term),
    /// It is complete and must be taken off the stack to be finished (a fun).
    Close,
}

struct Reader<'a, 'c> {
    opts: &'a Decoder<'c>,
    src: Source<'a>,
    pos: usize,
    /// The terms that enclose the one the explicit stack is decoding (see [`RECURSE`]), counted against
    /// [`Decoder::max_depth`] with the stack's own.
    enclosing: usize,
    /// How deep recursion goes: [`RECURSE`], or 0 in tests that compare it with the stack alone.
    recurse: usize,
}

/// Tuples and lists nested up to this deep are decoded by recursion, which is cheapest for the small
/// terms most messages are; what is nested deeper, and every map and fun, goes on an explicit stack, so
/// no input can overflow the thread's stack.
const RECURSE: usize = 8;

/// The most open-term frames a thread keeps allocated between decodes.
const SPARE_FRAMES: usize = 64;

/// The fewest bytes any encoded term takes (NIL is one tag byte).
const MIN_TERM: usize = 1;

impl<'a, 'c> Reader<'a, 'c> {
    fn new(opts: &'a Decoder<'c>, src: Source<'a>) -> Self {
        Reader { opts, src, pos: 0, enclosing: 0, recurse: RECURSE }
    }

    fn err_at(&self, offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset, kind }
    }

    fn remaining(&self) -> usize {
        self.src.data.len() - self.pos
    }

    fn peek(&self) -> Option<u8> {
        self.src.data.get(self.pos).copied()
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let data: &'a [u8] = self.src.data;
        // One comparison against what remains: `pos` never passes the end, so nothing can overflow.
        match data.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.short(n)),
        }
    }

    #[cold]
    fn short(&self, n: usize) -> DecodeError {
        self.err_at(self.pos, DecodeErrorKind::UnexpectedEnd { needed: n - self.remaining() })
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Checks that `count` items of at least `each` bytes can fit in what remains, before allocating.
    fn check_len(&self, at: usize, count: u64, each: usize) -> Result<usize> {
        let remaining = self.remaining();
        match count.checked_mul(each as u64) {
            Some(need) if need <= remaining as u64 => Ok(count as usize),
            _ => Err(self.err_at(at, DecodeErrorKind::LengthTooLarge { claimed: count, remaining })),
        }
    }

    fn bytes(&mut self, n: usize) -> Result<Bytes> {
        let start = self.pos;
        let s = self.take(n)?;
        Ok(match self.src.owner {
            Some(owner) => owner.slice(start..start + n),
            None => Bytes::copy_from_slice(s),
        })
    }

    /// Decodes one term. Nesting is tracked on an explicit stack, not the call stack, so no input can
    /// overflow the thread's stack whatever the depth limit.
    fn term(&mut self) -> Result<Term> {
        self.nested(0)
    }

    /// A term enclosed in `depth` tuples and lists: by recursion while shallow, else on the explicit stack.
    fn nested(&mut self, depth: usize) -> Result<Term> {
        let at = self.pos;
        let t = match self.peek() {
            Some(t) => t,
            None => return Err(self.short(1)),
        };
        match t {
            tag::SMALL_TUPLE | tag::LARGE_TUPLE | tag::LIST if depth < self.recurse => {
                self.pos += 1;
                if t == tag::LIST {
                    return self.list_after_tag(at, depth);
                }
                let arity = if t == tag::SMALL_TUPLE { u64::from(self.u8()?) } else { u64::from(self.u32()?) };
                let n = self.check_len(at + 1, arity, MIN_TERM)?;
                // As on the stack: an empty tuple opens nothing, so it is never too deep.
                if n == 0 {
                    return Ok(Term::Tuple(Vec::new()));
                }
                self.check_depth(at, depth)?;
                let mut elements = Vec::with_capacity(n);
                for _ in 0..n {
                    elements.push(self.nested(depth + 1)?);
                }
                Ok(Term::Tuple(elements))
            }
            tag::SMALL_TUPLE | tag::LARGE_TUPLE | tag::LIST | tag::MAP | tag::NEW_FUN => {
                let outer = std::mem::replace(&mut self.enclosing, depth);
                let term = self.stacked();
                self.enclosing = outer;
                term
            }
            // The commonest scalars of messages, without the full match of `scalar`.
            tag::SMALL_INTEGER => {
                self.pos += 1;
                Ok(Term::Int(i64::from(self.u8()?)))
            }
            tag::ATOM_CACHE_REF | tag::SMALL_ATOM_UTF8 => {
                self.pos += 1;
                Ok(Term::Atom(self.atom_after_tag(t, at)?))
            }
            tag::NEW_PID => {
                self.pos += 1;
                Ok(Term::Pid(self.pid_after_tag(t)?))
            }
            tag::NEWER_REFERENCE => {
                self.pos += 1;
                Ok(Term::Ref(self.reference_after_tag(t, at)?))
            }
            tag::NIL => {
                self.pos += 1;
                Ok(Term::NIL)
            }
            _ => {
                self.pos += 1;
                self.scalar(t, at)
            }
        }
    }

    /// A list after its tag at `at`, by recursion: the same terms as the explicit stack makes.
    fn list_after_tag(&mut self, at: usize, depth: usize) -> Result<Term> {
        let len = u64::from(self.u32()?);
        // The elements and the tail each take at least one byte.
        let n = self.check_len(at + 1, len.saturating_add(1), MIN_TERM)? - 1;
        self.check_depth(at, depth)?;
        let mut elements = Vec::with_capacity(n);
        for _ in 0..n {
            elements.push(self.nested(depth + 1)?);
        }
        if n > 0 && self.peek() == Some(tag::NIL) {
            self.pos += 1;
            return Ok(Term::List(elements));
        }
        let tail = self.nested(depth + 1)?;
        Ok(Term::improper(elements, tail))
    }

    /// Opening a term at `at` inside `depth` others must not pass [`Decoder::max_depth`].
    fn check_depth(&self, at: usize, depth: usize) -> Result<()> {
        if depth >= self.opts.max_depth {
            return Err(self.err_at(at, DecodeErrorKind::TooDeep(self.opts.max_depth)));
        }
        Ok(())
    }

    /// A term decoded on the explicit stack.
    fn stacked(&mut self) -> Result<Term> {
        thread_local! {
            // The stack's allocation is kept for the thread's next decode: most terms are small, and an
            // allocation would cost as much as the rest of their decoding.
            static SPARE: Cell<Vec<Open>> = const { Cell::new(Vec::new()) };
        }
        let mut open = SPARE.take();
        let result = self.term_with(&mut open);
        if open.capacity() <= SPARE_FRAMES {
            open.clear();
            SPARE.set(open);
        }
        result
    }

    fn term_with(&mut self, open: &mut Vec<Open>) -> Result<Term> {
        loop {
            let at = self.pos;
            let t = self.u8()?;
            let mut value = match t {
                tag::SMALL_TUPLE | tag::LARGE_TUPLE => {
                    let arity = if t == tag::SMALL_TUPLE { u64::from(self.u8()?) } else { u64::from(self.u32()?) };
                    let n = self.check_len(at + 1, arity, MIN_TERM)?;
                    if n == 0 {
                        Term::Tuple(Vec::new())
                    } else {
                        self.push(open, Open::Tuple(Vec::with_capacity(n), n), at)?;
                        continue;
                    }
                }
                tag::LIST => {
                    let len = u64::from(self.u32()?);
                    // The elements and the tail each take at least one byte.
                    let n = self.check_len(at + 1, len.saturating_add(1), MIN_TERM)? - 1;
                    let frame = if n == 0 { Open::Tail(Vec::new()) } else { Open::List(Vec::with_capacity(n), n) };
                    self.push(open, frame, at)?;
                    continue;
                }
                tag::MAP => {
                    let arity = u64::from(self.u32()?);
                    let n = self.check_len(at + 1, arity, 2 * MIN_TERM)?;
                    if n == 0 {
                        Term::Map(Map::new())
                    } else {
                        self.push(open, Open::Map { at, entries: Vec::with_capacity(n), key: None, left: n }, at)?;
                        continue;
                    }
                }
                tag::NEW_FUN => {
                    let (fun, size, num_free) = self.fun_header()?;
                    let n = self.check_len(self.pos, num_free, MIN_TERM)?;
                    if n == 0 {
                        self.finish_fun(at, size, fun)?
                    } else {
                        let mut fun = fun;
                        fun.free_vars.reserve_exact(n);
                        self.push(open, Open::Fun { at, size, fun, left: n }, at)?;
                        continue;
                    }
                }
                _ => self.scalar(t, at)?,
            };
            // Hand the finished value to the innermost open term, closing every term it completes.
            loop {
                let Some(frame) = open.last_mut() else { return Ok(value) };
                match self.fill(frame, value)? {
                    Step::More => break,
                    Step::Done(term) => {
                        open.pop();
                        value = term;
                    }
                    Step::Close => match open.pop() {
                        Some(Open::Fun { at, size, fun, .. }) => value = self.finish_fun(at, size, fun)?,
                        _ => unreachable!("only a fun closes by value"),
                    },
                }
            }
        }
    }

    fn push(&self, open: &mut Vec<Open>, frame: Open, at: usize) -> Result<()> {
        if self.enclosing + open.len() >= self.opts.max_depth {
            return Err(self.err_at(at, DecodeErrorKind::TooDeep(self.opts.max_depth)));
        }
        open.push(frame);
        Ok(())
    }

    /// Adds `value` to an open term, in place.
    #[inline]
    fn fill(&mut self, frame: &mut Open, value: Term) -> Result<Step> {
        let done = |t: Term| Step::Done(t);
        Ok(match frame {
            Open::Tuple(elems, left) => {
                elems.push(value);
                *left -= 1;
                if *left > 0 { Step::More } else { done(Term::Tuple(std::mem::take(elems))) }
            }
            Open::List(elems, left) => {
                elems.push(value);
                *left -= 1;
                if *left > 0 {
                    Step::More
                } else if self.peek() == Some(tag::NIL) {
                    self.pos += 1;
                    done(Term::List(std::mem::take(elems)))
                } else {
                    *frame = Open::Tail(std::mem::take(elems));
                    Step::More
                }
            }
            Open::Tail(elems) => done(Term::improper(std::mem::take(elems), value)),
            Open::Map { key: key @ None, .. } => {
                *key = Some(value);
                Step::More
            }
            Open::Map { at, entries, key, left } => {
                if let Some(k) = key.take() {
                    entries.push((k, value));
                }
                *left -= 1;
                if *left > 0 {
                    Step::More
                } else {
                    let map = Map::from_sorted_or_sort(std::mem::take(entries))
                        .map_err(|dup| self.err_at(*at, DecodeErrorKind::DuplicateKey(dup)))?;
                    done(Term::Map(map))
                }
            }
            Open::Fun { fun, left, .. } => {
                fun.free_vars.push(value);
                *left -= 1;
                if *left > 0 { Step::More } else { Step::Close }
            }
        })
    }

    /// Every term that holds no other term.
    fn scalar(&mut self, t: u8, at: usize) -> Result<Term> {
        Ok(match t {
            tag::SMALL_INTEGER => Term::Int(i64::from(self.u8()?)),
            tag::INTEGER => Term::Int(i64::from(i32::from_be_bytes(self.array()?))),
            tag::ATOM | tag::SMALL_ATOM | tag::ATOM_UTF8 | tag::SMALL_ATOM_UTF8 | tag::ATOM_CACHE_REF => {
                Term::Atom(self.atom_after_tag(t, at)?)
            }
            tag::NIL => Term::NIL,
            tag::STRING => {
                let len = usize::from(self.u16()?);
                let len = self.check_len(at + 1, len as u64, 1)?;
                Term::Charlist(self.bytes(len)?)
            }
            tag::BINARY => {
                let len = u64::from(self.u32()?);
                let len = self.check_len(at + 1, len, 1)?;
                Term::Binary(self.bytes(len)?)
            }
            tag::BIT_BINARY => {
                let len = self.u32()?;
                let bits = self.u8()?;
                let n = self.check_len(at + 1, u64::from(len), 1)?;
                let data = self.bytes(n)?;
                // As OTP: an empty bitstring has 0 trailing bits, any other 1 to 8.
                match (len, bits) {
                    (0, 0) | (1.., 8) => Term::Binary(data),
                    (1.., 1..=7) => Term::Bits(
                        BitString::new(data, bits)
                            .ok_or_else(|| self.err_at(at, DecodeErrorKind::InvalidBitBinary { len, bits }))?,
                    ),
                    _ => return Err(self.err_at(at, DecodeErrorKind::InvalidBitBinary { len, bits })),
                }
            }
            tag::SMALL_BIG | tag::LARGE_BIG => {
                let n = if t == tag::SMALL_BIG { u64::from(self.u8()?) } else { u64::from(self.u32()?) };
                let sign = self.u8()?;
                let n = self.check_len(at + 1, n, 1)?;
                let digits = self.take(n)?;
                if n <= 8 {
                    let mut buf = [0u8; 8];
                    buf[..n].copy_from_slice(digits);
                    let m = u64::from_le_bytes(buf);
                    Term::from(if sign != 0 { -i128::from(m) } else { i128::from(m) })
                } else {
                    Term::integer(BigInt::from_le_bytes(sign != 0, digits))
                }
            }
            tag::NEW_FLOAT => {
                let f = f64::from_bits(self.u64()?);
                if !f.is_finite() {
                    return Err(self.err_at(at, DecodeErrorKind::InvalidFloat));
                }
                Term::Float(f)
            }
            tag::FLOAT => {
                let text = self.take(31)?;
                let end = text.iter().position(|&b| b == 0).unwrap_or(31);
                std::str::from_utf8(&text[..end])
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|f| f.is_finite())
                    .map(Term::Float)
                    .ok_or_else(|| self.err_at(at, DecodeErrorKind::InvalidFloat))?
            }
            tag::NEW_PID | tag::PID => Term::Pid(self.pid_after_tag(t)?),
            tag::NEW_PORT | tag::V4_PORT | tag::PORT => {
                let node = self.atom()?;
                let id = if t == tag::V4_PORT { self.u64()? } else { u64::from(self.u32()?) };
                let creation = if t == tag::PORT { u32::from(self.u8()?) } else { self.u32()? };
                Term::Port(Port::new(node, id, creation))
            }
            tag::NEWER_REFERENCE | tag::NEW_REFERENCE => Term::Ref(self.reference_after_tag(t, at)?),
            tag::REFERENCE => {
                let node = self.atom()?;
                let id = self.u32()?;
                let creation = u32::from(self.u8()?);
                Term::Ref(
                    Ref::new(node, creation, &[id])
                        .ok_or_else(|| self.err_at(at, DecodeErrorKind::InvalidReference(1)))?,
                )
            }
            tag::EXPORT => {
                let module = self.atom()?;
                let function = self.atom()?;
                let at_arity = self.pos;
                let arity = u8::try_from(self.small_u32("export arity")?)
                    .map_err(|_| self.err_at(at_arity, DecodeErrorKind::IntegerRange("export arity")))?;
                Term::Export(Export::new(module, function, arity))
            }
            tag::COMPRESSED => return Err(self.err_at(at, DecodeErrorKind::NestedCompression)),
            tag::LOCAL => {
                return Err(self.err_at(
                    at,
                    DecodeErrorKind::Unsupported {
                        tag: t,
                        what: "LOCAL_EXT is only meaningful to the node that made it",
                    },
                ));
            }
            tag::FUN => {
                return Err(
                    self.err_at(at, DecodeErrorKind::Unsupported { tag: t, what: "FUN_EXT is the pre-R13 fun format" })
                );
            }
            other => return Err(self.err_at(at, DecodeErrorKind::UnknownTag(other))),
        })
    }

    /// A fun's fields up to its free variables, their count, and the size field.
    fn fun_header(&mut self) -> Result<(Box<Fun>, u32, u64)> {
        let size = self.u32()?;
        let arity = self.u8()?;
        let uniq = self.array::<16>()?;
        let index = self.u32()?;
        let num_free = u64::from(self.u32()?);
        let module = self.atom()?;
        let old_index = self.small_u32("fun old index")?;
        let old_uniq = self.small_u32("fun old uniq")?;
        let pid_at = self.pos;
        let pid = match self.u8()? {
            t @ (tag::NEW_PID | tag::PID) => self.pid_after_tag(t)?,
            found => return Err(self.err_at(pid_at, DecodeErrorKind::Expected { expected: "a pid", found })),
        };
        let fun = Fun { module, arity, uniq, index, old_index, old_uniq, pid, free_vars: Vec::new() };
        Ok((Box::new(fun), size, num_free))
    }

    /// Checks the fun's size field against the bytes it took.
    fn finish_fun(&self, at: usize, size: u32, fun: Box<Fun>) -> Result<Term> {
        let actual = self.pos - at - 1;
        if actual != size as usize {
            return Err(self.err_at(at + 1, DecodeErrorKind::FunSize { claimed: size, actual }));
        }
        Ok(Term::Fun(fun))
    }

    /// A SMALL_INTEGER or INTEGER field read as the 32 bits it carries.
    fn small_u32(&mut self, what: &'static str) -> Result<u32> {
        let at = self.pos;
        match self.u8()? {
            tag::SMALL_INTEGER => Ok(u32::from(self.u8()?)),
            tag::INTEGER => self.u32(),
            _ => Err(self.err_at(at, DecodeErrorKind::IntegerRange(what))),
        }
    }

    /// A NEWER_REFERENCE or NEW_REFERENCE whose tag, at `at`, was read.
    fn reference_after_tag(&mut self, t: u8, at: usize) -> Result<Ref> {
        if t == tag::NEWER_REFERENCE {
            if let Some(r) = self.cached_newer_reference() {
                return Ok(r);
            }
        }
        let len = self.u16()?;
        if len == 0 || usize::from(len) > crate::MAX_REF_WORDS {
            return Err(self.err_at(at + 1, DecodeErrorKind::InvalidReference(len)));
        }
        let node = self.atom()?;
        let creation = if t == tag::NEWER_REFERENCE { self.u32()? } else { u32::from(self.u8()?) };
        let mut ids = [0u32; crate::MAX_REF_WORDS];
        for id in ids.iter_mut().take(usize::from(len)) {
            *id = self.u32()?;
        }
        Ref::new(node, creation, &ids[..usize::from(len)])
            .ok_or_else(|| self.err_at(at + 1, DecodeErrorKind::InvalidReference(len)))
    }

    /// The form almost every reference of a distribution message takes (`NEWER_REFERENCE_EXT` with its
    /// node as an atom cache reference), read in one go; `None`, with nothing read, for any other form.
    #[inline]
    fn cached_newer_reference(&mut self) -> Option<Ref> {
        let rest = self.src.data.get(self.pos..)?;
        let &[len_hi, len_lo, tag::ATOM_CACHE_REF, ix, ref after @ ..] = rest else { return None };
        let len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
        let node = *self.opts.atom_cache?.get(usize::from(ix))?;
        let words = after.get(..4 + 4 * len).filter(|_| (1..=crate::MAX_REF_WORDS).contains(&len))?;
        let word = |i: usize| u32::from_be_bytes([words[i], words[i + 1], words[i + 2], words[i + 3]]);
        let mut ids = [0u32; crate::MAX_REF_WORDS];
        for (k, id) in ids.iter_mut().take(len).enumerate() {
            *id = word(4 + 4 * k);
        }
        let r = Ref::new(node, word(0), &ids[..len])?;
        self.pos += 8 + 4 * len;
        Some(r)
    }

    fn pid_after_tag(&mut self, t: u8) -> Result<Pid> {
        // The form almost every pid of a distribution message takes, read in one go: `NEW_PID_EXT` with
        // its node as an atom cache reference.
        if t == tag::NEW_PID {
            let cached = self.src.data.get(self.pos..).and_then(|rest| match rest {
                &[tag::ATOM_CACHE_REF, ix, a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, ..] => {
                    let node = *self.opts.atom_cache?.get(usize::from(ix))?;
                    let (id, serial) = (u32::from_be_bytes([a0, a1, a2, a3]), u32::from_be_bytes([b0, b1, b2, b3]));
                    Some(Pid::new(node, id, serial, u32::from_be_bytes([c0, c1, c2, c3])))
                }
                _ => None,
            });
            if let Some(pid) = cached {
                self.pos += 14;
                return Ok(pid);
            }
        }
        let node = self.atom()?;
        let id = self.u32()?;
        let serial = self.u32()?;
        let creation = if t == tag::PID { u32::from(self.u8()?) } else { self.u32()? };
        Ok(Pid::new(node, id, serial, creation))
    }

    /// An atom where the format requires one (a node name, a module).
    fn atom(&mut self) -> Result<Atom> {
        let at = self.pos;
        let t = self.u8()?;
        match t {
            tag::ATOM | tag::SMALL_ATOM | tag::ATOM_UTF8 | tag::SMALL_ATOM_UTF8 | tag::ATOM_CACHE_REF => {
                self.atom_after_tag(t, at)
            }
            found => Err(self.err_at(at, DecodeErrorKind::Expected { expected: "an atom", found })),
        }
    }

    #[inline]
    fn atom_after_tag(&mut self, t: u8, at: usize) -> Result<Atom> {
        // An atom cache reference, the commonest atom of a distribution message, is taken here; the rest,
        // errors included, out of line.
        if t == tag::ATOM_CACHE_REF {
            let cached = self.src.data.get(self.pos).and_then(|&ix| self.opts.atom_cache?.get(usize::from(ix)));
            if let Some(&atom) = cached {
                self.pos += 1;
                return Ok(atom);
            }
        }
        self.atom_after_tag_slow(t, at)
    }

    #[inline(never)]
    fn atom_after_tag_slow(&mut self, t: u8, at: usize) -> Result<Atom> {
        let len = match t {
            tag::ATOM_CACHE_REF => {
                let ix = self.u8()?;
                return self
                    .opts
                    .atom_cache
                    .and_then(|c| c.get(usize::from(ix)).copied())
                    .ok_or_else(|| self.err_at(at, DecodeErrorKind::AtomCacheMiss(ix)));
            }
            tag::ATOM | tag::ATOM_UTF8 => usize::from(self.u16()?),
            _ => usize::from(self.u8()?),
        };
        let raw = self.take(len)?;
        let latin1 = t == tag::ATOM || t == tag::SMALL_ATOM;
        // A cached atom with these bytes as its text is the answer, unless the bytes are Latin-1 beyond ASCII
        // (then they spell another atom), which only a non-ASCII atom's text could match.
        if let (Some(atom), _) = Atom::recent(raw) {
            if !latin1 || atom.is_ascii() {
                return Ok(atom);
            }
        }
        let owned;
        let utf8 = if latin1 && !raw.is_ascii() {
            owned = raw.iter().map(|&b| char::from(b)).collect::<String>();
            owned.as_bytes()
        } else {
            raw
        };
        match Atom::from_utf8_cached(utf8, self.opts.existing_atoms_only) {
            Ok(Some(atom)) => Ok(atom),
            Ok(None) => Err(self.err_at(at, DecodeErrorKind::UnknownAtom(String::from_utf8_lossy(utf8).into_owned()))),
            Err(AtomCacheError::NotUtf8) => Err(self.err_at(at, DecodeErrorKind::AtomNotUtf8)),
            Err(AtomCacheError::Atom(e)) => Err(self.err_at(at, e.into())),
        }
    }

    fn compressed(&mut self) -> Result<Term> {
        let at = self.pos - 1;
        let size = self.u32()? as usize;
        let input = &self.src.data[self.pos..];
        // Inflate at most `size` bytes, growing the buffer as data actually arrives.
        let mut out = Vec::with_capacity(size.min(input.len().saturating_mul(4)));
        let mut z = flate2::read::ZlibDecoder::new(input);
        let read = (&mut z).take(size as u64 + 1).read_to_end(&mut out);
        let fail = |msg: String| DecodeError { offset: at, kind: DecodeErrorKind::Compression(msg) };
        read.map_err(|e| fail(e.to_string()))?;
        if out.len() != size {
            return Err(fail(format!("inflates to {} bytes, header says {size}", out.len().min(size + 1))));
        }
        self.pos += z.total_in() as usize;
        let inflated = Bytes::from(out);
        let mut inner = Reader::new(self.opts, Source { data: &inflated, owner: Some(&inflated) });
        let nested = |e: DecodeError| DecodeError { offset: at, kind: DecodeErrorKind::InCompressed(Box::new(e)) };
        let term = inner.term().map_err(nested)?;
        if inner.pos != inflated.len() {
            let extra =
                DecodeError { offset: inner.pos, kind: DecodeErrorKind::TrailingBytes(inflated.len() - inner.pos) };
            return Err(nested(extra));
        }
        Ok(term)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a term body the way [`Decoder::decode_body`] does, recursing up to `recurse` deep.
    fn body_with(decoder: &Decoder<'_>, input: &[u8], recurse: usize) -> Result<(Term, usize)> {
        let mut r = Reader::new(decoder, Source { data: input, owner: None });
        r.recurse = recurse;
        let term = r.term()?;
        Ok((term, r.pos))
    }

    /// Small terms of every container kind, nested up to a few levels.
    fn small_term() -> impl proptest::strategy::Strategy<Value = Term> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<i64>().prop_map(Term::from),
            "[a-c]{0,3}".prop_map(|s| Term::atom(&s)),
            proptest::collection::vec(any::<u8>(), 0..4).prop_map(|b| Term::Binary(Bytes::from(b))),
            Just(Term::NIL),
        ];
        leaf.prop_recursive(12, 64, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Term::Tuple),
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Term::list),
                (proptest::collection::vec(inner.clone(), 1..3), inner.clone()).prop_map(|(e, t)| Term::improper(e, t)),
                proptest::collection::vec((inner.clone(), inner), 0..3)
                    .prop_map(|kv| Term::Map(kv.into_iter().collect::<Map>())),
            ]
        })
    }

    proptest::proptest! {
        /// Recursion and the explicit stack give the same term, or the same error at the same offset, for
        /// valid encodings, mutated ones, and every depth limit.
        #[test]
        fn recursion_decodes_as_the_stack_does(
            t in small_term(),
            flips in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()), 0..3),
            max_depth in 0usize..14,
        ) {
            let mut bytes = Vec::new();
            crate::Encoder::new().encode_body(&t, &mut bytes).unwrap_or_else(|e| panic!("{e}"));
            for (at, byte) in flips {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
            }
            let decoder = Decoder::new().max_depth(max_depth);
            proptest::prop_assert_eq!(body_with(&decoder, &bytes, RECURSE), body_with(&decoder, &bytes, 0));
        }
    }

    fn kind(input: &[u8]) -> DecodeErrorKind {
        Term::decode(input).unwrap_err().kind
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocation() {
        assert!(matches!(kind(&[131, 108, 255, 255, 255, 255, 106]), DecodeErrorKind::LengthTooLarge { .. }));
        assert!(matches!(kind(&[131, 116, 255, 255, 255, 255]), DecodeErrorKind::LengthTooLarge { .. }));
        assert!(matches!(kind(&[131, 109, 255, 255, 255, 255, 0]), DecodeErrorKind::LengthTooLarge { .. }));
        assert!(matches!(kind(&[131, 111, 255, 255, 255, 255, 0]), DecodeErrorKind::LengthTooLarge { .. }));
        assert!(matches!(kind(&[131, 105, 255, 255, 255, 255]), DecodeErrorKind::LengthTooLarge { .. }));
    }

    #[test]
    fn depth_is_bounded() {
        let mut deep = vec![131];
        for _ in 0..10_000 {
            deep.extend([104, 1]);
        }
        deep.push(106);
        assert_eq!(kind(&deep), DecodeErrorKind::TooDeep(DEFAULT_MAX_DEPTH));
        let mut ok = vec![131];
        for _ in 0..DEFAULT_MAX_DEPTH {
            ok.extend([104, 1]);
        }
        ok.push(106);
        assert!(Term::decode(&ok).is_ok());
    }

    #[test]
    fn errors_carry_offsets() {
        let e = Term::decode(&[131, 104, 2, 97, 1, 200]).unwrap_err();
        assert_eq!((e.offset, e.kind), (5, DecodeErrorKind::UnknownTag(200)));
        let e = Term::decode(&[131, 109, 0, 0, 0, 3, 1]).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::LengthTooLarge { .. }));
        let e = Term::decode(&[130, 106]).unwrap_err();
        assert_eq!((e.offset, e.kind), (0, DecodeErrorKind::BadVersion(130)));
        let e = Term::decode(&[131, 106, 106]).unwrap_err();
        assert_eq!((e.offset, e.kind), (2, DecodeErrorKind::TrailingBytes(1)));
        let e = Term::decode(&[131, 98, 0]).unwrap_err();
        assert_eq!((e.offset, e.kind), (2, DecodeErrorKind::UnexpectedEnd { needed: 3 }));
    }

    #[test]
    fn refused_tags() {
        assert!(matches!(kind(&[131, 121, 0]), DecodeErrorKind::Unsupported { tag: 121, .. }));
        assert!(matches!(kind(&[131, 117, 0]), DecodeErrorKind::Unsupported { tag: 117, .. }));
        assert_eq!(kind(&[131, 70, 127, 240, 0, 0, 0, 0, 0, 0]), DecodeErrorKind::InvalidFloat);
        assert!(matches!(kind(&[131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97, 2]), DecodeErrorKind::DuplicateKey(_)));
        assert_eq!(kind(&[131, 82, 0]), DecodeErrorKind::AtomCacheMiss(0));
    }

    #[test]
    fn legacy_and_non_canonical_forms() {
        assert_eq!(Term::decode(&[131, 110, 1, 0, 5]).unwrap(), Term::from(5));
        assert_eq!(Term::decode(&[131, 115, 1, b'a']).unwrap(), Term::atom("a"));
        assert_eq!(Term::decode(&[131, 100, 0, 1, 233]).unwrap(), Term::atom("é"));
        let mut float = vec![131, 99];
        float.extend(format!("{:<31}", "1.50000000000000000000e+00").bytes().map(|b| if b == b' ' { 0 } else { b }));
        assert_eq!(Term::decode(&float).unwrap(), Term::from(1.5));
        // A list whose tail is a list is spliced into one list.
        assert_eq!(
            Term::decode(&[131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 1, 2]).unwrap(),
            Term::list(vec![Term::from(1), Term::from(2)])
        );
    }

    #[test]
    fn bit_binaries_follow_otp() {
        assert_eq!(Term::decode(&[131, 77, 0, 0, 0, 0, 0]).unwrap(), Term::binary(Bytes::new()));
        assert!(matches!(kind(&[131, 77, 0, 0, 0, 0, 8]), DecodeErrorKind::InvalidBitBinary { len: 0, bits: 8 }));
        assert!(matches!(kind(&[131, 77, 0, 0, 0, 1, 0, 5]), DecodeErrorKind::InvalidBitBinary { len: 1, bits: 0 }));
        // Unused low bits are ignored, as OTP does: this is <<7:3>>.
        let bits = BitString::new(Bytes::from_static(&[0b1110_0000]), 3).unwrap();
        assert_eq!(Term::decode(&[131, 77, 0, 0, 0, 1, 3, 255]).unwrap(), Term::Bits(bits));
    }

    #[test]
    fn zero_copy_binaries_share_the_input() {
        let input = Bytes::from(vec![131, 109, 0, 0, 0, 3, 1, 2, 3]);
        match Term::decode_bytes(&input).unwrap() {
            Term::Binary(b) => assert_eq!(b.as_ptr(), input[6..].as_ptr()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_body_decodes_from_an_offset_as_from_a_slice() {
        // Two bodies in a row: an atom, then a tuple with a binary and an integer.
        let input = Bytes::from(vec![119, 1, b'a', 104, 2, 109, 0, 0, 0, 2, 7, 8, 97, 5]);
        let decoder = Decoder::new();
        assert_eq!(decoder.decode_body_bytes_at(&input, 0).unwrap(), (Term::atom("a"), 3));
        let (term, used) = decoder.decode_body_bytes_at(&input, 3).unwrap();
        assert_eq!((&term, used), (&Term::tuple(vec![Term::binary(vec![7, 8]), Term::Int(5)]), 11));
        assert_eq!(decoder.decode_body_bytes(&input.slice(3..)).unwrap(), (term.clone(), used));
        match term.as_tuple() {
            Some([Term::Binary(b), _]) => assert_eq!(b.as_ptr(), input[10..].as_ptr(), "shares the input"),
            other => panic!("{other:?}"),
        }
        // Errors count from the offset, as from a slice; past the end is an empty input.
        let short = input.slice(..13);
        let from_slice = decoder.decode_body_bytes(&short.slice(3..)).unwrap_err();
        assert_eq!(decoder.decode_body_bytes_at(&short, 3).unwrap_err(), from_slice);
        let past = decoder.decode_body_bytes_at(&input, 20).unwrap_err();
        assert_eq!(past, decoder.decode_body_bytes(&Bytes::new()).unwrap_err());
    }
    #[test]
    fn pids_and_references_by_cache_reference_read_as_written_out() {
        use crate::encode::Encoder;
        let node = Atom::new("peer@host");
        let cache = [Atom::new("other"), node];
        // The encoder gives `node` index 1, as a connection's cache would.
        let mut index = |a: Atom| (a == node).then_some(1u8);
        let mut terms = vec![Term::Pid(Pid::new(node, 7, 1, 0x1234_5678))];
        for words in 1..=crate::MAX_REF_WORDS {
            let ids: Vec<u32> = (1..=words as u32).map(|w| w * 0x0101_0101).collect();
            terms.push(Term::Ref(Ref::new(node, 3, &ids).unwrap()));
        }
        let term = Term::tuple(terms);
        let mut cached = Vec::new();
        Encoder::new().atom_cache(&mut index).encode_body(&term, &mut cached).unwrap();
        let mut plain = Vec::new();
        Encoder::new().encode_body(&term, &mut plain).unwrap();
        assert!(cached.len() < plain.len(), "the node went as a cache reference");
        let decoder = Decoder::new().atom_cache(&cache);
        assert_eq!(decoder.decode_body(&cached).unwrap(), (term.clone(), cached.len()));
        assert_eq!(Decoder::new().decode_body(&plain).unwrap(), (term, plain.len()));
        // Cut anywhere, or with the cache entry missing, it is an error, never a misread.
        for end in 0..cached.len() {
            assert!(decoder.decode_body(&cached[..end]).is_err(), "cut at {end}");
        }
        assert!(Decoder::new().atom_cache(&cache[..1]).decode_body(&cached).is_err());
        // A reference of a length no reference has is an error in the cached form too.
        for words in [0u8, 6] {
            let mut bad = vec![tag::NEWER_REFERENCE, 0, words, tag::ATOM_CACHE_REF, 1];
            bad.extend_from_slice(&[0; 4 + 4 * 6]);
            let kind = decoder.decode_body(&bad).unwrap_err().kind;
            assert_eq!(kind, DecodeErrorKind::InvalidReference(u16::from(words)));
        }
    }
}
