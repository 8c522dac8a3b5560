//! Frame files, the format in which the interop tests and `tests/erlang/etf_interop.erl` hand each other
//! encoded terms: each frame a 32-bit big-endian length followed by that many bytes. Finding and running
//! Erlang is `erlnode-erltest`'s.

use std::path::Path;

/// Writes `frames` to `path`, each as a 32-bit big-endian length followed by the bytes.
pub(crate) fn write_frames<B: AsRef<[u8]>>(path: &Path, frames: &[B]) {
    let mut out = Vec::new();
    for frame in frames {
        let frame = frame.as_ref();
        out.extend_from_slice(&u32::try_from(frame.len()).expect("frame fits in 32 bits").to_be_bytes());
        out.extend_from_slice(frame);
    }
    std::fs::write(path, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Reads a file of length-prefixed frames written by [`write_frames`] or by Erlang.
pub(crate) fn read_frames(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut frames = Vec::new();
    let mut rest = &data[..];
    while !rest.is_empty() {
        assert!(rest.len() >= 4, "{}: truncated frame header", path.display());
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        assert!(rest.len() >= 4 + len, "{}: truncated frame", path.display());
        frames.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    frames
}
