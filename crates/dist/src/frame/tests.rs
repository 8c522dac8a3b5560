//! Tests across the frame modules: byte vectors from the specification, the writer's exact output, and
//! writer-to-reader round trips over one connection.

use bytes::{Bytes, BytesMut};
use erlnode_etf::{Atom, Map, Pid, Term};

use super::atom_cache::slot_of;
use super::*;
use crate::DistFlags;
use crate::control::Control;

const HDR: DistFlags = DistFlags(DistFlags::DIST_HDR_ATOM_CACHE.0 | DistFlags::UTF8_ATOMS.0);
const FRAG: DistFlags = DistFlags(DistFlags::FRAGMENTS.0 | DistFlags::UTF8_ATOMS.0);
const BOTH: DistFlags = DistFlags(HDR.0 | FRAG.0);
const NONE: DistFlags = DistFlags::UTF8_ATOMS;

/// Every packet body in `wire`, which must hold whole packets only.
fn packets(wire: &[u8]) -> Vec<Bytes> {
    let mut buf = BytesMut::from(wire);
    let mut out = Vec::new();
    while let Some(body) = split_packet(&mut buf, usize::MAX).unwrap() {
        out.push(body);
    }
    assert!(buf.is_empty(), "{} bytes of a partial packet left", buf.len());
    out
}

/// Feeds every packet of `wire` to `reader`, returning the messages completed.
fn read_all(reader: &mut FrameReader, wire: &[u8]) -> Vec<Message> {
    packets(wire).into_iter().filter_map(|body| reader.read(body).unwrap()).collect()
}

fn read_one(reader: &mut FrameReader, body: &[u8]) -> Result<Option<Message>, FrameError> {
    reader.read(Bytes::copy_from_slice(body))
}

fn msg(control: &str, payload: Option<&str>) -> Message {
    Message { control: control.parse().unwrap(), payload: payload.map(|p| p.parse().unwrap()) }
}

#[test]
fn tick_and_empty_body() {
    let mut wire = Vec::new();
    tick(&mut wire);
    assert_eq!(wire, [0, 0, 0, 0]);
    assert_eq!(FrameReader::new().read(Bytes::new()).unwrap(), None);
}

#[test]
fn split_packet_waits_for_whole_packets_and_bounds_length() {
    let mut buf = BytesMut::from(&[0, 0, 0, 3, 1, 2][..]);
    assert_eq!(split_packet(&mut buf, 10).unwrap(), None);
    buf.extend_from_slice(&[3, 0, 0]);
    assert_eq!(split_packet(&mut buf, 10).unwrap(), Some(Bytes::from_static(&[1, 2, 3])));
    assert_eq!(split_packet(&mut buf, 10).unwrap(), None);
    buf.extend_from_slice(&[0, 0]);
    assert_eq!(split_packet(&mut buf, 10).unwrap(), Some(Bytes::new()));
    assert!(buf.is_empty());
    let mut buf = BytesMut::from(&[0, 0, 1, 0][..]);
    assert_eq!(split_packet(&mut buf, 255), Err(FrameError::PacketTooLarge { len: 256, max: 255 }));
}

#[test]
fn packet_at_walks_the_packets_of_one_buffer() {
    // A packet, a tick, and the start of a third.
    let data = [0, 0, 0, 2, 9, 8, 0, 0, 0, 0, 0, 0, 0, 3, 1];
    assert_eq!(packet_at(&data, 0, 10).unwrap(), Some(4..6));
    assert_eq!(packet_at(&data, 6, 10).unwrap(), Some(10..10));
    assert_eq!(packet_at(&data, 10, 10).unwrap(), None);
    assert_eq!(packet_at(&data, 12, 10).unwrap(), None);
    assert_eq!(packet_at(&data, data.len() + 1, 10).unwrap(), None);
    assert_eq!(packet_at(&data, 10, 2), Err(FrameError::PacketTooLarge { len: 3, max: 2 }));
}

#[test]
fn pass_through_packets() {
    let mut r = FrameReader::new();
    // {7, ok} then 5.
    let body = [112, 131, 104, 2, 97, 7, 119, 2, b'o', b'k', 131, 97, 5];
    assert_eq!(read_one(&mut r, &body).unwrap(), Some(msg("{7, ok}", Some("5"))));
    assert_eq!(read_one(&mut r, &body[..10]).unwrap(), Some(msg("{7, ok}", None)));
    assert_eq!(read_one(&mut r, &[112]), Err(FrameError::MissingControl));
    assert_eq!(read_one(&mut r, &[112, 130, 97, 1]), Err(FrameError::BadVersion(130)));
    assert_eq!(read_one(&mut r, &[112, 131, 97, 1, 97, 1]), Err(FrameError::BadVersion(97)));
    assert_eq!(read_one(&mut r, &[112, 131, 97, 1, 131, 97, 1, 0]), Err(FrameError::TrailingBytes(1)));
    assert!(matches!(read_one(&mut r, &[112, 131, 82, 0]), Err(FrameError::Control(_))));
    assert!(matches!(read_one(&mut r, &[112, 131, 97, 1, 131, 104]), Err(FrameError::Payload(_))));
}

#[test]
fn header_without_atoms() {
    let mut r = FrameReader::new();
    assert_eq!(read_one(&mut r, &[131, 68, 0, 104, 1, 97, 1]).unwrap(), Some(msg("{1}", None)));
    assert_eq!(read_one(&mut r, &[131, 68, 0, 104, 1, 97, 1, 97, 2]).unwrap(), Some(msg("{1}", Some("2"))));
    assert_eq!(read_one(&mut r, &[131, 68, 0]), Err(FrameError::MissingControl));
    assert_eq!(read_one(&mut r, &[131, 68]), Err(FrameError::Truncated("atom cache reference count")));
    assert_eq!(read_one(&mut r, &[131]), Err(FrameError::Truncated("distribution header")));
    assert_eq!(read_one(&mut r, &[131, 71, 0]), Err(FrameError::UnknownHeader(71)));
    assert_eq!(read_one(&mut r, &[7]), Err(FrameError::UnknownPacket(7)));
    // Terms after a header have no version byte.
    assert!(matches!(read_one(&mut r, &[131, 68, 0, 131, 97, 1]), Err(FrameError::Control(_))));
    // A reference past the frame's references.
    assert!(matches!(read_one(&mut r, &[131, 68, 1, 0x08, 0, 1, b'x', 82, 1]), Err(FrameError::Control(_))));
}

#[test]
fn header_with_new_and_old_entries_in_several_segments() {
    let mut r = FrameReader::new();
    // N = 3: 'app' new in segment 2 index 10 (field 0xa), 'b@h' new in segment 7 index 0 (0xf), '' new in
    // segment 0 index 1 (0x8); flag bytes 0xfa, then 0x08 (LongAtoms 0 in the high half).
    let body = [
        131, 68, 3, 0xfa, 0x08, 10, 3, b'a', b'p', b'p', 0, 3, b'b', b'@', b'h', 1, 0, // header
        104, 3, 82, 0, 82, 2, 88, 82, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, // {app, '', <b@h.5.0>}
        82, 0, // app
    ];
    let expected = Message {
        control: Term::tuple(vec![Term::atom("app"), Term::atom(""), Term::Pid(Pid::new(Atom::new("b@h"), 5, 0, 1))]),
        payload: Some(Term::atom("app")),
    };
    assert_eq!(read_one(&mut r, &body).unwrap(), Some(expected.clone()));
    // The same atoms as old entries, N = 4 with 'app' twice: fields 0x2, 0x7, 0x0, 0x2; 3 flag bytes.
    let body = [
        131, 68, 4, 0x72, 0x20, 0x00, 10, 0, 1, 10, // header
        104, 3, 82, 3, 82, 2, 88, 82, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 82, 0,
    ];
    assert_eq!(read_one(&mut r, &body).unwrap(), Some(expected));
    // An old entry in a segment nothing was stored in.
    assert_eq!(
        read_one(&mut r, &[131, 68, 1, 0x05, 10, 97, 1]),
        Err(FrameError::AtomCacheMiss { segment: 5, index: 10 })
    );
}

#[test]
fn header_with_long_atoms() {
    let mut r = FrameReader::new();
    let long = "ж".repeat(200); // 400 bytes
    // N = 2, both new in segment 1 (fields 0x9 and 0x9), LongAtoms in the low half of the second flag byte.
    let mut body = vec![131, 68, 2, 0x99, 0x01, 5, 0x01, 0x90];
    body.extend_from_slice(long.as_bytes());
    body.extend_from_slice(&[6, 0, 2, b'o', b'k']);
    body.extend_from_slice(&[104, 2, 82, 0, 82, 1]);
    let expected = Message { control: Term::tuple(vec![Term::atom(&long), Term::atom("ok")]), payload: None };
    assert_eq!(read_one(&mut r, &body).unwrap(), Some(expected));
    // N = 1, new, LongAtoms in the high half of the only flag byte.
    let body = [131, 68, 1, 0x18, 3, 0, 2, b'h', b'i', 82, 0];
    assert_eq!(read_one(&mut r, &body).unwrap(), Some(msg("hi", None)));
}

#[test]
fn fragment_example_of_the_specification() {
    let mut r = FrameReader::new();
    // The example's two old references, segment 4 index 10 (the node name) and segment 0 index 5 (''),
    // stored by an earlier frame.
    let setup = [131, 68, 2, 0x8c, 0x00, 10, 6, b'a', b'@', b'h', b'o', b's', b't', 5, 0, 104, 0];
    assert_eq!(read_one(&mut r, &setup).unwrap(), Some(msg("{}", None)));
    let mut first = vec![
        131, 69, 0, 0, 2, 168, 0, 0, 5, 83, 0, 0, 0, 0, 0, 0, 0, 2, // sequence id and fragment id
        5, 4, 137, 9, 10, 5, 236, 3, 114, 101, 103, 9, 4, 99, 97, 108, 108, // atom cache updates
        238, 13, 115, 101, 116, 95, 103, 101, 116, 95, 115, 116, 97, 116, 101, //
        104, 4, 97, 6, 103, 82, 0, 0, 0, 0, 85, 0, 0, 0, 0, 2, 82, 1, 82, 2, // control message
        104, 3, 82, 3, 103, 82, 0, 0, 0, 0, 245, 0, 0, 0, 2, 2, // message
        104, 2, 82, 4, 109, 0, 0, 0, 128,
    ];
    first.extend_from_slice(&[0; 103]);
    let mut second = vec![131, 70, 0, 0, 2, 168, 0, 0, 5, 83, 0, 0, 0, 0, 0, 0, 0, 1];
    second.extend_from_slice(&[0; 25]);
    assert_eq!(read_one(&mut r, &first).unwrap(), None);
    assert_eq!((r.pending_sequences(), r.buffered_bytes()), (1, first.len() - 18 - 32));
    // As the bytes say: the example's text calls both pids <0.245.2>, the control message's bytes hold 85.0.
    let node = Atom::new("a@host");
    let expected = Message {
        control: Term::tuple(vec![
            Term::Int(6),
            Term::Pid(Pid::new(node, 85, 0, 2)),
            Term::atom(""),
            Term::atom("reg"),
        ]),
        payload: Some(Term::tuple(vec![
            Term::atom("call"),
            Term::Pid(Pid::new(node, 245, 2, 2)),
            Term::tuple(vec![Term::atom("set_get_state"), Term::binary(vec![0u8; 128])]),
        ])),
    };
    assert_eq!(read_one(&mut r, &second).unwrap(), Some(expected));
    assert_eq!((r.pending_sequences(), r.buffered_bytes()), (0, 0));
    // The first fragment's new entries are in the cache: segment 1 index 236 is 'reg'.
    assert_eq!(read_one(&mut r, &[131, 68, 1, 0x01, 236, 82, 0]).unwrap(), Some(msg("reg", None)));
}

#[test]
fn interleaved_fragments() {
    let mut r = FrameReader::new();
    let frag = |kind: u8, seq: u64, id: u64, rest: &[u8]| {
        let mut body = vec![131, kind];
        body.extend_from_slice(&seq.to_be_bytes());
        body.extend_from_slice(&id.to_be_bytes());
        body.extend_from_slice(rest);
        body
    };
    // A: {1} then <<1,2,3,4>> in three fragments. B: {x} (x new in segment 3 index 0) then 7 in two.
    let a1 = frag(69, 1, 3, &[0, 104, 1, 97, 1, 109, 0, 0]);
    let b1 = frag(69, u64::MAX, 2, &[1, 0x0b, 0, 1, b'x', 104, 1, 82, 0]);
    let a2 = frag(70, 1, 2, &[0, 4, 1, 2]);
    let b2 = frag(70, u64::MAX, 1, &[97, 7]);
    let a3 = frag(70, 1, 1, &[3, 4]);
    assert_eq!(read_one(&mut r, &a1).unwrap(), None);
    assert_eq!(read_one(&mut r, &b1).unwrap(), None);
    // Between fragments, another message may already use the entry B's first fragment stored.
    assert_eq!(read_one(&mut r, &[131, 68, 1, 0x03, 0, 82, 0]).unwrap(), Some(msg("x", None)));
    assert_eq!(read_one(&mut r, &a2).unwrap(), None);
    assert_eq!(r.pending_sequences(), 2);
    assert_eq!(read_one(&mut r, &b2).unwrap(), Some(msg("{x}", Some("7"))));
    assert_eq!(read_one(&mut r, &a3).unwrap(), Some(msg("{1}", Some("<<1,2,3,4>>"))));
    // A first fragment that is also the last.
    assert_eq!(read_one(&mut r, &frag(69, 9, 1, &[0, 97, 3])).unwrap(), Some(msg("3", None)));
    // Errors.
    assert_eq!(read_one(&mut r, &frag(70, 2, 1, &[])), Err(FrameError::UnknownSequence(2)));
    assert_eq!(read_one(&mut r, &frag(69, 2, 0, &[0, 97, 3])), Err(FrameError::FragmentIdZero(2)));
    assert_eq!(read_one(&mut r, &frag(69, 2, 3, &[0, 97, 3])).unwrap(), None);
    assert_eq!(read_one(&mut r, &frag(69, 2, 3, &[0, 97, 3])), Err(FrameError::DuplicateSequence(2)));
    assert_eq!(
        read_one(&mut r, &frag(70, 2, 1, &[])),
        Err(FrameError::FragmentOutOfOrder { seq: 2, expected: 2, got: 1 })
    );
    assert_eq!(read_one(&mut r, &[131, 70, 0, 0, 0]), Err(FrameError::Truncated("fragment sequence id")));
    assert_eq!(read_one(&mut r, &frag(69, 3, 2, &[])), Err(FrameError::Truncated("atom cache reference count")));
}

#[test]
fn reader_limits() {
    let limits = ReaderLimits { max_sequences: 2, max_buffered_bytes: 100 };
    let mut r = FrameReader::with_limits(limits);
    assert_eq!(r.limits(), limits);
    assert_eq!(ReaderLimits::default(), ReaderLimits { max_sequences: 1024, max_buffered_bytes: 128 << 20 });
    let first = |seq: u64, len: usize| {
        let mut body = vec![131, 69];
        body.extend_from_slice(&seq.to_be_bytes());
        body.extend_from_slice(&2u64.to_be_bytes());
        body.push(0);
        body.resize(body.len() + len, 97);
        body
    };
    assert_eq!(read_one(&mut r, &first(1, 60)).unwrap(), None);
    assert_eq!(read_one(&mut r, &first(2, 41)), Err(FrameError::BufferLimit(100)));
    assert_eq!(read_one(&mut r, &first(2, 40)).unwrap(), None);
    assert_eq!(read_one(&mut r, &first(3, 0)), Err(FrameError::TooManySequences(2)));
    assert_eq!(r.buffered_bytes(), 100);
    assert!(format!("{r:?}").contains("buffered_bytes: 100"));
}

/// A message whose control tuple and payload use the given atoms.
fn message_with(atoms: &[Atom], payload: Option<Term>) -> (Term, Option<Term>) {
    let control = Term::tuple(atoms.iter().map(|&a| Term::Atom(a)).collect::<Vec<_>>());
    (control, payload)
}

#[test]
fn writer_header_bytes() {
    let mut w = FrameWriter::new(HDR);
    // Slots follow the atoms' place in memory: a node name whose slot is not the empty atom's.
    let node = ["w@h", "x@h", "y@h"]
        .map(Atom::new)
        .into_iter()
        .find(|&a| slot_of(a) != slot_of(Atom::EMPTY))
        .expect("three atoms do not share one slot");
    let (s0, s1) = (slot_of(Atom::EMPTY), slot_of(node));
    let control = Term::tuple(vec![Term::Int(2), Term::atom(""), Term::Pid(Pid::new(node, 1, 0, 3))]);
    let payload = Term::atom("");
    let mut out = Vec::new();
    w.write(&control, Some(&payload), &mut out).unwrap();
    let field0 = 8 | (s0 >> 8) as u8;
    let field1 = 8 | (s1 >> 8) as u8;
    let mut body = vec![131, 68, 2, field1 << 4 | field0, 0, s0 as u8, 0, s1 as u8, 3];
    body.extend_from_slice(node.as_str().as_bytes());
    body.extend_from_slice(&[104, 3, 97, 2, 82, 0, 88, 82, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 82, 0]);
    let mut expected = (body.len() as u32).to_be_bytes().to_vec();
    expected.extend_from_slice(&body);
    assert_eq!(out, expected);
    // Again: old entries now.
    out.clear();
    w.write(&control, Some(&payload), &mut out).unwrap();
    let mut body = vec![131, 68, 2, (field1 & 7) << 4 | (field0 & 7), 0, s0 as u8, s1 as u8];
    body.extend_from_slice(&[104, 3, 97, 2, 82, 0, 88, 82, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 82, 0]);
    assert_eq!(&out[4..], &body[..]);
    // No atoms: N = 0.
    out.clear();
    w.write(&Term::tuple(vec![Term::Int(1)]), None, &mut out).unwrap();
    assert_eq!(out, [0, 0, 0, 7, 131, 68, 0, 104, 1, 97, 1]);
}

#[test]
fn writer_pass_through_bytes() {
    let mut w = FrameWriter::new(NONE);
    let mut out = vec![9];
    w.write(&"{7, ok}".parse().unwrap(), Some(&Term::Int(5)), &mut out).unwrap();
    assert_eq!(out, [9, 0, 0, 0, 13, 112, 131, 104, 2, 97, 7, 119, 2, b'o', b'k', 131, 97, 5]);
    // Without UTF8_ATOMS, atoms are Latin-1.
    let mut out = Vec::new();
    FrameWriter::new(DistFlags::EMPTY).write(&Term::atom("ok"), None, &mut out).unwrap();
    assert_eq!(out, [0, 0, 0, 7, 112, 131, 100, 0, 2, b'o', b'k']);
}

#[test]
fn writer_with_fragments_alone_uses_the_header_without_references() {
    let mut w = FrameWriter::new(FRAG);
    let mut out = Vec::new();
    w.write(&"{7, ok}".parse().unwrap(), None, &mut out).unwrap();
    assert_eq!(out, [0, 0, 0, 11, 131, 68, 0, 104, 2, 97, 7, 119, 2, b'o', b'k']);
}

#[test]
fn writer_error_changes_nothing() {
    let mut w = FrameWriter::new(HDR);
    let atom = Atom::new("writer_error_changes_nothing");
    let mut out = vec![1, 2, 3];
    let err = w.write(&Term::Atom(atom), Some(&Term::Float(f64::NAN)), &mut out).unwrap_err();
    assert!(matches!(err, FrameError::Encode(_)), "{err}");
    assert_eq!(out, [1, 2, 3]);
    // The atom was never sent, so it is still a new entry.
    w.write(&Term::Atom(atom), None, &mut out).unwrap();
    assert_eq!(out[3 + 4 + 3] & 8, 8);
    let mut r = FrameReader::new();
    assert_eq!(read_all(&mut r, &out[3..]), [Message { control: Term::Atom(atom), payload: None }]);
    let mut out = vec![1];
    let mut p = FrameWriter::new(NONE);
    assert!(p.write(&Term::Int(1), Some(&Term::Float(f64::INFINITY)), &mut out).is_err());
    assert_eq!(out, [1]);
}

#[test]
fn writer_splits_large_messages() {
    let mut w = FrameWriter::new(BOTH).with_max_fragment_size(1000);
    assert_eq!(w.max_fragment_size(), 1000);
    assert_eq!(FrameWriter::new(BOTH).with_max_fragment_size(3).max_fragment_size(), MIN_FRAGMENT_SIZE);
    let control: Term = "{6, <a@h.80.0>, '', big}".parse().unwrap();
    let payload = Term::binary(vec![7u8; 10_000]);
    let mut out = Vec::new();
    w.write(&control, Some(&payload), &mut out).unwrap();
    w.write(&control, Some(&payload), &mut out).unwrap();
    let bodies = packets(&out);
    let count = bodies.len() / 2;
    assert_eq!(count, 11);
    for (i, body) in bodies.iter().enumerate() {
        assert!(body.len() <= 1000, "fragment {i} has {} bytes", body.len());
        let kind = if i % count == 0 { DIST_FRAG_HEADER } else { DIST_FRAG_CONT };
        assert_eq!(&body[..2], &[VERSION, kind]);
        let seq = u64::from_be_bytes(body[2..10].try_into().unwrap());
        let id = u64::from_be_bytes(body[10..18].try_into().unwrap());
        assert_eq!(seq, 1 + (i / count) as u64);
        assert_eq!(id, (count - i % count) as u64);
    }
    let mut r = FrameReader::new();
    let expected = Message { control: control.clone(), payload: Some(payload.clone()) };
    assert_eq!(read_all(&mut r, &out), [expected.clone(), expected]);
    // Without FRAGMENTS the same message is one packet.
    let mut out = Vec::new();
    FrameWriter::new(HDR).with_max_fragment_size(1000).write(&control, Some(&payload), &mut out).unwrap();
    assert_eq!(packets(&out).len(), 1);
    // A control message larger than a fragment, with no payload, is one packet too.
    let mut out = Vec::new();
    let big = Term::tuple(vec![Term::Int(1), Term::binary(vec![0u8; 5000])]);
    FrameWriter::new(BOTH).with_max_fragment_size(1000).write(&big, None, &mut out).unwrap();
    assert_eq!(packets(&out)[0][..2], [VERSION, DIST_HEADER]);
}

#[test]
fn writer_uses_at_most_255_references_a_frame() {
    let atoms: Vec<Atom> = (0..700).map(|i| Atom::new(&format!("refs_limit_{i}"))).collect();
    let (control, payload) =
        message_with(&atoms, Some(Term::list(atoms.iter().rev().map(|&a| Term::Atom(a)).collect::<Vec<_>>())));
    let mut w = FrameWriter::new(HDR);
    let mut out = Vec::new();
    w.write(&control, payload.as_ref(), &mut out).unwrap();
    assert_eq!(out[6], 255);
    w.write(&control, payload.as_ref(), &mut out).unwrap();
    let mut r = FrameReader::new();
    let expected = Message { control, payload };
    assert_eq!(read_all(&mut r, &out), [expected.clone(), expected]);
}

#[test]
fn truncated_packets_never_panic() {
    let mut wire = Vec::new();
    let control: Term = "{22, <a@h.80.0>, <b@h.91.0>}".parse().unwrap();
    let payload: Term = "{'$gen_call', {<a@h.80.0>, [alias | x]}, {is_auth, 'a@h'}}".parse().unwrap();
    let mut w = FrameWriter::new(BOTH).with_max_fragment_size(64);
    w.write(&control, Some(&payload), &mut wire).unwrap();
    w.write(&control, Some(&payload), &mut wire).unwrap();
    FrameWriter::new(NONE).write(&control, Some(&payload), &mut wire).unwrap();
    let bodies = packets(&wire);
    for (i, body) in bodies.iter().enumerate() {
        for end in 0..body.len() {
            let mut r = FrameReader::new();
            for earlier in &bodies[..i] {
                let _ = r.read(earlier.clone());
            }
            let _ = r.read(body.slice(..end));
            // Whatever happened, the reader takes the rest of the stream without panicking.
            for later in &bodies[i + 1..] {
                let _ = r.read(later.clone());
            }
        }
    }
}

#[test]
fn single_byte_changes_never_panic() {
    let mut wire = Vec::new();
    let control: Term = "{6, <a@h.80.0>, '', net_kernel}".parse().unwrap();
    let payload: Term =
        "{'$gen_call', {<a@h.80.0>, tag}, {is_auth, 'a@h'}, <<1,2,3>>, #{k => [1.5, -7]}}".parse().unwrap();
    let mut w = FrameWriter::new(BOTH).with_max_fragment_size(48);
    w.write(&control, Some(&payload), &mut wire).unwrap();
    let bodies = packets(&wire);
    for (i, body) in bodies.iter().enumerate() {
        for at in 0..body.len() {
            for value in [0u8, 1, 0x7f, 0x80, 0xff, body[at] ^ 0x08] {
                let mut changed = body.to_vec();
                changed[at] = value;
                let mut r = FrameReader::new();
                for (j, other) in bodies.iter().enumerate() {
                    let _ = r.read(if i == j { Bytes::from(changed.clone()) } else { other.clone() });
                }
            }
        }
    }
}

/// A small deterministic generator, so that the round trips below need no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn random_term(rng: &mut Rng, atoms: &[Atom], depth: usize) -> Term {
    let pick = |rng: &mut Rng| atoms[rng.below(atoms.len())];
    match rng.below(if depth == 0 { 6 } else { 10 }) {
        0 => Term::Int(rng.next() as i64 >> rng.below(64)),
        1 => Term::Float((rng.next() >> 11) as f64 / 1024.0),
        2 | 3 => Term::Atom(pick(rng)),
        4 => {
            let len = rng.below(40);
            Term::binary((0..len).map(|_| rng.next() as u8).collect::<Vec<u8>>())
        }
        5 => Term::Pid(Pid::new(pick(rng), rng.next() as u32, 0, 7)),
        6 | 7 => {
            let n = rng.below(6);
            Term::tuple((0..n).map(|_| random_term(rng, atoms, depth - 1)).collect::<Vec<_>>())
        }
        8 => {
            let n = rng.below(6);
            Term::list((0..n).map(|_| random_term(rng, atoms, depth - 1)).collect::<Vec<_>>())
        }
        _ => {
            let n = rng.below(4);
            Term::Map(
                (0..n)
                    .map(|_| (random_term(rng, atoms, depth - 1), random_term(rng, atoms, depth - 1)))
                    .collect::<Map>(),
            )
        }
    }
}

/// Writes `messages` with a writer for `flags` and reads them back with one reader, packet by packet.
fn round_trip(flags: DistFlags, max_fragment: usize, messages: &[(Term, Option<Term>)]) {
    let mut w = FrameWriter::new(flags).with_max_fragment_size(max_fragment);
    let mut r = FrameReader::new();
    let mut wire = Vec::new();
    for (i, (control, payload)) in messages.iter().enumerate() {
        if i % 7 == 3 {
            tick(&mut wire);
        }
        w.write(control, payload.as_ref(), &mut wire).unwrap();
    }
    let got = read_all(&mut r, &wire);
    assert_eq!(got.len(), messages.len());
    for (i, (m, (control, payload))) in got.iter().zip(messages).enumerate() {
        assert_eq!(&m.control, control, "message {i} with {flags:?}");
        assert_eq!(m.payload.as_ref(), payload.as_ref(), "message {i} with {flags:?}");
    }
    assert_eq!(r.pending_sequences(), 0);
}

#[test]
fn random_messages_round_trip() {
    let atoms: Vec<Atom> = (0..300).map(|i| Atom::new(&format!("rt_{i}"))).chain([Atom::EMPTY, Atom::OK]).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..40 {
        let messages: Vec<(Term, Option<Term>)> = (0..1 + rng.below(30))
            .map(|_| {
                let control = random_term(&mut rng, &atoms, 2);
                let payload = (rng.below(3) > 0).then(|| random_term(&mut rng, &atoms, 4));
                (control, payload)
            })
            .collect();
        let max_fragment = [MIN_FRAGMENT_SIZE, 100, 1000, DEFAULT_MAX_FRAGMENT_SIZE][case % 4];
        for flags in [NONE, HDR, FRAG, BOTH] {
            round_trip(flags, max_fragment, &messages);
        }
    }
}

#[test]
fn thousands_of_atoms_replace_cache_slots() {
    // 5000 distinct atoms, in messages of 1 to 300 atoms, revisiting earlier ones: slots are replaced many
    // times, and later frames mix old entries, replaced entries and inline atoms.
    let atoms: Vec<Atom> = (0..5000).map(|i| Atom::new(&format!("many_atoms_{i}_{}", "é".repeat(i % 7)))).collect();
    let mut rng = Rng(42);
    let mut messages = Vec::new();
    let mut next = 0;
    while next < atoms.len() {
        let n = 1 + rng.below(300);
        let mut used: Vec<Atom> = atoms[next..(next + n).min(atoms.len())].to_vec();
        for _ in 0..rng.below(40) {
            used.push(atoms[rng.below(next + 1)]);
        }
        next += n;
        let payload = Term::list(used.iter().rev().map(|&a| Term::Atom(a)).collect::<Vec<_>>());
        messages.push(message_with(&used, Some(payload)));
    }
    for flags in [HDR, BOTH] {
        round_trip(flags, 2000, &messages);
    }
}

#[test]
fn large_messages_round_trip() {
    let big = Term::binary((0..200_000u32).map(|i| i as u8).collect::<Vec<u8>>());
    let long_atom = Atom::new(&"ŝ".repeat(255));
    let messages = vec![
        ("{2, '', <a@h.1.0>}".parse().unwrap(), Some(big.clone())),
        (Term::Atom(long_atom), Some(Term::tuple(vec![Term::Atom(long_atom), big.clone()]))),
        ("{1, <a@h.1.0>, <a@h.2.0>}".parse().unwrap(), None),
        (Term::tuple(vec![Term::Int(3), big.clone()]), Some(Term::list(vec![big.clone(), big]))),
    ];
    for flags in [NONE, HDR, FRAG, BOTH] {
        round_trip(flags, DEFAULT_MAX_FRAGMENT_SIZE, &messages);
        round_trip(flags, 4096, &messages);
    }
}

#[test]
fn interleaved_sequences_from_one_writer() {
    // Two fragmented messages of one writer (so one atom cache), their fragments taken turn about, as when
    // a sender interleaves the messages of two processes.
    let mut w = FrameWriter::new(BOTH).with_max_fragment_size(200);
    let big: Term = Term::binary(vec![1u8; 2000]);
    let mut a = Vec::new();
    w.write(&Term::atom("first"), Some(&big), &mut a).unwrap();
    let mut b = Vec::new();
    w.write(&Term::atom("second"), Some(&big), &mut b).unwrap();
    let (a, b) = (packets(&a), packets(&b));
    let mut r = FrameReader::new();
    let mut got = Vec::new();
    for (x, y) in a.iter().zip(&b) {
        got.extend(r.read(x.clone()).unwrap());
        got.extend(r.read(y.clone()).unwrap());
    }
    assert_eq!(r.pending_sequences(), 0);
    let names: Vec<Term> = got.into_iter().map(|m| m.control).collect();
    assert_eq!(names, [Term::atom("first"), Term::atom("second")]);
}

#[test]
fn a_repeated_control_message_is_decoded_once_and_read_alike() {
    let mut writer = FrameWriter::new(HDR);
    let mut reader = FrameReader::new();
    let sink = "{6, from, '', sink}";
    let mut wire = Vec::new();
    let mut write = |control: &str, payload: Option<&str>| {
        let control: Term = control.parse().unwrap();
        let payload = payload.map(|p| p.parse::<Term>().unwrap());
        writer.write(&control, payload.as_ref(), &mut wire).unwrap();
    };
    let sent = [
        (sink, Some("1")),
        (sink, Some("2")),
        (sink, Some("3")),
        (sink, Some("{atom_in_payload, 4}")),
        (sink, Some("5")),
        (sink, Some("6")),
        ("{2, x, y}", Some("7")),
        ("{2, x, y}", None),
        (sink, Some("8")),
        (sink, Some("9")),
        // Exits (like spawn requests and alias sends) carry a new reference or pid each time: not kept.
        ("{24, x, y}", Some("normal")),
        ("{24, x, y}", Some("normal")),
    ];
    for (control, payload) in sent {
        write(control, payload);
    }
    let mut repeated = Vec::new();
    let mut got = Vec::new();
    let mut frames = FrameReader::new();
    for body in packets(&wire) {
        got.extend(reader.read(body.clone()).unwrap());
        repeated.push(matches!(frames.read_frame(body).unwrap(), Some(Frame::Repeat(_))));
    }
    assert_eq!(got, sent.map(|(control, payload)| msg(control, payload)));
    // The first message's header makes new atom cache entries, the second's names them: from the third
    // on the writer repeats the second's bytes (writing the payload's atom in full), and the reader decodes
    // the control message once. Another control message with new atoms, and a control message alone (not
    // kept), end the repeat; exits are never kept.
    assert_eq!(repeated, [false, false, true, true, true, true, false, false, false, true, false, false]);
}

#[test]
fn a_repeated_control_message_is_encoded_once_and_read_back_alike() {
    let mut writer = FrameWriter::new(BOTH).with_max_fragment_size(128);
    let sink = "{6, from, '', sink}";
    let big = format!("<<\"{}\">>", "x".repeat(300));
    let sent: Vec<(&str, Option<String>)> = vec![
        (sink, Some("1".into())),
        (sink, Some("2".into())),
        (sink, Some("{payload_atom, 3}".into())),
        (sink, Some("4".into())),
        // A new atom in another message changes the cache: the next one encodes its header again.
        ("{6, from, '', other_name}", Some("5".into())),
        (sink, Some("6".into())),
        (sink, Some("7".into())),
        // Too big for one packet: fragments, as without the kept header.
        (sink, Some(big)),
        (sink, Some("{8, [payload_atom, new_atom_here]}".into())),
        (sink, None),
    ];
    let mut wire = Vec::new();
    let mut lens = Vec::new();
    let mut changes = Vec::new();
    for (control, payload) in &sent {
        let before = wire.len();
        let payload = payload.as_ref().map(|p| p.parse::<Term>().unwrap());
        writer.write(&control.parse().unwrap(), payload.as_ref(), &mut wire).unwrap();
        lens.push(wire.len() - before);
        changes.push(writer.cache_changes());
    }
    // Cache entries set by each message: the first sets three; the third's payload atom is written in
    // full, not cached, since the kept header is used; `other_name` is new; so are the last atoms.
    assert_eq!(changes, [3, 3, 3, 3, 4, 4, 4, 4, 6, 6]);
    let mut reader = FrameReader::new();
    let got = read_all(&mut reader, &wire);
    let expected: Vec<Message> = sent.iter().map(|(c, p)| msg(c, p.as_deref())).collect();
    assert_eq!(got, expected);
    // From the second message on, while no entry changes, a message costs its header's references
    // (no atom text) and its payload.
    assert_eq!(lens[1], lens[3]);
    assert!(lens[2] > lens[1] + "payload_atom".len(), "the payload's atom is written in full");
}

#[test]
fn a_send_that_repeats_the_last_one_uses_its_bytes_again() {
    let mut writer = FrameWriter::new(BOTH).with_max_fragment_size(128);
    let term = |text: &str| text.parse::<Term>().unwrap();
    let from = Pid::new(Atom::new("a@h"), 1, 0, 1);
    let sink = Control::RegSend { from, to: Atom::new("sink") };
    let mut wire = Vec::new();
    let mut write = |writer: &mut FrameWriter, control: &Control, payload: Option<Term>| {
        let before = writer.kept_writes();
        let result = writer.write_control(control, payload.as_ref(), &mut wire);
        result.map(|()| writer.kept_writes() > before)
    };
    // The first message's header sets atom cache entries, so its bytes cannot be used again; the
    // second's can.
    assert_eq!(write(&mut writer, &sink, Some(term("1"))), Ok(false));
    assert_eq!(write(&mut writer, &sink, Some(term("2"))), Ok(false));
    assert_eq!(write(&mut writer, &sink, Some(term("{three, 3}"))), Ok(true));
    // Too big for one packet: written in fragments.
    let big = Term::binary(vec![7u8; 300]);
    assert_eq!(write(&mut writer, &sink, Some(big.clone())), Ok(false));
    assert_eq!(write(&mut writer, &sink, Some(term("4"))), Ok(false));
    assert_eq!(write(&mut writer, &sink, Some(term("5"))), Ok(true));
    // Another control message is not a repeat, and a message of another kind ends the repeat.
    let other = Control::RegSend { from, to: Atom::new("other") };
    assert_eq!(write(&mut writer, &other, Some(term("6"))), Ok(false));
    assert_eq!(write(&mut writer, &other, Some(term("7"))), Ok(false));
    assert_eq!(write(&mut writer, &other, Some(term("8"))), Ok(true));
    let link = Control::Link { from, to: Pid::new(Atom::new("b@h"), 2, 0, 1) };
    assert_eq!(write(&mut writer, &link, None), Ok(false));
    assert_eq!(write(&mut writer, &other, Some(term("9"))), Ok(false));
    // So does a failed write, which appends nothing.
    assert!(write(&mut writer, &other, Some(Term::Float(f64::NAN))).is_err());
    assert_eq!(write(&mut writer, &other, Some(term("10"))), Ok(false));
    // A control message written as a term is compared as a term.
    let sink_term = sink.to_term();
    writer.write(&sink_term, Some(&term("11")), &mut wire).unwrap();
    let before = writer.kept_writes();
    writer.write(&sink_term, Some(&term("12")), &mut wire).unwrap();
    assert_eq!(writer.kept_writes(), before + 1);
    let got = read_all(&mut FrameReader::new(), &wire);
    let sent = |control: &Control, payloads: &[&str]| {
        payloads.iter().map(|p| Message { control: control.to_term(), payload: Some(term(p)) }).collect::<Vec<_>>()
    };
    assert_eq!(got[..3], sent(&sink, &["1", "2", "{three, 3}"]));
    assert_eq!(got[3].payload, Some(big));
    assert_eq!(got[4..6], sent(&sink, &["4", "5"]));
    assert_eq!(got[6..9], sent(&other, &["6", "7", "8"]));
    assert_eq!(got[9].control, link.to_term());
    assert_eq!(got[10..12], sent(&other, &["9", "10"]));
    assert_eq!(got[12..], sent(&sink, &["11", "12"]));
}

#[test]
fn read_frame_reads_control_messages_straight_and_agrees_with_read() {
    let mut writer = FrameWriter::new(BOTH);
    let sent = [
        ("{6, <a@h.1.0>, '', sink}", Some("1")),
        ("{6, <a@h.1.0>, '', sink}", Some("2")),
        ("{6, <a@h.1.0>, '', sink}", Some("{3, [x]}")),
        ("{29, #Ref<a@h.1.2.3>, <a@h.1.0>, <a@h.1.0>, {erpc, execute_call, 4}, [monitor]}", Some("[x, m, f, []]")),
        ("{31, #Ref<a@h.1.2.3>, <a@h.1.0>, 2, <b@h.7.0>}", None),
        ("{28, <b@h.7.0>, <a@h.1.0>, #Ref<a@h.1.2.3>}", Some("{x, return, 3}")),
        ("{16, <a@h.1.0>, '', sink, {0, l, 3, <a@h.1.0>, 2}}", Some("4")),
        // Not a control message of the usual shape (an atom for the sender): read as a term.
        ("{6, from, '', sink}", Some("5")),
        ("{33, <a@h.1.0>, #Ref<a@h.9.2.3>}", Some("6")),
    ];
    let mut wire = Vec::new();
    for (control, payload) in sent {
        let payload = payload.map(|p| p.parse::<Term>().unwrap());
        writer.write(&control.parse().unwrap(), payload.as_ref(), &mut wire).unwrap();
    }
    let (mut frames, mut messages) = (FrameReader::new(), FrameReader::new());
    let mut kinds = Vec::new();
    for body in packets(&wire) {
        let message = messages.read(body.clone()).unwrap().unwrap();
        let expected = crate::control::Control::from_term(&message.control);
        match frames.read_frame(body).unwrap().unwrap() {
            Frame::Control(control, payload) => {
                assert_eq!((Ok(control), payload), (expected, message.payload));
                kinds.push('c');
            }
            Frame::Repeat(payload) => {
                assert_eq!(Some(payload), message.payload);
                kinds.push('r');
            }
            Frame::Message(read) => {
                assert_eq!(read, message);
                assert!(expected.is_err(), "{}", read.control);
                kinds.push('m');
            }
        }
    }
    assert_eq!(kinds.into_iter().collect::<String>(), "ccrccccmc");
}

#[test]
fn write_control_writes_what_write_writes_for_its_term() {
    let controls: Vec<crate::control::Control> = [
        "{6, <a@h.1.0>, '', sink}",
        "{6, <a@h.1.0>, '', sink}",
        "{29, #Ref<a@h.1.2.3>, <a@h.1.0>, <a@h.1.0>, {erpc, execute_call, 4}, [monitor]}",
        "{31, #Ref<a@h.1.2.3>, <a@h.1.0>, 2, <b@h.7.0>}",
        "{28, <b@h.7.0>, <a@h.1.0>, #Ref<a@h.1.2.3>}",
        "{6, <a@h.1.0>, '', other}",
        "{22, <a@h.1.0>, <c@h.2.0>}",
        "{22, <a@h.1.0>, <c@h.2.0>}",
    ]
    .iter()
    .map(|text| crate::control::Control::from_term(&text.parse().unwrap()).unwrap())
    .collect();
    let big = Term::binary(vec![3u8; 300]);
    for flags in [BOTH, HDR, FRAG, NONE] {
        let (mut by_term, mut by_control) = (FrameWriter::new(flags), FrameWriter::new(flags));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, control) in controls.iter().enumerate() {
            let payload = match i % 3 {
                0 => Some(Term::Int(i as i64)),
                1 => Some(big.clone()),
                _ => control.has_payload().then(|| Term::atom("x")),
            };
            by_term.write(&control.to_term(), payload.as_ref(), &mut a).unwrap();
            by_control.write_control(control, payload.as_ref(), &mut b).unwrap();
            assert_eq!(a, b, "{flags:?} {control:?}");
        }
    }
}

#[test]
fn read_after_read_frame_on_one_reader_rebuilds_repeats_right() {
    let mut writer = FrameWriter::new(BOTH);
    let control: Term = "{6, <a@h.1.0>, '', sink}".parse().unwrap();
    let mut wire = Vec::new();
    for i in 0..4 {
        writer.write(&control, Some(&Term::Int(i)), &mut wire).unwrap();
    }
    let bodies = packets(&wire);
    let mut reader = FrameReader::new();
    // The second message is kept by read_frame, without a term; read then meets its repeats.
    assert!(matches!(reader.read_frame(bodies[0].clone()), Ok(Some(Frame::Control(..)))));
    assert!(matches!(reader.read_frame(bodies[1].clone()), Ok(Some(Frame::Control(..)))));
    assert_eq!(
        reader.read(bodies[2].clone()).unwrap(),
        Some(Message { control: control.clone(), payload: Some(Term::Int(2)) })
    );
    assert_eq!(reader.read(bodies[3].clone()).unwrap(), Some(Message { control, payload: Some(Term::Int(3)) }));
}
