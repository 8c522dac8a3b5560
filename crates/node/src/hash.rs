//! A hasher for keys that are unique numbers already (process numbers, interned atoms, pids, references):
//! a multiply
//! spreads them, where the standard SipHash would spend more than the rest of a lookup. Keys come from this
//! node or from authenticated peers, which can do worse than collide hashes.

use std::hash::{BuildHasherDefault, Hasher};

/// Builds [`NumberHasher`]s, for `HashMap`s keyed by process numbers or atoms.
pub(crate) type BuildNumberHasher = BuildHasherDefault<NumberHasher>;

/// A `HashMap` keyed by pids, references, atoms or numbers.
pub(crate) type NumberMap<K, V> = std::collections::HashMap<K, V, BuildNumberHasher>;

/// A `HashSet` of pids, references, atoms or numbers.
pub(crate) type NumberSet<K> = std::collections::HashSet<K, BuildNumberHasher>;

/// Hashes a number (or a few) by multiplying; not for keys a peer chooses freely.
#[derive(Default)]
pub(crate) struct NumberHasher(u64);

impl NumberHasher {
    fn mix(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.mix(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }
}
