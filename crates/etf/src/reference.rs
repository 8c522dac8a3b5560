//! References.

use crate::Atom;

/// The most 32-bit words a reference carries on the wire (NEWER_REFERENCE_EXT allows up to 5).
pub const MAX_REF_WORDS: usize = 5;

/// An Erlang reference (from `make_ref()`, monitors, aliases): node, creation and up to five id words.
///
/// The words are kept in wire order, least significant first; Erlang prints them most significant first,
/// and so does [`Display`](std::fmt::Display): `#Ref<node@host.3.2.1>` for words `[1, 2, 3]`.
///
/// ```
/// use erlnode_etf::{Atom, Ref};
/// let r = Ref::new(Atom::new("a@h"), 1, &[1, 2, 3]).unwrap();
/// assert_eq!(r.ids(), &[1, 2, 3]);
/// assert_eq!(r.to_string(), "#Ref<a@h.3.2.1>");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ref {
    /// The node that made the reference.
    pub node: Atom,
    /// The node's creation.
    pub creation: u32,
    len: u8,
    words: [u32; MAX_REF_WORDS],
}

/// Hashes the two low id words and the node: references are map keys on hot paths (monitors, aliases,
/// timers), the low words are where references of one node differ, and equal references still hash
/// alike.
impl std::hash::Hash for Ref {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.words[0]) | (u64::from(self.words[1]) << 32));
        self.node.hash(state);
    }
}

impl Ref {
    /// A reference from its node, creation and 1 to 5 id words (wire order); `None` for any other count.
    pub fn new(node: Atom, creation: u32, ids: &[u32]) -> Option<Ref> {
        if ids.is_empty() || ids.len() > MAX_REF_WORDS {
            return None;
        }
        let mut words = [0; MAX_REF_WORDS];
        words[..ids.len()].copy_from_slice(ids);
        Some(Ref { node, creation, len: ids.len() as u8, words })
    }

    /// The id words, least significant first.
    pub fn ids(&self) -> &[u32] {
        &self.words[..usize::from(self.len)]
    }
}
