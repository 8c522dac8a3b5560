//! A hasher for keys that are unique numbers already (process numbers, interned atoms): a multiply
//! spreads them, where the standard SipHash would spend more than the rest of a lookup.

use std::hash::{BuildHasherDefault, Hasher};

/// Builds [`NumberHasher`]s, for `HashMap`s keyed by process numbers or atoms.
pub(crate) type BuildNumberHasher = BuildHasherDefault<NumberHasher>;

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
        for &b in bytes {
            self.mix(u64::from(b));
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
