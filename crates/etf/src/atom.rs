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
        $( static $entry: AtomEntry = AtomEntry { text: $text, ascii: $text.is_ascii() }; )*
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
        let atom = Atom(Box::leak(Box::new(AtomEntry { text, ascii: text.is_ascii() })));
        map.insert(text, atom);
        Ok(atom)
    }

    /// The atom named `text`, if it exists already (Erlang's `list_to_existing_atom`).
    pub fn lookup(text: &str) -> Option<Atom> {
        table().map.read().unwrap_or_else(|e| e.into_inner()).get(text).copied()
    }

    /// The atom whose UTF-8 text is `text`, through a small per-thread cache in front of the table: decoding
    /// meets the same few atoms again and again, and a hit costs a short hash and one comparison instead of
    /// a lock and a table look-up. With `existing_only`, an atom not in the table yet is `Ok(None)`.
    pub(crate) fn from_utf8_cached(text: &[u8], existing_only: bool) -> Result<Option<Atom>, AtomCacheError> {
        const SLOTS: usize = 1024;
        thread_local! {
            static RECENT: [Cell<Option<Atom>>; SLOTS] = const { [const { Cell::new(None) }; SLOTS] };
        }
        // The slot comes from the length and the first and last eight bytes: cheap, and a hit is compared
        // in full, so a poor spread costs only misses.
        let n = text.len();
        let key = match (text.first_chunk::<8>(), text.last_chunk::<8>()) {
            (Some(first), Some(last)) => u64::from_le_bytes(*first) ^ u64::from_le_bytes(*last).rotate_left(29),
            _ => text.iter().fold(0u64, |w, &x| (w << 8) | u64::from(x)),
        } ^ (n as u64);
        let slot = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize % SLOTS;
        if let Some(atom) = RECENT.with(|r| r[slot].get()).filter(|a| a.as_str().as_bytes() == text) {
            return Ok(Some(atom));
        }
        let text = std::str::from_utf8(text).map_err(|_| AtomCacheError::NotUtf8)?;
        let atom = match Atom::lookup(text) {
            Some(atom) => atom,
            None if existing_only => return Ok(None),
            None => Atom::try_new(text).map_err(AtomCacheError::Atom)?,
        };
        RECENT.with(|r| r[slot].set(Some(atom)));
        Ok(Some(atom))
    }

    /// `true` when the name is plain ASCII (checked once, when the atom was made).
    pub(crate) fn is_ascii(self) -> bool {
        self.0.ascii
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
        if self == other { std::cmp::Ordering::Equal } else { self.as_str().cmp(other.as_str()) }
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
    }
}
