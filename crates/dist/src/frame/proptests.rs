//! Property tests: whatever sequence of messages a [`FrameWriter`] writes, one [`FrameReader`] reads the same
//! messages back, with and without the header and fragments, and no sequence of packets makes the reader
//! panic.

use bytes::{Bytes, BytesMut};
use erlnode_etf::{Atom, Map, Pid, Term};
use proptest::prelude::*;

use super::*;
use crate::DistFlags;

fn flags() -> impl Strategy<Value = DistFlags> {
    let hdr = DistFlags::DIST_HDR_ATOM_CACHE.0;
    let frag = DistFlags::FRAGMENTS.0;
    prop_oneof![Just(0), Just(hdr), Just(frag), Just(hdr | frag)].prop_map(|f| DistFlags(f | DistFlags::UTF8_ATOMS.0))
}

fn fragment_size() -> impl Strategy<Value = usize> {
    prop_oneof![Just(MIN_FRAGMENT_SIZE), MIN_FRAGMENT_SIZE..2000, Just(DEFAULT_MAX_FRAGMENT_SIZE)]
}

/// Atoms from a pool larger than the cache, so that slots are replaced, plus a few unusual ones.
fn atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        8 => (0..6000u32).prop_map(|i| Atom::new(&format!("prop_atom_{i}"))),
        1 => Just(Atom::EMPTY),
        1 => "\\PC{0,12}".prop_map(|s| Atom::new(&s)),
        1 => (1..=255usize).prop_map(|n| Atom::new(&"ŵ".repeat(n))),
    ]
}

fn leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        1 => any::<i64>().prop_map(Term::Int),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Term::Float),
        4 => atom().prop_map(Term::Atom),
        1 => prop::collection::vec(any::<u8>(), 0..100).prop_map(Term::binary),
        1 => (atom(), any::<u32>(), any::<u32>()).prop_map(|(n, id, c)| Term::Pid(Pid::new(n, id, 0, c))),
        1 => Just(Term::NIL),
    ]
}

fn term() -> impl Strategy<Value = Term> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Term::Tuple),
            prop::collection::vec(inner.clone(), 0..8).prop_map(Term::List),
            prop::collection::vec((inner.clone(), inner), 0..5)
                .prop_map(|kv| Term::Map(kv.into_iter().collect::<Map>())),
        ]
    })
}

/// A payload: mostly ordinary terms, sometimes one larger than a fragment, sometimes one of many atoms.
fn payload() -> impl Strategy<Value = Option<Term>> {
    prop_oneof![
        1 => Just(None),
        6 => term().prop_map(Some),
        1 => (70_000..140_000usize, any::<u8>()).prop_map(|(n, b)| Some(Term::binary(vec![b; n]))),
        1 => prop::collection::vec(atom(), 100..400).prop_map(|a| Some(Term::list(a.into_iter().map(Term::Atom).collect::<Vec<_>>()))),
    ]
}

fn messages() -> impl Strategy<Value = Vec<(Term, Option<Term>)>> {
    prop::collection::vec((term(), payload()), 1..24)
}

/// Writes `messages`, cuts the stream into reads of the given sizes, splits packets and reads them back.
fn write_and_read(
    flags: DistFlags,
    fragment: usize,
    messages: &[(Term, Option<Term>)],
    cuts: &[usize],
) -> Result<Vec<Message>, TestCaseError> {
    let mut w = FrameWriter::new(flags).with_max_fragment_size(fragment);
    let mut wire = Vec::new();
    for (i, (control, payload)) in messages.iter().enumerate() {
        if i % 5 == 1 {
            tick(&mut wire);
        }
        w.write(control, payload.as_ref(), &mut wire).map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    let mut r = FrameReader::new();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let mut at = 0;
    let mut cut = cuts.iter().cycle();
    while at < wire.len() {
        let n = cut.next().copied().unwrap_or(wire.len()).clamp(1, wire.len() - at);
        buf.extend_from_slice(&wire[at..at + n]);
        at += n;
        while let Some(body) = split_packet(&mut buf, usize::MAX).map_err(|e| TestCaseError::fail(e.to_string()))? {
            if let Some(m) = r.read(body).map_err(|e| TestCaseError::fail(e.to_string()))? {
                got.push(m);
            }
        }
    }
    prop_assert!(buf.is_empty());
    prop_assert_eq!(r.pending_sequences(), 0);
    prop_assert_eq!(r.buffered_bytes(), 0);
    Ok(got)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn writer_to_reader_round_trips(
        flags in flags(),
        fragment in fragment_size(),
        messages in messages(),
        cuts in prop::collection::vec(1..70_000usize, 1..8),
    ) {
        let got = write_and_read(flags, fragment, &messages, &cuts)?;
        prop_assert_eq!(got.len(), messages.len());
        for (m, (control, payload)) in got.iter().zip(&messages) {
            prop_assert_eq!(&m.control, control);
            prop_assert_eq!(m.payload.as_ref(), payload.as_ref());
        }
    }

    #[test]
    fn thousands_of_atoms_round_trip(
        flags in prop_oneof![Just(DistFlags::DIST_HDR_ATOM_CACHE), Just(DistFlags::DIST_HDR_ATOM_CACHE | DistFlags::FRAGMENTS)],
        fragment in fragment_size(),
        groups in prop::collection::vec(prop::collection::vec(0..6000u32, 150..300), 12..24),
    ) {
        // Each message names up to 300 atoms of 6000, over 2048 distinct ones in all.
        let messages: Vec<(Term, Option<Term>)> = groups
            .iter()
            .map(|g| {
                let atoms: Vec<Term> = g.iter().map(|i| Term::atom(&format!("prop_atom_{i}"))).collect();
                (Term::tuple(atoms[..atoms.len() / 3].to_vec()), Some(Term::list(atoms)))
            })
            .collect();
        let got = write_and_read(flags | DistFlags::UTF8_ATOMS, fragment, &messages, &[1 << 20])?;
        prop_assert_eq!(got.len(), messages.len());
        for (m, (control, payload)) in got.iter().zip(&messages) {
            prop_assert_eq!(&m.control, control);
            prop_assert_eq!(m.payload.as_ref(), payload.as_ref());
        }
    }

    #[test]
    fn arbitrary_packets_never_panic(packets in prop::collection::vec(prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        (prop_oneof![Just(68u8), Just(69), Just(70)], prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(k, rest)| {
            let mut body = vec![131, k];
            body.extend(rest);
            body
        }),
    ], 0..16)) {
        let mut r = FrameReader::with_limits(ReaderLimits { max_sequences: 4, max_buffered_bytes: 256 });
        for p in packets {
            let _ = r.read(Bytes::from(p));
            prop_assert!(r.pending_sequences() <= 4);
            prop_assert!(r.buffered_bytes() <= 256);
        }
    }

    #[test]
    fn mutated_streams_never_panic(
        flags in flags(),
        messages in prop::collection::vec((term(), prop::option::of(term())), 1..6),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut w = FrameWriter::new(flags).with_max_fragment_size(64);
        let mut wire = Vec::new();
        for (control, payload) in &messages {
            w.write(control, payload.as_ref(), &mut wire).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let mut packets: Vec<Vec<u8>> = {
            let mut buf = BytesMut::from(&wire[..]);
            std::iter::from_fn(|| split_packet(&mut buf, usize::MAX).ok().flatten().map(|b| b.to_vec())).collect()
        };
        for (ix, value) in edits {
            let p = ix.index(packets.len());
            if !packets[p].is_empty() {
                let at = ix.index(packets[p].len());
                packets[p][at] = value;
            }
        }
        let mut r = FrameReader::new();
        for p in packets {
            let _ = r.read(Bytes::from(p));
        }
    }
}
