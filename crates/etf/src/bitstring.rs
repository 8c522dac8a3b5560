//! Bitstrings whose length is not a whole number of bytes.

use bytes::Bytes;

/// A bitstring of `8 * (len - 1) + bits` bits, such as `<<1:3>>` (BIT_BINARY_EXT).
///
/// Whole-byte bitstrings are binaries ([`Term::Binary`](crate::Term::Binary)); this type holds the rest.
/// The unused low bits of the last byte are always zero, so equal bitstrings have equal bytes.
///
/// ```
/// use erlnode_etf::BitString;
/// let b = BitString::new(vec![0b1010_0000u8].into(), 3).unwrap();
/// assert_eq!(b.to_string(), "<<5:3>>");
/// assert_eq!(b.bit_len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BitString {
    data: Bytes,
    bits: u8,
}

impl BitString {
    /// `data` whose last byte carries only its `bits` high bits (1 to 7); `None` for empty data or another
    /// bit count. Unused low bits are cleared.
    pub fn new(data: Bytes, bits: u8) -> Option<BitString> {
        if data.is_empty() || !(1..=7).contains(&bits) {
            return None;
        }
        let mask = 0xffu8 << (8 - bits);
        let last = data[data.len() - 1];
        let data = if last & !mask == 0 {
            data
        } else {
            let mut owned = data.to_vec();
            let end = owned.len() - 1;
            owned[end] = last & mask;
            Bytes::from(owned)
        };
        Some(BitString { data, bits })
    }

    /// The bytes; the last one holds [`BitString::tail_bits`] significant high bits.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// How many high bits of the last byte belong to the bitstring (1 to 7).
    pub fn tail_bits(&self) -> u8 {
        self.bits
    }

    /// The length in bits.
    pub fn bit_len(&self) -> usize {
        (self.data.len() - 1) * 8 + usize::from(self.bits)
    }
}
