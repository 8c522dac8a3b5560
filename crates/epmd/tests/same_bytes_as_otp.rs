//! The same requests, raw, to OTP's `epmd` and to this crate's, side by side: the replies must be the same
//! bytes (up to what is meant to differ: the EPMD's port, creations, and DUMP's file descriptor numbers),
//! and what one of them closes without a reply, the other must too.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use erlnode_erltest::node::free_port;
use erlnode_erltest::{Erlang, Proc, epmd};
use support::{alive, frame, our_epmd};

/// How long to wait for a reply or a close.
const WAIT: Duration = Duration::from_secs(5);

/// One EPMD under test.
struct Side {
    label: &'static str,
    port: u16,
    _proc: Proc,
    /// Registrations kept open.
    held: Vec<TcpStream>,
}

/// What came back: the bytes, and whether the EPMD closed the connection (or kept it open).
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    bytes: Vec<u8>,
    closed: bool,
}

impl Side {
    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_millis(20))).expect("read timeout");
        stream
    }

    /// Sends `bytes`; reads until the EPMD closes, or until `want` bytes came and then `settle` passed
    /// without more.
    fn ask(&mut self, bytes: &[u8], want: usize, settle: Duration) -> (Answer, TcpStream) {
        let mut stream = self.connect();
        stream.write_all(bytes).expect("write");
        let answer = read_answer(&mut stream, want, settle);
        (answer, stream)
    }

    /// A request that ends with the EPMD closing the connection.
    fn one_shot(&mut self, bytes: &[u8]) -> Answer {
        let (answer, _) = self.ask(bytes, usize::MAX, WAIT);
        assert!(answer.closed, "{}: connection left open after {bytes:?}: {answer:?}", self.label);
        answer
    }

    /// Registers; keeps the connection when the EPMD keeps it.
    fn register(&mut self, body: &[u8], reply_len: usize) -> Answer {
        let (answer, stream) = self.ask(&frame(body), reply_len, Duration::from_millis(100));
        if !answer.closed {
            self.held.push(stream);
        }
        answer
    }

    /// The NAMES reply without its port prefix, which differs between the two EPMDs.
    fn names(&mut self) -> Vec<u8> {
        let answer = self.one_shot(&frame(b"n"));
        assert_eq!(answer.bytes[..4], u32::from(self.port).to_be_bytes(), "{}: NAMES port", self.label);
        answer.bytes[4..].to_vec()
    }
}

fn read_answer(stream: &mut TcpStream, want: usize, settle: Duration) -> Answer {
    let mut bytes = Vec::new();
    let start = Instant::now();
    let mut enough_at: Option<Instant> = None;
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Answer { bytes, closed: true },
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            // OTP's epmd resets some connections it refuses; that is a close too.
            Err(_) => return Answer { bytes, closed: true },
        }
        if bytes.len() >= want {
            let at = *enough_at.get_or_insert_with(Instant::now);
            if at.elapsed() >= settle {
                return Answer { bytes, closed: false };
            }
        }
        assert!(start.elapsed() < WAIT + settle, "no answer within {WAIT:?}: got {bytes:?}");
    }
}

/// DUMP text with every `fd = N` replaced by `fd = _`.
fn without_fds(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let mut out = String::new();
    for (i, part) in text.split("fd = ").enumerate() {
        if i > 0 {
            out.push_str("fd = _");
            out.push_str(part.trim_start_matches(|c: char| c.is_ascii_digit()));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Runs `step` on both sides and returns both results.
fn both<T>(sides: &mut [Side; 2], mut step: impl FnMut(&mut Side) -> T) -> (T, T) {
    let [otp_side, ours] = sides;
    (step(otp_side), step(ours))
}

fn wait_names(sides: &mut [Side; 2], what: &str, check: impl Fn(&str) -> bool) {
    let start = Instant::now();
    for side in sides.iter_mut() {
        loop {
            let names = String::from_utf8(side.names()).expect("UTF-8 names");
            if check(&names) {
                break;
            }
            assert!(start.elapsed() < WAIT, "{}: NAMES never showed {what}: {names:?}", side.label);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn every_request_gets_the_same_answer_from_both() {
    let Some(otp) = Erlang::find("every_request_gets_the_same_answer_from_both") else { return };
    let (otp_port, our_port) = (free_port(), free_port());
    let mut sides = [
        Side { label: "OTP epmd", port: otp_port, _proc: epmd::start(&otp, otp_port, &[]), held: Vec::new() },
        Side { label: "our epmd", port: our_port, _proc: our_epmd(our_port, &[]), held: Vec::new() },
    ];

    let (a, b) = both(&mut sides, Side::names);
    assert_eq!((a, b), (Vec::new(), Vec::new()), "NAMES with nothing registered");

    // Registrations: fresh ones get a creation, an old node the old reply, refusals are byte-identical.
    let (a, b) = both(&mut sides, |s| s.register(&alive(b"alpha", 5001, 6, 5, b""), 6));
    assert!(!a.closed && !b.closed);
    assert_eq!((&a.bytes[..2], &b.bytes[..2]), (&b"v\x00"[..], &b"v\x00"[..]));
    assert!(a.bytes[2..] != [0, 0, 0, 0] && b.bytes[2..] != [0, 0, 0, 0], "creations are non-zero");

    let (a, b) = both(&mut sides, |s| s.register(&alive(b"beta", 5002, 5, 5, b"xy"), 4));
    for reply in [&a.bytes, &b.bytes] {
        assert_eq!(reply[..2], *b"y\x00", "ALIVE2_RESP for an old node");
        assert!((1..=3).contains(&u16::from_be_bytes([reply[2], reply[3]])), "{reply:?}");
    }

    let long_ok = "😀".repeat(255);
    let cases: Vec<(&str, Vec<u8>, usize)> = vec![
        ("a taken name", alive(b"alpha", 5003, 6, 5, b""), 6),
        ("a taken name, old node", alive(b"alpha", 5003, 5, 5, b""), 4),
        ("a name of 256 characters", alive("é".repeat(256).as_bytes(), 5004, 6, 5, b""), 6),
        ("a name of 255 characters", alive(long_ok.as_bytes(), 5005, 6, 5, b""), 6),
        ("1021 bytes of extra data", alive(b"gamma", 5006, 6, 5, &[7; 1021]), 6),
        ("1020 bytes of extra data", alive(b"delta", 5007, 6, 6, &[7; 1020]), 6),
    ];
    for (what, body, len) in &cases {
        let (a, b) = both(&mut sides, |s| s.register(body, *len));
        assert_eq!(a.closed, b.closed, "{what}");
        if a.bytes[1] == 0 {
            assert_eq!((a.bytes.len(), b.bytes[..2].to_vec()), (6, a.bytes[..2].to_vec()), "{what}");
        } else {
            assert_eq!(a.bytes, b.bytes, "{what}");
        }
    }

    // Lookups: the same bytes, found or not. (OTP's epmd closes the connection instead of answering for a
    // name of 255 characters or more, even one it registered; this crate answers. Either way an Erlang node
    // reads it as "no such node" only when it is none.)
    let long_lookup = "😀".repeat(254);
    for name in [&b"alpha"[..], b"beta", long_lookup.as_bytes(), b"delta", b"gamma", b"nobody"] {
        let request = frame(&[&b"z"[..], name].concat());
        let (a, b) = both(&mut sides, |s| s.one_shot(&request));
        assert_eq!(a, b, "PORT_PLEASE2 {}", String::from_utf8_lossy(name));
    }

    // Listings: the same names in the same order (newest first); DUMP up to descriptor numbers.
    let (a, b) = both(&mut sides, Side::names);
    assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
    let (a, b) = both(&mut sides, |s| s.one_shot(&frame(b"d")).bytes[4..].to_vec());
    assert_eq!(without_fds(&a), without_fds(&b));

    // Operator commands without relaxed checking: KILL says NO, STOP closes unanswered.
    let (a, b) = both(&mut sides, |s| s.one_shot(&frame(b"k")));
    assert_eq!((&a.bytes[..], &b.bytes[..]), (&b"NO"[..], &b"NO"[..]));
    let (a, b) = both(&mut sides, |s| s.one_shot(&frame(b"salpha")));
    assert_eq!((a.bytes.len(), b.bytes.len()), (0, 0));

    // Malformed requests: closed without a word by both, and nothing else changes.
    let names_before = both(&mut sides, Side::names);
    let mut truncated = alive(b"trunc", 1, 6, 5, b"");
    truncated.truncate(9);
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("zero length", vec![0, 0]),
        ("unknown tag", frame(b"Q")),
        ("truncated ALIVE2", frame(&truncated)),
        ("ALIVE2 tag alone", frame(b"x")),
        ("ALIVE2 with an empty name", frame(&alive(b"", 1, 6, 5, b""))),
        ("ALIVE2 with a NUL in the name", frame(&alive(b"a\0b", 1, 6, 5, b""))),
        ("ALIVE2 extra longer than the body", frame(&[&alive(b"e", 1, 6, 5, b"")[..12], &[0, 9, 1]].concat())),
        ("PORT_PLEASE2 without a name", frame(b"z")),
        ("length over the limit", [&3058u16.to_be_bytes()[..], &[b'n'; 3058]].concat()),
    ];
    for (what, bytes) in &malformed {
        let (a, b) = both(&mut sides, |s| s.one_shot(bytes));
        assert_eq!((a.bytes.len(), b.bytes.len()), (0, 0), "{what}");
    }
    assert_eq!(both(&mut sides, Side::names), names_before, "after malformed requests");

    // A byte after a registration ends it, on both.
    let (a, b) = both(&mut sides, |s| {
        let (answer, mut stream) = s.ask(&frame(&alive(b"chatty", 5010, 6, 5, b"")), 6, Duration::from_millis(100));
        assert!(!answer.closed);
        stream.write_all(&frame(b"n")).expect("write");
        read_answer(&mut stream, usize::MAX, WAIT)
    });
    assert_eq!((a, b), (Answer { bytes: Vec::new(), closed: true }, Answer { bytes: Vec::new(), closed: true }));
    wait_names(&mut sides, "chatty gone", |n| !n.contains("chatty"));

    // Closing a registration's connection unregisters it, on both.
    for side in sides.iter_mut() {
        side.held.remove(0);
    }
    wait_names(&mut sides, "alpha gone", |n| !n.contains("alpha") && n.contains("beta"));
    let (a, b) = both(&mut sides, Side::names);
    assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
}
