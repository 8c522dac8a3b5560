//! The handshake digest: MD5 of the cookie followed by the challenge as decimal text, compared in constant
//! time.

use md5::{Digest, Md5};

/// `MD5(Cookie ++ integer_to_list(Challenge))`, the challenge read as an unsigned 32-bit integer.
pub fn digest(cookie: &[u8], challenge: u32) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(cookie);
    md5.update(challenge.to_string().as_bytes());
    md5.finalize().into()
}

/// `true` when `a` equals `b`, taking the same time wherever they differ (so a peer cannot find a digest
/// byte by byte from response times).
pub fn digests_equal(a: &[u8; 16], b: &[u8; 16]) -> bool {
    let mut difference = 0u8;
    for (x, y) in a.iter().zip(b) {
        difference |= x ^ y;
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_erlang() {
        // erlang:md5("secret" ++ integer_to_list(3735928559)) in erl.
        let expected = [0xc3, 0x93, 0x9b, 0x31, 0xd7, 0xa9, 0x13, 0xd8, 0x2e, 0x2a, 0xce, 0x09, 0x24, 0x7c, 0x7b, 0x41];
        assert_eq!(digest(b"secret", 0xDEAD_BEEF), expected);
    }

    #[test]
    fn equality_is_exact() {
        let d = digest(b"c", 1);
        assert!(digests_equal(&d, &d));
        let mut other = d;
        other[15] ^= 1;
        assert!(!digests_equal(&d, &other));
    }
}
