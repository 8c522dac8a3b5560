//! Reference creation with the BEAM's layout.
//!
//! A local reference has three id words, least significant first, made from one per-node counter the way
//! the BEAM makes them: the first word holds the counter's low 18 bits and the other two the next 64 bits.
//! Node name and creation are the node's, so a reference says where it was made.
//!
//! An alias puts its process's number in the third word instead, with the top bit set (plain references
//! would need a counter past 2^81 to set it). Both kinds take their value from the one counter, so no two
//! references are equal while it stays under 2^50, which is centuries at any rate a node can make them.

use std::sync::atomic::{AtomicU64, Ordering};

use erlnode_etf::{Atom, Ref};

/// Bits of the counter in the first word.
const FIRST_WORD_BITS: u32 = 18;

/// Makes the references of one node.
#[derive(Debug)]
pub(crate) struct RefAlloc {
    node: Atom,
    creation: u32,
    counter: AtomicU64,
}

impl RefAlloc {
    /// The reference maker of the node `node` with creation `creation`.
    pub(crate) fn new(node: Atom, creation: u32) -> RefAlloc {
        RefAlloc { node, creation, counter: AtomicU64::new(1) }
    }

    /// A reference no other call on this node has returned.
    pub(crate) fn make(&self) -> Ref {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        words_ref(self.node, self.creation, n)
    }
}

/// Marks the third word of an alias.
const ALIAS_BIT: u32 = 1 << 31;

impl RefAlloc {
    /// A new alias of the local process with number `number` (28 bits).
    pub(crate) fn make_alias(&self, number: u32) -> Ref {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let words = [(n & ((1 << FIRST_WORD_BITS) - 1)) as u32, (n >> FIRST_WORD_BITS) as u32, ALIAS_BIT | number];
        match Ref::new(self.node, self.creation, &words) {
            Some(r) => r,
            None => unreachable!("a reference of three words"),
        }
    }
}

/// The process number in `alias`, if it is an alias (made by [`RefAlloc::make_alias`] of some node).
pub(crate) fn alias_owner(alias: &Ref) -> Option<u32> {
    match alias.ids() {
        [_, _, third] if third & ALIAS_BIT != 0 => Some(third & !ALIAS_BIT),
        _ => None,
    }
}

/// The reference for counter value `n`.
fn words_ref(node: Atom, creation: u32, n: u64) -> Ref {
    let words = [(n & ((1 << FIRST_WORD_BITS) - 1)) as u32, (n >> FIRST_WORD_BITS) as u32, (n >> 50) as u32];
    match Ref::new(node, creation, &words) {
        Some(r) => r,
        // Three words is always a valid count.
        None => unreachable!("a reference of three words"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_spreads_over_three_words() {
        let node = Atom::new("r@h");
        assert_eq!(words_ref(node, 7, 1).ids(), &[1, 0, 0]);
        assert_eq!(words_ref(node, 7, 1 << 18).ids(), &[0, 1, 0]);
        assert_eq!(words_ref(node, 7, (1 << 50) | 5).ids(), &[5, 0, 1]);
        let alloc = RefAlloc::new(node, 7);
        let (a, b) = (alloc.make(), alloc.make());
        assert_ne!(a, b);
        assert_eq!((a.node, a.creation, a.ids().len()), (node, 7, 3));
        assert_eq!(alias_owner(&a), None);
        let alias = alloc.make_alias(12345);
        assert_eq!(alias_owner(&alias), Some(12345));
        assert_ne!(alias.ids()[..2], b.ids()[..2], "the counter moved on");
    }
}
