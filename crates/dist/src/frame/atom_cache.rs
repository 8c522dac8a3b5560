//! The atom cache of the distribution header, both ways.
//!
//! A header's cache part is `N, Flags, Refs`. `Flags` has a 4-bit field per reference, `NewEntry:1 |
//! Segment:3` (even reference indexes in the low half of a byte, odd ones in the high half), and after the
//! last one a field whose bit 0 is `LongAtoms`; it takes `N / 2 + 1` bytes and is absent when `N` is 0. A
//! new entry is `InternalIx, Len, Text` (`Len` is 2 bytes with `LongAtoms`, else 1) and is stored at
//! `Segment * 256 + InternalIx`; an old entry is just `InternalIx`, naming an entry a previous frame stored.
//! The references become the frame's atom table: `ATOM_CACHE_REF` `Ix` in its terms is reference `Ix`.
//!
//! Choosing slots is the sender's business. OTP takes an atom's index in its atom table modulo 2039;
//! erlnode takes the identity of the atom's interned entry, spread over the same 2039 slots. Two atoms of one frame that
//! share a slot cannot both be references (the second would overwrite the first): the first wins, and the
//! other is written inline, as OTP does.

use std::hash::{Hash, Hasher};

use erlnode_etf::Atom;
use erlnode_etf::encode::AtomCache;

use super::{Cursor, FrameError, MAX_ATOM_BYTES, MAX_ATOM_REFS};

/// Entries in a cache: 8 segments of 256.
pub(crate) const CACHE_SIZE: usize = 8 * 256;

/// The slots a sender uses (OTP's `ERTS_USE_ATOM_CACHE_SIZE`, a prime).
const USED_SLOTS: usize = 2039;

/// No reference in the current frame (reference indexes stop at 254).
const NO_REF: u8 = u8::MAX;

/// The slot the sender gives `atom`: the identity of its interned entry (what its `Hash` gives a hasher;
/// equal atoms share one), spread by a multiply, modulo [`USED_SLOTS`]. Hashing the text instead cost more
/// than the rest of a look-up for a node name.
pub(crate) fn slot_of(atom: Atom) -> usize {
    let mut identity = Identity(0);
    atom.hash(&mut identity);
    ((identity.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % USED_SLOTS as u64) as usize
}

/// Keeps what a `Hash` implementation feeds it (for an atom, one word).
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = self.0.rotate_left(17) ^ n as u64;
    }
}

/// The receiving side's cache: the atoms the peer stored, by slot.
pub(crate) struct ReadCache {
    entries: Box<[Option<Atom>; CACHE_SIZE]>,
}

impl ReadCache {
    pub(crate) fn new() -> Self {
        ReadCache { entries: Box::new([None; CACHE_SIZE]) }
    }

    /// Reads the cache part of a header (`N, Flags, Refs`) at the start of `input`, storing new entries, and
    /// sets `refs` to the frame's references in order. Returns the bytes read.
    pub(crate) fn read_refs(&mut self, input: &[u8], refs: &mut Vec<Atom>) -> Result<usize, FrameError> {
        refs.clear();
        let mut r = Cursor::new(input);
        let n = usize::from(r.u8("atom cache reference count")?);
        if n == 0 {
            return Ok(r.pos);
        }
        let flags = r.take(n / 2 + 1, "atom cache flags")?;
        let field = |i: usize| flags.get(i / 2).map_or(0, |b| (b >> ((i & 1) * 4)) & 0xf);
        let long_atoms = field(n) & 1 != 0;
        refs.reserve(n);
        for i in 0..n {
            let field = field(i);
            let segment = field & 7;
            let index = r.u8("atom cache reference")?;
            let slot = usize::from(segment) << 8 | usize::from(index);
            let atom = if field & 8 == 0 {
                self.entries[slot].ok_or(FrameError::AtomCacheMiss { segment, index })?
            } else {
                let len = if long_atoms {
                    usize::from(r.u16("atom cache entry length")?)
                } else {
                    usize::from(r.u8("atom cache entry length")?)
                };
                if len > MAX_ATOM_BYTES {
                    return Err(FrameError::AtomTooLong(len));
                }
                let text =
                    std::str::from_utf8(r.take(len, "atom cache entry text")?).map_err(|_| FrameError::AtomNotUtf8)?;
                let atom = Atom::try_new(text)?;
                self.entries[slot] = Some(atom);
                atom
            };
            refs.push(atom);
        }
        Ok(r.pos)
    }
}

/// The sending side's cache: what the peer holds in each slot, and the references of the frame being
/// encoded. As an [`AtomCache`] it gives each atom of the frame a reference index.
pub(crate) struct WriteCache {
    entries: Box<[Option<Atom>; CACHE_SIZE]>,
    /// For each slot, its reference index in the current frame, or [`NO_REF`].
    frame_refs: Box<[u8; CACHE_SIZE]>,
    /// The current frame's references in order, with their slots.
    refs: Vec<(Atom, usize)>,
    /// How many entries have been set so far: a header written when this was `n` means the same to
    /// the peer as long as it still is.
    changes: u64,
}

impl WriteCache {
    pub(crate) fn new() -> Self {
        WriteCache {
            entries: Box::new([None; CACHE_SIZE]),
            frame_refs: Box::new([NO_REF; CACHE_SIZE]),
            refs: Vec::new(),
            changes: 0,
        }
    }

    /// How many entries have been set so far (see the field).
    pub(crate) fn changes(&self) -> u64 {
        self.changes
    }

    /// Forgets the references of the previous frame (written or not), leaving the cache as the peer has it.
    pub(crate) fn begin_frame(&mut self) {
        for (_, slot) in self.refs.drain(..) {
            self.frame_refs[slot] = NO_REF;
        }
    }

    /// The number of references in the current frame.
    #[cfg(test)]
    pub(crate) fn ref_count(&self) -> usize {
        self.refs.len()
    }

    /// Appends the cache part of the header for the current frame's references (`N, Flags, Refs`), and
    /// records the new entries as the peer will store them.
    pub(crate) fn write_refs(&mut self, out: &mut Vec<u8>) {
        let n = self.refs.len();
        // At most MAX_ATOM_REFS (255) references are handed out.
        out.push(n as u8);
        if n == 0 {
            return;
        }
        let entries = &mut self.entries;
        let long_atoms = self.refs.iter().any(|&(atom, slot)| entries[slot] != Some(atom) && atom.as_str().len() > 255);
        let flags_at = out.len();
        out.resize(flags_at + n / 2 + 1, 0);
        let set_field = |out: &mut Vec<u8>, i: usize, field: u8| {
            if let Some(b) = out.get_mut(flags_at + i / 2) {
                *b |= field << ((i & 1) * 4);
            }
        };
        if long_atoms {
            set_field(out, n, 1);
        }
        for (i, &(atom, slot)) in self.refs.iter().enumerate() {
            let segment = (slot >> 8) as u8;
            out.push(slot as u8);
            if entries[slot] == Some(atom) {
                set_field(out, i, segment);
                continue;
            }
            set_field(out, i, 8 | segment);
            entries[slot] = Some(atom);
            self.changes += 1;
            let text = atom.as_str().as_bytes();
            // An atom has at most 255 characters, 1020 bytes.
            if long_atoms {
                out.extend_from_slice(&(text.len() as u16).to_be_bytes());
            } else {
                out.push(text.len() as u8);
            }
            out.extend_from_slice(text);
        }
    }
}

impl AtomCache for WriteCache {
    fn index(&mut self, atom: Atom) -> Option<u8> {
        let slot = slot_of(atom);
        match self.frame_refs[slot] {
            NO_REF if self.refs.len() < MAX_ATOM_REFS => {
                let ix = self.refs.len() as u8;
                self.frame_refs[slot] = ix;
                self.refs.push((atom, slot));
                Some(ix)
            }
            NO_REF => None,
            ix => self.refs.get(usize::from(ix)).filter(|r| r.0 == atom).map(|_| ix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(cache: &mut ReadCache, input: &[u8]) -> Result<(Vec<Atom>, usize), FrameError> {
        let mut refs = Vec::new();
        let used = cache.read_refs(input, &mut refs)?;
        Ok((refs, used))
    }

    #[test]
    fn no_references() {
        assert_eq!(read(&mut ReadCache::new(), &[0, 99]).unwrap(), (vec![], 1));
    }

    #[test]
    fn new_then_old_entries_in_several_segments() {
        let mut cache = ReadCache::new();
        // Two new entries: segment 3 index 7 'abc' (field 0xb, low half) and segment 0 index 255 ''
        // (field 0x8, high half); N = 2 gives two flag bytes, LongAtoms (0) in the low half of the second.
        let input = [2, 0x8b, 0x00, 7, 3, b'a', b'b', b'c', 255, 0];
        let (refs, used) = read(&mut cache, &input).unwrap();
        assert_eq!(refs, [Atom::new("abc"), Atom::EMPTY]);
        assert_eq!(used, input.len());
        // Old entries: the same two, the other way round; fields 0x0 (segment 0) and 0x3 (segment 3).
        let (refs, used) = read(&mut cache, &[2, 0x30, 0x00, 255, 7]).unwrap();
        assert_eq!(refs, [Atom::EMPTY, Atom::new("abc")]);
        assert_eq!(used, 5);
    }

    #[test]
    fn odd_count_puts_long_atoms_in_the_high_half() {
        let mut cache = ReadCache::new();
        // N = 1: one flag byte, field 0 (new, segment 7) low, LongAtoms high.
        let input = [1, 0x1f, 200, 0, 2, b'h', b'i'];
        let (refs, _) = read(&mut cache, &input).unwrap();
        assert_eq!(refs, [Atom::new("hi")]);
        let (refs, _) = read(&mut cache, &[1, 0x07, 200]).unwrap();
        assert_eq!(refs, [Atom::new("hi")]);
        // A new entry replaces the old one in the same slot; without LongAtoms the length is one byte.
        let (refs, used) = read(&mut cache, &[1, 0x0f, 200, 0]).unwrap();
        assert_eq!((refs, used), (vec![Atom::EMPTY], 4));
    }

    #[test]
    fn even_count_puts_long_atoms_in_an_extra_byte() {
        let long = "é".repeat(200); // 400 bytes
        let mut input = vec![2, 0x88, 0x01, 1, 0x01, 0x90];
        input.extend_from_slice(long.as_bytes());
        input.extend_from_slice(&[2, 0, 1, b'x']);
        let (refs, used) = read(&mut ReadCache::new(), &input).unwrap();
        assert_eq!(refs, [Atom::new(&long), Atom::new("x")]);
        assert_eq!(used, input.len());
    }

    #[test]
    fn unknown_old_entry_is_an_error() {
        let err = read(&mut ReadCache::new(), &[1, 0x05, 9]).unwrap_err();
        assert_eq!(err, FrameError::AtomCacheMiss { segment: 5, index: 9 });
        assert_eq!(err.to_string(), "atom cache entry 9 of segment 5 is referenced but was never set");
    }

    #[test]
    fn bad_atom_texts() {
        let mut cache = ReadCache::new();
        assert_eq!(read(&mut cache, &[1, 0x18, 0, 0x03, 0xfd]).unwrap_err(), FrameError::AtomTooLong(1021));
        assert_eq!(read(&mut cache, &[1, 0x08, 0, 2, 0xc3, 0x28]).unwrap_err(), FrameError::AtomNotUtf8);
        let mut input = vec![1, 0x18, 0, 1, 0];
        input.extend_from_slice(&[b'a'; 256]);
        assert!(matches!(read(&mut cache, &input).unwrap_err(), FrameError::Atom(_)));
        // 255 four-byte characters are fine.
        let mut input = vec![1, 0x18, 0, 0x03, 0xfc];
        input.extend_from_slice("😀".repeat(255).as_bytes());
        assert_eq!(read(&mut cache, &input).unwrap().0[0].as_str().len(), 1020);
    }

    #[test]
    fn truncation_is_an_error_at_every_length() {
        let input = [2, 0x8b, 0x00, 7, 3, b'a', b'b', b'c', 255, 0];
        for end in 0..input.len() {
            assert!(matches!(read(&mut ReadCache::new(), &input[..end]), Err(FrameError::Truncated(_))), "{end}");
        }
    }

    #[test]
    fn writer_marks_new_then_old() {
        let mut cache = WriteCache::new();
        let (a, b) = (Atom::new("alpha"), Atom::new("beta"));
        assert_eq!(cache.index(a), Some(0));
        assert_eq!(cache.index(b), Some(1));
        assert_eq!(cache.index(a), Some(0));
        let mut out = Vec::new();
        cache.write_refs(&mut out);
        let mut reader = ReadCache::new();
        assert_eq!(read(&mut reader, &out).unwrap(), (vec![a, b], out.len()));
        cache.begin_frame();
        assert_eq!(cache.index(b), Some(0));
        let mut again = Vec::new();
        cache.write_refs(&mut again);
        let slot = slot_of(b);
        assert_eq!(again, [1, (slot >> 8) as u8, slot as u8]);
        assert_eq!(read(&mut reader, &again).unwrap(), (vec![b], 3));
    }

    #[test]
    fn writer_sets_long_atoms_only_for_new_long_texts() {
        let mut cache = WriteCache::new();
        let long = Atom::new(&"ü".repeat(130)); // 260 bytes
        cache.index(long);
        let mut out = Vec::new();
        cache.write_refs(&mut out);
        assert_eq!(out[1] >> 4, 1, "LongAtoms in the high half of the only flag byte");
        assert_eq!(&out[3..5], &[1, 4]);
        cache.begin_frame();
        cache.index(long);
        let mut out = Vec::new();
        cache.write_refs(&mut out);
        assert_eq!(out[1] >> 4, 0);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn writer_inlines_slot_collisions_within_a_frame() {
        let first = Atom::new("collide_0");
        let slot = slot_of(first);
        let other = (1..100_000)
            .map(|i| Atom::new(&format!("collide_{i}")))
            .find(|&a| slot_of(a) == slot)
            .expect("a colliding name");
        let mut cache = WriteCache::new();
        assert_eq!(cache.index(first), Some(0));
        assert_eq!(cache.index(other), None);
        // In the next frame the other atom takes the slot, as a new entry.
        let mut out = Vec::new();
        cache.write_refs(&mut out);
        cache.begin_frame();
        assert_eq!(cache.index(other), Some(0));
        out.clear();
        cache.write_refs(&mut out);
        assert_eq!(out[1] & 8, 8);
    }

    #[test]
    fn writer_stops_at_255_references() {
        let mut cache = WriteCache::new();
        let mut given = 0;
        let mut inline = 0;
        for i in 0..600 {
            match cache.index(Atom::new(&format!("many_{i}"))) {
                Some(_) => given += 1,
                None => inline += 1,
            }
        }
        assert_eq!(given, MAX_ATOM_REFS);
        assert_eq!(cache.ref_count(), MAX_ATOM_REFS);
        assert_eq!(given + inline, 600);
    }
}
