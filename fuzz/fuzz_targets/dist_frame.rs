//! Feeds arbitrary packet sequences to the distribution frame reader of one connection.
//!
//! Input: a first byte choosing the reader's limits (tight or default), then packets as `Len:16` + body
//! (shorter lengths than the wire's 32 bits let the fuzzer reach deep states sooner). Every message the
//! reader completes must survive a writer-to-reader round trip, with and without the header and fragments,
//! written three times in a row (the writer reuses the header of a repeated control message). A second
//! reader takes the same packets with `read_frame`, which must say the same: a control message it reads
//! straight is what `Control::from_term` makes of the term, and its errors are the same. A message whose
//! control message is a `Control` also goes through `FrameWriter::write_control`.
#![no_main]

use bytes::Bytes;
use erlnode_dist::DistFlags;
use erlnode_dist::control::Control;
use erlnode_dist::frame::{self, Frame, FrameReader, FrameWriter, Message, ReaderLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let limits = if mode & 1 == 0 {
        ReaderLimits { max_sequences: 3, max_buffered_bytes: 512 }
    } else {
        ReaderLimits::default()
    };
    let mut reader = FrameReader::with_limits(limits);
    let mut frames = FrameReader::with_limits(limits);
    while let Some((len, after)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len)).min(after.len());
        let (body, after) = after.split_at(len);
        rest = after;
        let read = reader.read(Bytes::copy_from_slice(body));
        let frame = frames.read_frame(Bytes::copy_from_slice(body));
        match (&read, frame) {
            (Err(e), Err(f)) => assert_eq!(e, &f),
            (Ok(None), Ok(None)) => {}
            (Ok(Some(message)), Ok(Some(Frame::Message(m)))) => assert_eq!(message, &m),
            (Ok(Some(message)), Ok(Some(Frame::Control(control, payload)))) => {
                assert_eq!(Control::from_term(&message.control), Ok(control));
                assert_eq!(message.payload, payload);
            }
            (Ok(Some(message)), Ok(Some(Frame::Repeat(payload)))) => assert_eq!(message.payload, Some(payload)),
            (read, frame) => panic!("read gives {read:?}, read_frame {frame:?}"),
        }
        if let Ok(Some(message)) = read {
            check_round_trip(&message);
        }
        assert!(reader.pending_sequences() <= limits.max_sequences);
        assert!(reader.buffered_bytes() <= limits.max_buffered_bytes);
    }
});

fn check_round_trip(message: &Message) {
    let utf8 = DistFlags::UTF8_ATOMS;
    let cached = utf8 | DistFlags::DIST_HDR_ATOM_CACHE;
    for (flags, max) in [
        (utf8, frame::MIN_FRAGMENT_SIZE),
        (cached, frame::MIN_FRAGMENT_SIZE),
        (cached | DistFlags::FRAGMENTS, frame::MIN_FRAGMENT_SIZE),
        (cached | DistFlags::FRAGMENTS, frame::DEFAULT_MAX_FRAGMENT_SIZE),
    ] {
        let mut writer = FrameWriter::new(flags).with_max_fragment_size(max);
        let mut wire = Vec::new();
        for _ in 0..3 {
            writer
                .write(&message.control, message.payload.as_ref(), &mut wire)
                .unwrap_or_else(|e| panic!("a decoded message does not encode ({e}): {message:?}"));
        }
        let mut buf = bytes::BytesMut::from(&wire[..]);
        let mut reader = FrameReader::new();
        let mut got = Vec::new();
        while let Some(body) = frame::split_packet(&mut buf, usize::MAX).expect("writer packets split") {
            got.extend(reader.read(body).expect("writer packets read"));
        }
        assert_eq!(got.as_slice(), [message.clone(), message.clone(), message.clone()]);
        // A control message written without its term reads back as its plain form.
        if let Ok(control) = Control::from_term(&message.control) {
            let mut writer = FrameWriter::new(flags).with_max_fragment_size(max);
            let mut wire = Vec::new();
            for _ in 0..3 {
                writer.write_control(&control, message.payload.as_ref(), &mut wire).expect("it encodes as its term");
            }
            let mut buf = bytes::BytesMut::from(&wire[..]);
            let mut reader = FrameReader::new();
            let mut got = Vec::new();
            while let Some(body) = frame::split_packet(&mut buf, usize::MAX).expect("writer packets split") {
                got.extend(reader.read(body).expect("writer packets read"));
            }
            let plain = Message { control: control.to_term(), payload: message.payload.clone() };
            assert_eq!(got.as_slice(), [plain.clone(), plain.clone(), plain]);
        }
    }
}
