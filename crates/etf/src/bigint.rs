//! Integers beyond `i64`.
//!
//! Erlang integers have no size limit. [`Term::Int`](crate::Term::Int) carries the common `i64` case;
//! [`BigInt`] carries the rest as a sign and little-endian magnitude bytes, which is the wire's own layout
//! (SMALL_BIG_EXT / LARGE_BIG_EXT), so encoding and decoding copy bytes and do no arithmetic.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// An integer of any size: a sign and a little-endian magnitude without trailing zero bytes.
///
/// ```
/// use erlnode_etf::BigInt;
/// let big: BigInt = "-340282366920938463463374607431768211456".parse().unwrap();
/// assert_eq!(big.to_string(), "-340282366920938463463374607431768211456");
/// assert_eq!(BigInt::from(u64::MAX).to_i64(), None);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BigInt {
    negative: bool,
    magnitude: Vec<u8>,
}

/// Text that is not a decimal integer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a decimal integer")]
pub struct ParseBigIntError;

impl BigInt {
    /// Builds an integer from its sign and little-endian magnitude bytes (trailing zeros are dropped).
    pub fn from_le_bytes(negative: bool, magnitude: &[u8]) -> BigInt {
        let len = magnitude.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        BigInt { negative: negative && len > 0, magnitude: magnitude[..len].to_vec() }
    }

    /// `true` below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The magnitude, little-endian, without trailing zero bytes (empty for zero).
    pub fn magnitude(&self) -> &[u8] {
        &self.magnitude
    }

    /// The value as an `i128`, when it fits.
    pub fn to_i128(&self) -> Option<i128> {
        if self.magnitude.len() > 16 {
            return None;
        }
        let mut buf = [0u8; 16];
        buf[..self.magnitude.len()].copy_from_slice(&self.magnitude);
        let m = u128::from_le_bytes(buf);
        if self.negative {
            if m <= i128::MAX as u128 + 1 { Some((m as i128).wrapping_neg()) } else { None }
        } else {
            i128::try_from(m).ok()
        }
    }

    /// The value as an `i64`, when it fits.
    pub fn to_i64(&self) -> Option<i64> {
        self.to_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// The value as a `u128`, when it fits.
    pub fn to_u128(&self) -> Option<u128> {
        if self.negative || self.magnitude.len() > 16 {
            return None;
        }
        let mut buf = [0u8; 16];
        buf[..self.magnitude.len()].copy_from_slice(&self.magnitude);
        Some(u128::from_le_bytes(buf))
    }

    /// Little-endian 32-bit limbs of the magnitude, for decimal conversion.
    fn limbs(&self) -> Vec<u32> {
        self.magnitude
            .chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                u32::from_le_bytes(b)
            })
            .collect()
    }

    fn from_limbs(negative: bool, limbs: &[u32]) -> BigInt {
        let bytes: Vec<u8> = limbs.iter().flat_map(|l| l.to_le_bytes()).collect();
        BigInt::from_le_bytes(negative, &bytes)
    }
}

impl From<i128> for BigInt {
    fn from(v: i128) -> BigInt {
        BigInt::from_le_bytes(v < 0, &v.unsigned_abs().to_le_bytes())
    }
}

impl From<u128> for BigInt {
    fn from(v: u128) -> BigInt {
        BigInt::from_le_bytes(false, &v.to_le_bytes())
    }
}

impl From<i64> for BigInt {
    fn from(v: i64) -> BigInt {
        BigInt::from(i128::from(v))
    }
}

impl From<u64> for BigInt {
    fn from(v: u64) -> BigInt {
        BigInt::from(u128::from(v))
    }
}

impl PartialOrd for BigInt {
    fn partial_cmp(&self, other: &BigInt) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BigInt {
    fn cmp(&self, other: &BigInt) -> Ordering {
        let by_magnitude = self
            .magnitude
            .len()
            .cmp(&other.magnitude.len())
            .then_with(|| self.magnitude.iter().rev().cmp(other.magnitude.iter().rev()));
        match (self.negative, other.negative) {
            (false, false) => by_magnitude,
            (true, true) => by_magnitude.reverse(),
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
        }
    }
}

impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.to_i128() {
            return write!(f, "{v}");
        }
        // Repeated division by 10^9 yields nine decimal digits at a time, least significant first.
        const CHUNK: u64 = 1_000_000_000;
        let mut limbs = self.limbs();
        let mut chunks = Vec::new();
        while limbs.iter().any(|&l| l != 0) {
            let mut rem = 0u64;
            for limb in limbs.iter_mut().rev() {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / CHUNK) as u32;
                rem = cur % CHUNK;
            }
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
            chunks.push(rem as u32);
        }
        let mut out = String::with_capacity(chunks.len() * 9 + 1);
        if self.negative {
            out.push('-');
        }
        let mut iter = chunks.iter().rev();
        if let Some(first) = iter.next() {
            out.push_str(&first.to_string());
        }
        for chunk in iter {
            out.push_str(&format!("{chunk:09}"));
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for BigInt {
    type Err = ParseBigIntError;

    /// Parses optional sign and decimal digits (`_` separators allowed, as in Erlang source).
    fn from_str(s: &str) -> Result<BigInt, ParseBigIntError> {
        let (negative, digits) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
            return Err(ParseBigIntError);
        }
        let mut limbs: Vec<u32> = Vec::new();
        for c in digits.bytes().filter(|&c| c != b'_') {
            if !c.is_ascii_digit() {
                return Err(ParseBigIntError);
            }
            let mut carry = u64::from(c - b'0');
            for limb in limbs.iter_mut() {
                let cur = u64::from(*limb) * 10 + carry;
                *limb = cur as u32;
                carry = cur >> 32;
            }
            if carry != 0 {
                limbs.push(carry as u32);
            }
        }
        Ok(BigInt::from_limbs(negative, &limbs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_round_trip() {
        for s in [
            "0",
            "1",
            "-1",
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678901234567890123456789012345678901234567890",
            "-1000000000000000000000000000000000000000000000",
        ] {
            let b: BigInt = s.parse().unwrap();
            assert_eq!(b.to_string(), s);
        }
        assert_eq!("1_000".parse::<BigInt>().unwrap().to_i64(), Some(1000));
        assert!("1_".parse::<BigInt>().is_err());
        assert!("".parse::<BigInt>().is_err());
        assert!("12a".parse::<BigInt>().is_err());
    }

    #[test]
    fn conversions_respect_bounds() {
        assert_eq!(BigInt::from(i128::MIN).to_i128(), Some(i128::MIN));
        assert_eq!(BigInt::from(u128::MAX).to_i128(), None);
        assert_eq!(BigInt::from(u128::MAX).to_u128(), Some(u128::MAX));
        assert_eq!(BigInt::from_le_bytes(true, &[0, 0]), BigInt::from(0i64));
        assert!(BigInt::from(-5i64) < BigInt::from(3i64));
        assert!(BigInt::from(-500i64) < BigInt::from(-3i64));
        assert!(BigInt::from(u128::MAX) > BigInt::from(i64::MAX));
    }
}
