//! Interned atoms.
//!
//! An [`Atom`] is a pointer into a process-wide table, so comparing and hashing atoms is O(1), as on the BEAM.
//! Like the BEAM's, the table never shrinks and is bounded ([`MAX_ATOMS`]): a peer that sends endless new
//! atoms gets [`AtomError::TableFull`] instead of exhausting memory.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::sync::{OnceLock, RwLock};

/// The most characters an atom may have (Erlang's limit).
pub const MAX_ATOM_CHARS: usize = 255;

/// The most atoms the table holds, Erlang's default limit (`+t 1048576`).
pub const MAX_ATOMS: usize = 1 << 20;

/// Why a string could not become an atom.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AtomError {
    /// More than [`MAX_ATOM_CHARS`] characters.
    #[error("atom has {0} characters, at most 255 are allowed")]
    TooLong(usize),
    /// The table already holds [`MAX_ATOMS`] atoms.
    #[error("atom table is full ({MAX_ATOMS} atoms)")]
    TableFull,
}

/// Why raw atom text from the wire did not give an atom.
#[derive(Debug)]
pub(crate) enum AtomCacheError {
    /// The text is not UTF-8.
    NotUtf8,
    /// The text is not a valid atom.
    Atom(AtomError),
}

#[derive(Debug)]
#[doc(hidden)]
pub(crate) struct AtomEntry {
    text: &'static str,
    /// Whether the text is ASCII, known once so that encoding need not scan it each time.
    ascii: bool,
    /// [`head_word`] of the text: most comparisons and cache checks end on it without touching the text.
    head: u64,
    /// [`tail_word`] of the text.
    tail: u64,
    /// The atom as OTP 25 encodes it by default (tag, length, text), so encoding is one copy.
    ext: &'static [u8],
    /// `ext` zero-padded, when it fits in 16 bytes: a fixed-size copy costs less than a memcpy call.
    short_ext: Option<[u8; 16]>,
}

/// `ext` padded to 16 bytes, if it is no longer.
const fn pad16(ext: &[u8]) -> Option<[u8; 16]> {
    if ext.len() > 16 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < ext.len() {
        out[i] = ext[i];
        i += 1;
    }
    Some(out)
}

/// The first eight bytes of `text`, big-endian and zero-padded: when two texts' words differ, the texts order
/// as the words do (a shorter text pads with zeros, which sort first, as a prefix does).
fn head_word(text: &[u8]) -> u64 {
    let n = text.len();
    if let Some(w) = text.first_chunk::<8>() {
        return u64::from_be_bytes(*w);
    }
    // Two overlapping reads place every byte; the padding stays zero.
    let (hi, lo) = if let (Some(a), Some(z)) = (text.first_chunk::<4>(), text.last_chunk::<4>()) {
        (u64::from(u32::from_be_bytes(*a)) << 32, u64::from(u32::from_be_bytes(*z)))
    } else if let (Some(a), Some(z)) = (text.first_chunk::<2>(), text.last_chunk::<2>()) {
        (u64::from(u16::from_be_bytes(*a)) << 48, u64::from(u16::from_be_bytes(*z)))
    } else if let Some(&b) = text.first() {
        (0, u64::from(b))
    } else {
        return 0;
    };
    hi | lo << (8 * (8 - n))
}

/// The last eight bytes of a text of at least eight (0 for shorter ones, which [`head_word`] holds whole), so
/// that length, head and tail together identify texts of up to 16 bytes.
fn tail_word(text: &[u8]) -> u64 {
    text.last_chunk::<8>().map_or(0, |w| u64::from_be_bytes(*w))
}

/// [`head_word`] and [`tail_word`] for the constant atoms.
const fn const_words(text: &[u8]) -> (u64, u64) {
    let n = text.len();
    let (mut head, mut tail, mut i) = (0u64, 0u64, 0);
    while i < 8 {
        head = (head << 8) | if i < n { text[i] as u64 } else { 0 };
        if n >= 8 {
            tail = (tail << 8) | text[n - 8 + i] as u64;
        }
        i += 1;
    }
    (head, tail)
}

/// The ATOM_EXT encoding of a constant ASCII atom.
const fn const_ext<const N: usize>(text: &str) -> [u8; N] {
    assert!(text.is_ascii() && text.len() + 3 == N);
    let mut ext = [0u8; N];
    ext[0] = crate::tag::ATOM;
    ext[2] = text.len() as u8;
    let mut i = 0;
    while i < text.len() {
        ext[3 + i] = text.as_bytes()[i];
        i += 1;
    }
    ext
}

/// The encoding OTP 25's `term_to_binary/1` gives an atom: ATOM_EXT, one byte a character, when every
/// character is Latin-1, else SMALL_ATOM_UTF8 or ATOM_UTF8.
fn default_ext(text: &str) -> Vec<u8> {
    let mut ext = Vec::with_capacity(3 + text.len());
    if text.chars().all(|c| u32::from(c) < 256) {
        ext.push(crate::tag::ATOM);
        ext.extend_from_slice(&(text.chars().count() as u16).to_be_bytes());
        ext.extend(text.chars().map(|c| c as u8));
    } else {
        // At most 255 characters of at most 4 bytes each, so the length fits in 16 bits.
        match u8::try_from(text.len()) {
            Ok(n) => ext.extend_from_slice(&[crate::tag::SMALL_ATOM_UTF8, n]),
            Err(_) => {
                ext.push(crate::tag::ATOM_UTF8);
                ext.extend_from_slice(&(text.len() as u16).to_be_bytes());
            }
        }
        ext.extend_from_slice(text.as_bytes());
    }
    ext
}

/// An Erlang atom: an interned name, compared and hashed in O(1).
///
/// ```
/// use erlnode_etf::Atom;
/// let a = Atom::new("ok");
/// assert_eq!(a, Atom::OK);
/// assert_eq!(a.as_str(), "ok");
/// ```
#[derive(Clone, Copy)]
pub struct Atom(&'static AtomEntry);

macro_rules! well_known {
    ($( $(#[$doc:meta])* $konst:ident = $entry:ident : $text:literal ),* $(,)?) => {
        $( static $entry: AtomEntry = {
            const WORDS: (u64, u64) = const_words($text.as_bytes());
            const EXT: [u8; $text.len() + 3] = const_ext($text);
            AtomEntry {
                text: $text,
                ascii: $text.is_ascii(),
                head: WORDS.0,
                tail: WORDS.1,
                ext: &EXT,
                short_ext: pad16(&EXT),
            }
        }; )*
        impl Atom {
            $( $(#[$doc])* pub const $konst: Atom = Atom(&$entry); )*
        }
        fn seed(map: &mut HashMap<&'static str, Atom>) {
            $( map.insert($text, Atom::$konst); )*
        }
    };
}

well_known! {
    /// `true`
    TRUE = TRUE_ENTRY: "true",
    /// `false`
    FALSE = FALSE_ENTRY: "false",
    /// `ok`
    OK = OK_ENTRY: "ok",
    /// `error`
    ERROR = ERROR_ENTRY: "error",
    /// `undefined`, which serde uses for `None`.
    UNDEFINED = UNDEFINED_ENTRY: "undefined",
    /// `nonode@nohost`, the name of a node that is not distributed.
    NONODE = NONODE_ENTRY: "nonode@nohost",
    /// `''`, the empty atom.
    EMPTY = EMPTY_ENTRY: "",
    /// `nil`, Elixir's nil.
    NIL = NIL_ENTRY: "nil",
}

const RECENT_SLOTS: usize = 1024;

thread_local! {
    /// Recently decoded atoms, by a hash of their text; slots `2k` and `2k + 1` hold the two ways of a set.
    static RECENT: [Cell<Option<Atom>>; RECENT_SLOTS] = const { [const { Cell::new(None) }; RECENT_SLOTS] };
}

struct Table {
    map: RwLock<HashMap<&'static str, Atom>>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::with_capacity(1024);
        seed(&mut map);
        Table { map: RwLock::new(map) }
    })
}

impl Atom {
    /// Interns `text`.
    ///
    /// # Panics
    /// When `text` has more than 255 characters or the table is full; use [`Atom::try_new`] for text a peer
    /// controls.
    #[allow(clippy::expect_used)]
    pub fn new(text: &str) -> Atom {
        Atom::try_new(text).expect("invalid atom")
    }

    /// Interns `text`, refusing over-long names and a full table.
    pub fn try_new(text: &str) -> Result<Atom, AtomError> {
        // Code that names atoms by their text does so again and again: the per-thread cache answers
        // most of those without the table's lock and hash.
        let (hit, slot) = Atom::recent(text.as_bytes());
        if let Some(atom) = hit {
            return Ok(atom);
        }
        let atom = Atom::intern(text)?;
        Atom::remember(slot, atom);
        Ok(atom)
    }

    /// The table's atom named `text`, made if need be.
    fn intern(text: &str) -> Result<Atom, AtomError> {
        if let Some(atom) = Atom::lookup(text) {
            return Ok(atom);
        }
        let chars = text.chars().count();
        if chars > MAX_ATOM_CHARS {
            return Err(AtomError::TooLong(chars));
        }
        let mut map = table().map.write().unwrap_or_else(|e| e.into_inner());
        if let Some(atom) = map.get(text) {
            return Ok(*atom);
        }
        if map.len() >= MAX_ATOMS {
            return Err(AtomError::TableFull);
        }
        // Atoms live for the whole program, as on the BEAM; the table bound caps the leak.
        let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
        let ext: &'static [u8] = Box::leak(default_ext(text).into_boxed_slice());
        let (head, tail) = (head_word(text.as_bytes()), tail_word(text.as_bytes()));
        let entry = AtomEntry { text, ascii: text.is_ascii(), head, tail, ext, short_ext: pad16(ext) };
        let atom = Atom(Box::leak(Box::new(entry)));
        map.insert(text, atom);
        Ok(atom)
    }

    /// The atom named `text`, if it exists already (Erlang's `list_to_existing_atom`).
    pub fn lookup(text: &str) -> Option<Atom> {
        table().map.read().unwrap_or_else(|e| e.into_inner()).get(text).copied()
    }

    /// The atom whose UTF-8 text is `text`, through a small per-thread cache in front of the table: decoding
    /// meets the same few atoms again and again, and a hit costs a short hash and a few word comparisons
    /// instead of a lock and a table look-up. With `existing_only`, an atom not in the table yet is `Ok(None)`.
    pub(crate) fn from_utf8_cached(text: &[u8], existing_only: bool) -> Result<Option<Atom>, AtomCacheError> {
        let (hit, slot) = Atom::recent(text);
        if let Some(atom) = hit {
            return Ok(Some(atom));
        }
        let text = std::str::from_utf8(text).map_err(|_| AtomCacheError::NotUtf8)?;
        let atom = match Atom::lookup(text) {
            Some(atom) => atom,
            None if existing_only => return Ok(None),
            None => Atom::intern(text).map_err(AtomCacheError::Atom)?,
        };
        Atom::remember(slot, atom);
        Ok(Some(atom))
    }

    /// Puts `atom` in the per-thread cache at `slot` (from [`Atom::recent`]). The newcomer takes the first of
    /// the slot's two ways and moves its occupant to the second, so two atoms that share a slot both stay.
    fn remember(slot: usize, atom: Atom) {
        RECENT.with(|r| r[slot ^ 1].set(r[slot].replace(Some(atom))));
    }

    /// The atom whose text is `text` if the per-thread cache holds it, and the cache slot for `text`.
    #[inline]
    pub(crate) fn recent(text: &[u8]) -> (Option<Atom>, usize) {
        let n = text.len();
        let (head, tail) = (head_word(text), tail_word(text));
        let key = head ^ tail.rotate_left(29) ^ (n as u64);
        let slot = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize % RECENT_SLOTS;
        // Length and the two words settle texts of up to 16 bytes, most atoms, without a memcmp call.
        let is = |a: &Atom| {
            let e = a.0;
            e.text.len() == n && e.head == head && e.tail == tail && (n <= 16 || e.text.as_bytes() == text)
        };
        let (first, second) = RECENT.with(|r| (r[slot].get(), r[slot ^ 1].get()));
        let hit = first.filter(is).or_else(|| second.filter(is));
        (hit, slot)
    }

    /// `true` when the name is plain ASCII (checked once, when the atom was made).
    pub(crate) fn is_ascii(self) -> bool {
        self.0.ascii
    }

    /// The atom as OTP 25's `term_to_binary/1` writes it.
    pub(crate) fn default_ext(self) -> &'static [u8] {
        self.0.ext
    }

    /// [`Atom::default_ext`] zero-padded to 16 bytes, when it fits.
    pub(crate) fn short_default_ext(self) -> Option<&'static [u8; 16]> {
        self.0.short_ext.as_ref()
    }

    /// The atom's name.
    pub fn as_str(self) -> &'static str {
        self.0.text
    }

    /// The number of atoms in the table.
    pub fn count() -> usize {
        table().map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// `true` for the atoms `true` and `false`.
    pub fn is_bool(self) -> bool {
        self == Atom::TRUE || self == Atom::FALSE
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Atom) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Atom {}

impl std::hash::Hash for Atom {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state);
    }
}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Atom) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Erlang orders atoms by their text (code point order, which UTF-8 byte order preserves).
impl Ord for Atom {
    fn cmp(&self, other: &Atom) -> std::cmp::Ordering {
        if self == other {
            std::cmp::Ordering::Equal
        } else {
            // Most atoms differ in their first eight bytes, and the words order as the texts then.
            self.0.head.cmp(&other.0.head).then_with(|| self.as_str().cmp(other.as_str()))
        }
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prints the atom as Erlang source would write it, quoted when needed: `ok`, `'hello world'`.
impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::display::write_atom(f, self.as_str())
    }
}

impl From<&str> for Atom {
    fn from(text: &str) -> Atom {
        Atom::new(text)
    }
}

impl From<bool> for Atom {
    fn from(b: bool) -> Atom {
        if b { Atom::TRUE } else { Atom::FALSE }
    }
}

impl AsRef<str> for Atom {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Atom {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Atom {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_gives_one_identity() {
        let a = Atom::new("interning_gives_one_identity");
        let b = Atom::new(&String::from("interning_gives_one_identity"));
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.0, b.0));
        assert_eq!(Atom::new("true"), Atom::TRUE);
        assert_eq!(Atom::new(""), Atom::EMPTY);
    }

    #[test]
    fn length_limit_counts_characters_not_bytes() {
        let ok = "😀".repeat(255);
        assert_eq!(Atom::try_new(&ok).map(|a| a.as_str().len()), Ok(1020));
        assert_eq!(Atom::try_new(&"a".repeat(256)), Err(AtomError::TooLong(256)));
    }

    #[test]
    fn order_is_by_text() {
        assert!(Atom::new("a") < Atom::new("b"));
        assert!(Atom::new("z") < Atom::new("é"));
        let texts =
            ["", "\0", "a", "a\0", "ab", "abc", "abcdefg", "abcdefgh", "abcdefgh\0", "abcdefghi", "b", "é", "ÿ"];
        for x in texts {
            for y in texts {
                assert_eq!(Atom::new(x).cmp(&Atom::new(y)), x.cmp(y), "{x:?} {y:?}");
            }
        }
    }

    #[test]
    fn words_agree_with_their_const_form() {
        for text in ["", "a", "ab", "abc", "abcd", "abcde", "abcdefg", "abcdefgh", "abcdefghi", "app@host.example"] {
            let b = text.as_bytes();
            assert_eq!((head_word(b), tail_word(b)), const_words(b), "{text:?}");
        }
        assert_eq!(Atom::TRUE.default_ext(), [100, 0, 4, b't', b'r', b'u', b'e']);
        assert_eq!(Atom::EMPTY.default_ext(), [100, 0, 0]);
    }
}
