//! Encoding terms in the external term format.
//!
//! By default the output is byte for byte what OTP 25's `term_to_binary/1` produces: the smallest integer
//! form, NEW_FLOAT, STRING_EXT for lists of bytes, and ATOM_EXT for atoms whose characters are all Latin-1
//! (OTP's `minor_version` 1). [`Encoder::utf8_atoms`] gives the UTF-8 atom tags that OTP 26+ use by default
//! and that distribution uses once UTF8_ATOMS is negotiated.
//!
//! ```
//! use erlnode_etf::{Encoder, Term};
//! let t = Term::atom("abc");
//! assert_eq!(t.encode().unwrap(), [131, 100, 0, 3, b'a', b'b', b'c']);
//! assert_eq!(Encoder::new().utf8_atoms(true).encode(&t).unwrap(), [131, 119, 3, b'a', b'b', b'c']);
//! ```

use std::io::Write;

use crate::tag;
use crate::{Atom, BigInt, Pid, Ref, Term};

/// Why a term could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// NaN or an infinity: Erlang floats are finite.
    #[error("float {0} is not finite; Erlang floats are")]
    NonFiniteFloat(String),
    /// A length that the format's 32-bit fields cannot carry.
    #[error("{0} is too large for the external term format")]
    TooLarge(&'static str),
    /// The compressor failed.
    #[error("compression failed: {0}")]
    Compression(String),
}

type Result<T> = std::result::Result<T, EncodeError>;

/// The recursive encoder's result: a boxed error keeps it one word wide, so that the check after every
/// element costs a register test instead of a copy.
type Inner<T> = std::result::Result<T, Box<EncodeError>>;

/// Chooses where an atom goes: its index in the current frame's atom cache references, or `None` to write
/// it inline. The distribution layer implements this; standalone terms have no cache.
pub trait AtomCache {
    /// The cache reference index for `atom`, if it has one in this frame.
    fn index(&mut self, atom: Atom) -> Option<u8>;
}

impl<F: FnMut(Atom) -> Option<u8>> AtomCache for F {
    fn index(&mut self, atom: Atom) -> Option<u8> {
        self(atom)
    }
}

/// Encoding options. `Encoder::new()` matches OTP 25's `term_to_binary/1`.
///
/// ```
/// use erlnode_etf::{Encoder, Term};
/// let big = Term::list(vec![Term::binary(&b"hello"[..]); 100]);
/// let packed = Encoder::new().compressed(6).encode(&big).unwrap();
/// assert_eq!(packed[1], 80); // COMPRESSED
/// assert_eq!(Term::decode(&packed).unwrap(), big);
/// ```
#[derive(Default)]
pub struct Encoder<'c> {
    utf8_atoms: bool,
    compression: Option<u32>,
    atom_cache: Option<&'c mut dyn AtomCache>,
}

impl<'c> Encoder<'c> {
    /// An encoder that matches OTP 25's `term_to_binary/1`.
    #[inline]
    pub fn new() -> Self {
        Encoder::default()
    }

    /// Writes every atom with the UTF-8 tags (`minor_version` 2, OTP 26+'s default, distribution).
    pub fn utf8_atoms(mut self, yes: bool) -> Self {
        self.utf8_atoms = yes;
        self
    }

    /// Compresses with zlib at `level` (0-9) as `term_to_binary(T, [{compressed, Level}])` does: only when
    /// that makes the output smaller.
    pub fn compressed(mut self, level: u32) -> Self {
        self.compression = Some(level.min(9));
        self
    }

    /// Writes atoms that `cache` knows as ATOM_CACHE_REF.
    pub fn atom_cache(mut self, cache: &'c mut dyn AtomCache) -> Self {
        self.atom_cache = Some(cache);
        self
    }

    /// Encodes a standalone term, starting with the version byte 131.
    #[inline]
    pub fn encode(&mut self, term: &Term) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(256);
        self.encode_to(term, &mut out)?;
        Ok(out)
    }

    /// Appends a standalone term (version byte first) to `out`.
    #[inline]
    pub fn encode_to(&mut self, term: &Term, out: &mut Vec<u8>) -> Result<()> {
        out.push(tag::VERSION);
        let start = out.len();
        self.encode_body(term, out)?;
        if let Some(level) = self.compression {
            compress_in_place(out, start, level)?;
        }
        Ok(())
    }

    /// Appends a term without the version byte (as terms follow a distribution header).
    pub fn encode_body(&mut self, term: &Term, out: &mut Vec<u8>) -> Result<()> {
        self.body(term, out).map_err(|e| *e)
    }

    /// Appends the header of a tuple of `arity` elements, whose elements the caller appends next: for a
    /// writer of a fixed shape (a distribution control tuple) that has the parts but not the tuple.
    pub fn encode_tuple_header(&mut self, arity: u8, out: &mut Vec<u8>) {
        out.extend_from_slice(&[tag::SMALL_TUPLE, arity]);
    }

    /// Appends an atom, as [`Encoder::encode_body`] would (a cache reference if the cache has it).
    pub fn encode_atom(&mut self, atom: Atom, out: &mut Vec<u8>) {
        self.atom(atom, out);
    }

    /// Appends an integer, as [`Encoder::encode_body`] would.
    pub fn encode_int(&mut self, i: i64, out: &mut Vec<u8>) {
        int(i, out);
    }

    /// Appends a pid, as [`Encoder::encode_body`] would.
    pub fn encode_pid(&mut self, pid: &Pid, out: &mut Vec<u8>) {
        self.pid(pid, out);
    }

    /// Appends a reference, as [`Encoder::encode_body`] would.
    pub fn encode_ref(&mut self, r: &Ref, out: &mut Vec<u8>) {
        // Built on the stack and appended once; the node goes in at [3..5] when it is a cache reference.
        let ids = r.ids();
        let mut bytes = [0u8; 9 + 4 * crate::MAX_REF_WORDS];
        bytes[0] = tag::NEWER_REFERENCE;
        bytes[1..3].copy_from_slice(&(ids.len() as u16).to_be_bytes());
        bytes[5..9].copy_from_slice(&r.creation.to_be_bytes());
        for (k, id) in ids.iter().enumerate() {
            bytes[9 + 4 * k..13 + 4 * k].copy_from_slice(&id.to_be_bytes());
        }
        let end = 9 + 4 * ids.len();
        match self.cached(r.node) {
            Some(ix) => {
                bytes[3..5].copy_from_slice(&[tag::ATOM_CACHE_REF, ix]);
                out.extend_from_slice(&bytes[..end]);
            }
            None => {
                out.extend_from_slice(&bytes[..3]);
                self.atom_text(r.node, out);
                out.extend_from_slice(&bytes[5..end]);
            }
        }
    }

    /// Appends a proper list of `elements`, as [`Encoder::encode_body`] would `Term::List(elements)`.
    pub fn encode_list(&mut self, elements: &[Term], out: &mut Vec<u8>) -> Result<()> {
        self.proper_list(elements, out).map_err(|e| *e)
    }

    fn proper_list(&mut self, elems: &[Term], out: &mut Vec<u8>) -> Inner<()> {
        if elems.is_empty() {
            out.push(tag::NIL);
        } else if elems.len() <= usize::from(u16::MAX) && elems.iter().all(is_byte) {
            out.push(tag::STRING);
            out.extend_from_slice(&(elems.len() as u16).to_be_bytes());
            out.extend(elems.iter().map(|e| match e {
                Term::Int(i) => *i as u8,
                _ => 0,
            }));
        } else {
            self.list(elems, None, out)?;
        }
        Ok(())
    }

    fn body(&mut self, term: &Term, out: &mut Vec<u8>) -> Inner<()> {
        match term {
            Term::Int(i) => int(*i, out),
            Term::Big(b) => big(b, out)?,
            Term::Float(f) => {
                if !f.is_finite() {
                    return Err(Box::new(EncodeError::NonFiniteFloat(f.to_string())));
                }
                out.push(tag::NEW_FLOAT);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            Term::Atom(a) => self.atom(*a, out),
            Term::Tuple(elems) => {
                match u8::try_from(elems.len()) {
                    Ok(n) => out.extend_from_slice(&[tag::SMALL_TUPLE, n]),
                    Err(_) => {
                        out.push(tag::LARGE_TUPLE);
                        out.extend_from_slice(&len32(elems.len(), "tuple")?);
                    }
                }
                for e in elems {
                    self.elem(e, out)?;
                }
            }
            Term::List(elems) => self.proper_list(elems, out)?,
            Term::Charlist(bytes) => {
                if bytes.is_empty() {
                    out.push(tag::NIL);
                } else if let Ok(n) = u16::try_from(bytes.len()) {
                    out.push(tag::STRING);
                    out.extend_from_slice(&n.to_be_bytes());
                    out.extend_from_slice(bytes);
                } else {
                    out.push(tag::LIST);
                    out.extend_from_slice(&len32(bytes.len(), "list")?);
                    for &b in bytes.iter() {
                        out.extend_from_slice(&[tag::SMALL_INTEGER, b]);
                    }
                    out.push(tag::NIL);
                }
            }
            Term::Improper(elems, tail) => self.list(elems, Some(tail), out)?,
            Term::Binary(b) => binary(b, out)?,
            Term::Bits(b) => {
                out.push(tag::BIT_BINARY);
                out.extend_from_slice(&len32(b.data().len(), "bitstring")?);
                out.push(b.tail_bits());
                out.extend_from_slice(b.data());
            }
            Term::Map(m) => {
                out.push(tag::MAP);
                out.extend_from_slice(&len32(m.len(), "map")?);
                for (k, v) in m.iter() {
                    self.elem(k, out)?;
                    self.elem(v, out)?;
                }
            }
            Term::Pid(p) => self.pid(p, out),
            Term::Port(p) => {
                match u32::try_from(p.id) {
                    Ok(id) => {
                        out.push(tag::NEW_PORT);
                        self.atom(p.node, out);
                        out.extend_from_slice(&id.to_be_bytes());
                    }
                    Err(_) => {
                        out.push(tag::V4_PORT);
                        self.atom(p.node, out);
                        out.extend_from_slice(&p.id.to_be_bytes());
                    }
                }
                out.extend_from_slice(&p.creation.to_be_bytes());
            }
            Term::Ref(r) => self.encode_ref(r, out),
            Term::Export(e) => {
                out.push(tag::EXPORT);
                self.atom(e.module, out);
                self.atom(e.function, out);
                out.extend_from_slice(&[tag::SMALL_INTEGER, e.arity]);
            }
            Term::Fun(f) => {
                out.push(tag::NEW_FUN);
                let size_at = out.len();
                out.extend_from_slice(&[0; 4]);
                out.push(f.arity);
                out.extend_from_slice(&f.uniq);
                out.extend_from_slice(&f.index.to_be_bytes());
                out.extend_from_slice(&len32(f.free_vars.len(), "fun environment")?);
                self.atom(f.module, out);
                small_u32(f.old_index, out);
                small_u32(f.old_uniq, out);
                self.pid(&f.pid, out);
                for v in &f.free_vars {
                    self.body(v, out)?;
                }
                let size = len32(out.len() - size_at, "fun")?;
                out[size_at..size_at + 4].copy_from_slice(&size);
            }
        }
        Ok(())
    }

    /// An element of a container: the usual leaves (atoms, small integers, binaries) are written here,
    /// without the cost of a recursive call.
    #[inline(always)]
    fn elem(&mut self, term: &Term, out: &mut Vec<u8>) -> Inner<()> {
        match term {
            Term::Atom(a) => self.atom(*a, out),
            Term::Int(i @ 0..=255) => out.extend_from_slice(&[tag::SMALL_INTEGER, *i as u8]),
            Term::Binary(b) => binary(b, out)?,
            _ => return self.body(term, out),
        }
        Ok(())
    }

    fn list(&mut self, elems: &[Term], tail: Option<&Term>, out: &mut Vec<u8>) -> Inner<()> {
        out.push(tag::LIST);
        out.extend_from_slice(&len32(elems.len(), "list")?);
        for e in elems {
            self.elem(e, out)?;
        }
        match tail {
            Some(t) => self.body(t, out),
            None => {
                out.push(tag::NIL);
                Ok(())
            }
        }
    }

    fn pid(&mut self, p: &Pid, out: &mut Vec<u8>) {
        // As `encode_ref`: the node at [1..3] when it is a cache reference.
        let mut bytes = [0u8; 15];
        bytes[0] = tag::NEW_PID;
        bytes[3..7].copy_from_slice(&p.id.to_be_bytes());
        bytes[7..11].copy_from_slice(&p.serial.to_be_bytes());
        bytes[11..].copy_from_slice(&p.creation.to_be_bytes());
        match self.cached(p.node) {
            Some(ix) => {
                bytes[1..3].copy_from_slice(&[tag::ATOM_CACHE_REF, ix]);
                out.extend_from_slice(&bytes);
            }
            None => {
                out.push(tag::NEW_PID);
                self.atom_text(p.node, out);
                out.extend_from_slice(&bytes[3..]);
            }
        }
    }

    fn atom(&mut self, atom: Atom, out: &mut Vec<u8>) {
        match self.cached(atom) {
            Some(ix) => out.extend_from_slice(&[tag::ATOM_CACHE_REF, ix]),
            None => self.atom_text(atom, out),
        }
    }

    /// The atom cache reference index of `atom` in this frame, if there is a cache and it gives one.
    fn cached(&mut self, atom: Atom) -> Option<u8> {
        self.atom_cache.as_mut().and_then(|c| c.index(atom))
    }

    /// `atom` written out in full (not as a cache reference).
    fn atom_text(&mut self, atom: Atom, out: &mut Vec<u8>) {
        if !self.utf8_atoms {
            let ext = atom.default_ext();
            match atom.short_default_ext() {
                // A fixed 16-byte copy, then the padding cut off: cheaper than a memcpy call.
                Some(padded) => {
                    let end = out.len() + ext.len();
                    out.extend_from_slice(padded);
                    out.truncate(end);
                }
                None => out.extend_from_slice(ext),
            }
            return;
        }
        let text = atom.as_str();
        // At most 255 characters of at most 4 bytes each, so the length fits in 16 bits.
        match u8::try_from(text.len()) {
            Ok(n) => out.extend_from_slice(&[tag::SMALL_ATOM_UTF8, n]),
            Err(_) => {
                out.push(tag::ATOM_UTF8);
                out.extend_from_slice(&(text.len() as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(text.as_bytes());
    }
}

impl Term {
    /// Encodes the term as OTP 25's `term_to_binary/1` does.
    #[inline]
    pub fn encode(&self) -> Result<Vec<u8>> {
        Encoder::new().encode(self)
    }
}

fn is_byte(t: &Term) -> bool {
    matches!(t, Term::Int(0..=255))
}

fn len32(n: usize, what: &'static str) -> Inner<[u8; 4]> {
    u32::try_from(n).map(u32::to_be_bytes).map_err(|_| Box::new(EncodeError::TooLarge(what)))
}

#[inline(always)]
fn binary(b: &[u8], out: &mut Vec<u8>) -> Inner<()> {
    let [x0, x1, x2, x3] = len32(b.len(), "binary")?;
    out.extend_from_slice(&[tag::BINARY, x0, x1, x2, x3]);
    out.extend_from_slice(b);
    Ok(())
}

fn int(i: i64, out: &mut Vec<u8>) {
    if (0..=255).contains(&i) {
        out.extend_from_slice(&[tag::SMALL_INTEGER, i as u8]);
    } else if let Ok(v) = i32::try_from(i) {
        let [a, b, c, d] = v.to_be_bytes();
        out.extend_from_slice(&[tag::INTEGER, a, b, c, d]);
    } else {
        let m = i.unsigned_abs().to_le_bytes();
        let n = m.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        out.extend_from_slice(&[tag::SMALL_BIG, n as u8, u8::from(i < 0)]);
        out.extend_from_slice(&m[..n]);
    }
}

/// Fun index fields: SMALL_INTEGER when they fit, else the 32 bits as INTEGER (OTP's own choice).
fn small_u32(v: u32, out: &mut Vec<u8>) {
    if v <= 255 {
        out.extend_from_slice(&[tag::SMALL_INTEGER, v as u8]);
    } else {
        out.push(tag::INTEGER);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn big(b: &BigInt, out: &mut Vec<u8>) -> Inner<()> {
    if let Some(i) = b.to_i64() {
        int(i, out);
        return Ok(());
    }
    let m = b.magnitude();
    match u8::try_from(m.len()) {
        Ok(n) => out.extend_from_slice(&[tag::SMALL_BIG, n]),
        Err(_) => {
            out.push(tag::LARGE_BIG);
            out.extend_from_slice(&len32(m.len(), "integer")?);
        }
    }
    out.push(u8::from(b.is_negative()));
    out.extend_from_slice(m);
    Ok(())
}

/// Replaces `out[start..]` with its compressed form when that is smaller.
fn compress_in_place(out: &mut Vec<u8>, start: usize, level: u32) -> Result<()> {
    let body_len = out.len() - start;
    let size = len32(body_len, "compressed term").map_err(|e| *e)?;
    let mut z = flate2::write::ZlibEncoder::new(Vec::with_capacity(body_len / 2 + 16), flate2::Compression::new(level));
    z.write_all(&out[start..]).map_err(|e| EncodeError::Compression(e.to_string()))?;
    let packed = z.finish().map_err(|e| EncodeError::Compression(e.to_string()))?;
    if packed.len() + 5 < body_len {
        out.truncate(start);
        out.push(tag::COMPRESSED);
        out.extend_from_slice(&size);
        out.extend_from_slice(&packed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(t: Term) -> Vec<u8> {
        t.encode().unwrap()
    }

    #[test]
    fn integers_match_otp() {
        assert_eq!(enc(Term::from(255)), [131, 97, 255]);
        assert_eq!(enc(Term::from(256)), [131, 98, 0, 0, 1, 0]);
        assert_eq!(enc(Term::from(-1)), [131, 98, 255, 255, 255, 255]);
        assert_eq!(enc(Term::from(2147483648i64)), [131, 110, 4, 0, 0, 0, 0, 128]);
        assert_eq!(enc(Term::from(-2147483649i64)), [131, 110, 4, 1, 1, 0, 0, 128]);
        assert_eq!(enc(Term::from(i64::MIN)), [131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128]);
    }

    #[test]
    fn lists_match_otp() {
        assert_eq!(enc(Term::list(vec![1.into(), 2.into(), 3.into()])), [131, 107, 0, 3, 1, 2, 3]);
        assert_eq!(enc(Term::list(vec![1.into(), 256.into()])), [131, 108, 0, 0, 0, 2, 97, 1, 98, 0, 0, 1, 0, 106]);
        assert_eq!(
            enc(Term::improper(vec![Term::atom("a")], Term::atom("b"))),
            [131, 108, 0, 0, 0, 1, 100, 0, 1, 97, 100, 0, 1, 98]
        );
        assert_eq!(enc(Term::NIL), [131, 106]);
    }

    #[test]
    fn atoms_match_otp_25() {
        assert_eq!(enc(Term::atom("é")), [131, 100, 0, 1, 233]);
        assert_eq!(enc(Term::atom("ö€")), [131, 119, 5, 195, 182, 226, 130, 172]);
        assert_eq!(enc(Term::atom("")), [131, 100, 0, 0]);
    }

    #[test]
    fn nan_is_refused() {
        assert!(matches!(Term::Float(f64::NAN).encode(), Err(EncodeError::NonFiniteFloat(_))));
    }

    #[test]
    fn atom_cache_refs() {
        let mut cache = |a: Atom| (a == Atom::OK).then_some(3u8);
        let mut out = Vec::new();
        Encoder::new()
            .atom_cache(&mut cache)
            .encode_body(&Term::tuple(vec![Term::atom("ok"), Term::atom("x")]), &mut out)
            .unwrap();
        assert_eq!(out, [104, 2, 82, 3, 100, 0, 1, b'x']);
    }
}
