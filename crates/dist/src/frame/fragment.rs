//! Reassembling fragmented messages.
//!
//! A large message may come as a first fragment, `131, 69, SeqId:64, FragId:64` followed by the atom cache
//! part of a header, the control message and the start of the payload, and then continuation fragments,
//! `131, 70, SeqId:64, FragId:64` followed by more payload bytes. `FragId` starts at the number of
//! fragments and counts down to 1, the last. Fragments of different sequences interleave; those of one
//! sequence come in order. The atom cache part takes effect when the first fragment arrives, as later
//! frames may already refer to the entries it stored.
//!
//! A peer chooses how many sequences it leaves open and how much each holds, so both are bounded
//! ([`ReaderLimits`]); the bytes kept are the bytes received, nothing is reserved from the fragment counts.

use std::collections::HashMap;

use bytes::Bytes;
use erlnode_etf::Atom;

use super::{FrameError, ReaderLimits};

/// A sequence in progress.
struct Partial {
    /// The atom cache references of its first fragment.
    refs: Vec<Atom>,
    /// The control message and payload bytes so far.
    data: Vec<u8>,
    /// The fragment id expected next.
    next: u64,
}

/// The sequences in progress on one connection.
pub(crate) struct Reassembly {
    sequences: HashMap<u64, Partial>,
    buffered: usize,
    limits: ReaderLimits,
}

/// A completed message: its atom cache references and its control message and payload bytes.
pub(crate) type Complete = (Vec<Atom>, Bytes);

impl Reassembly {
    pub(crate) fn new(limits: ReaderLimits) -> Self {
        Reassembly { sequences: HashMap::new(), buffered: 0, limits }
    }

    pub(crate) fn limits(&self) -> ReaderLimits {
        self.limits
    }

    /// The sequences in progress.
    pub(crate) fn pending(&self) -> usize {
        self.sequences.len()
    }

    /// The bytes held for sequences in progress.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// A first fragment, with `data` the bytes after its header. A sequence of one fragment is complete at
    /// once.
    pub(crate) fn start(
        &mut self,
        seq: u64,
        frag_id: u64,
        refs: Vec<Atom>,
        data: Bytes,
    ) -> Result<Option<Complete>, FrameError> {
        if frag_id == 0 {
            return Err(FrameError::FragmentIdZero(seq));
        }
        if self.sequences.contains_key(&seq) {
            return Err(FrameError::DuplicateSequence(seq));
        }
        if frag_id == 1 {
            return Ok(Some((refs, data)));
        }
        if self.sequences.len() >= self.limits.max_sequences {
            return Err(FrameError::TooManySequences(self.limits.max_sequences));
        }
        self.reserve(data.len())?;
        self.sequences.insert(seq, Partial { refs, data: data.to_vec(), next: frag_id - 1 });
        Ok(None)
    }

    /// A continuation fragment, with `data` the bytes after its header. Any error drops the sequence.
    pub(crate) fn next(&mut self, seq: u64, frag_id: u64, data: &[u8]) -> Result<Option<Complete>, FrameError> {
        let Some(partial) = self.sequences.get_mut(&seq) else {
            return Err(if frag_id == 0 { FrameError::FragmentIdZero(seq) } else { FrameError::UnknownSequence(seq) });
        };
        let expected = partial.next;
        if frag_id != expected {
            self.drop_sequence(seq);
            return Err(if frag_id == 0 {
                FrameError::FragmentIdZero(seq)
            } else {
                FrameError::FragmentOutOfOrder { seq, expected, got: frag_id }
            });
        }
        if let Err(e) = self.reserve(data.len()) {
            self.drop_sequence(seq);
            return Err(e);
        }
        let Some(partial) = self.sequences.get_mut(&seq) else {
            return Err(FrameError::UnknownSequence(seq));
        };
        partial.data.extend_from_slice(data);
        partial.next -= 1;
        if partial.next > 0 {
            return Ok(None);
        }
        Ok(self.sequences.remove(&seq).map(|p| {
            self.buffered -= p.data.len();
            (p.refs, Bytes::from(p.data))
        }))
    }

    /// Counts `n` more bytes against the limit.
    fn reserve(&mut self, n: usize) -> Result<(), FrameError> {
        match self.buffered.checked_add(n) {
            Some(total) if total <= self.limits.max_buffered_bytes => {
                self.buffered = total;
                Ok(())
            }
            _ => Err(FrameError::BufferLimit(self.limits.max_buffered_bytes)),
        }
    }

    fn drop_sequence(&mut self, seq: u64) {
        if let Some(p) = self.sequences.remove(&seq) {
            self.buffered -= p.data.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_sequences: usize, max_buffered_bytes: usize) -> ReaderLimits {
        ReaderLimits { max_sequences, max_buffered_bytes }
    }

    #[test]
    fn interleaved_sequences_complete_separately() {
        let mut r = Reassembly::new(ReaderLimits::default());
        let a = vec![Atom::new("a")];
        assert_eq!(r.start(7, 3, a.clone(), Bytes::from_static(b"A1")).unwrap(), None);
        assert_eq!(r.start(9, 2, vec![], Bytes::from_static(b"B1")).unwrap(), None);
        assert_eq!(r.next(7, 2, b"A2").unwrap(), None);
        assert_eq!((r.pending(), r.buffered()), (2, 6));
        assert_eq!(r.next(9, 1, b"B2").unwrap(), Some((vec![], Bytes::from_static(b"B1B2"))));
        assert_eq!(r.next(7, 1, b"A3").unwrap(), Some((a, Bytes::from_static(b"A1A2A3"))));
        assert_eq!((r.pending(), r.buffered()), (0, 0));
    }

    #[test]
    fn single_fragment_is_complete_at_once() {
        let mut r = Reassembly::new(ReaderLimits::default());
        assert_eq!(r.start(1, 1, vec![], Bytes::from_static(b"x")).unwrap(), Some((vec![], Bytes::from_static(b"x"))));
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn protocol_errors() {
        let mut r = Reassembly::new(ReaderLimits::default());
        assert_eq!(r.start(1, 0, vec![], Bytes::new()), Err(FrameError::FragmentIdZero(1)));
        assert_eq!(r.next(1, 1, b""), Err(FrameError::UnknownSequence(1)));
        r.start(1, 3, vec![], Bytes::from_static(b"abc")).unwrap();
        assert_eq!(r.start(1, 2, vec![], Bytes::new()), Err(FrameError::DuplicateSequence(1)));
        assert_eq!(r.next(1, 1, b""), Err(FrameError::FragmentOutOfOrder { seq: 1, expected: 2, got: 1 }));
        // The sequence is gone, with its bytes.
        assert_eq!((r.pending(), r.buffered()), (0, 0));
        r.start(2, 2, vec![], Bytes::new()).unwrap();
        assert_eq!(r.next(2, 0, b""), Err(FrameError::FragmentIdZero(2)));
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn huge_fragment_counts_reserve_nothing() {
        let mut r = Reassembly::new(ReaderLimits::default());
        r.start(5, u64::MAX, vec![], Bytes::from_static(b"x")).unwrap();
        for id in (u64::MAX - 1000..u64::MAX).rev() {
            assert_eq!(r.next(5, id, b"").unwrap(), None);
        }
        assert_eq!(r.buffered(), 1);
    }

    #[test]
    fn sequence_limit() {
        let mut r = Reassembly::new(limits(2, 1 << 20));
        r.start(1, 2, vec![], Bytes::new()).unwrap();
        r.start(2, 2, vec![], Bytes::new()).unwrap();
        assert_eq!(r.start(3, 2, vec![], Bytes::new()), Err(FrameError::TooManySequences(2)));
        // A one-fragment sequence needs no room.
        assert!(r.start(3, 1, vec![], Bytes::new()).unwrap().is_some());
        r.next(1, 1, b"").unwrap();
        r.start(3, 2, vec![], Bytes::new()).unwrap();
    }

    #[test]
    fn byte_limit_counts_all_sequences() {
        let mut r = Reassembly::new(limits(10, 10));
        r.start(1, 3, vec![], Bytes::from_static(b"12345")).unwrap();
        r.start(2, 3, vec![], Bytes::from_static(b"1234")).unwrap();
        assert_eq!(r.next(1, 2, b"12"), Err(FrameError::BufferLimit(10)));
        assert_eq!((r.pending(), r.buffered()), (1, 4));
        assert_eq!(r.start(3, 2, vec![], Bytes::from_static(b"1234567")), Err(FrameError::BufferLimit(10)));
        r.next(2, 2, b"123456").unwrap();
        assert_eq!(r.buffered(), 10);
        assert_eq!(r.next(2, 1, b"").unwrap(), Some((vec![], Bytes::from_static(b"1234123456"))));
        assert_eq!(r.buffered(), 0);
    }
}
