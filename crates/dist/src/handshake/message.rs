//! The handshake's messages, as bytes (without the length prefix) and back.

use crate::flags::DistFlags;

/// The longest handshake message accepted: a node name is at most 255 characters of up to 4 UTF-8 bytes,
/// plus the fixed fields.
pub const MAX_MESSAGE: usize = 2048;

/// One handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The initiator's name, protocol version 6: `'N', Flags:64, Creation:32, Nlen:16, Name`.
    SendNameV6 {
        /// The initiator's flags.
        flags: DistFlags,
        /// The initiator's creation.
        creation: u32,
        /// The initiator's node name.
        name: String,
    },
    /// The initiator's name, protocol version 5: `'n', Version:16, Flags:32, Name`.
    SendNameV5 {
        /// The low 32 bits of the initiator's flags (the rest follow in a [`Message::Complement`]).
        flags: DistFlags,
        /// The initiator's node name.
        name: String,
    },
    /// The acceptor's verdict on the name: `'s', Text`.
    Status(Status),
    /// The initiator's answer to [`Status::Alive`]: `'s', "true" | "false"`.
    AliveAnswer(bool),
    /// The acceptor's challenge: `'N', Flags:64, Challenge:32, Creation:32, Nlen:16, Name`.
    Challenge {
        /// The acceptor's flags.
        flags: DistFlags,
        /// The challenge the initiator must answer.
        challenge: u32,
        /// The acceptor's creation.
        creation: u32,
        /// The acceptor's node name.
        name: String,
    },
    /// The rest of a version 5 initiator's flags and its creation: `'c', FlagsHigh:32, Creation:32`.
    Complement {
        /// The high 32 bits of the initiator's flags.
        flags_high: u32,
        /// The initiator's creation.
        creation: u32,
    },
    /// The initiator's answer and its own challenge: `'r', Challenge:32, Digest:16`.
    ChallengeReply {
        /// The challenge the acceptor must answer.
        challenge: u32,
        /// The digest of the acceptor's challenge.
        digest: [u8; 16],
    },
    /// The acceptor's answer: `'a', Digest:16`.
    ChallengeAck {
        /// The digest of the initiator's challenge.
        digest: [u8; 16],
    },
}

/// The acceptor's verdict after reading the initiator's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Go on.
    Ok,
    /// Go on; the acceptor was connecting to the initiator too and gave its own attempt up.
    OkSimultaneous,
    /// Stop: the acceptor keeps its own simultaneous attempt.
    Nok,
    /// Stop: the initiator is not allowed (a flag it lacks, or a name it may not use).
    NotAllowed,
    /// The acceptor already has a connection to this name: the initiator says whether to go on.
    Alive,
}

impl Status {
    /// The status text on the wire.
    pub fn text(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::OkSimultaneous => "ok_simultaneous",
            Status::Nok => "nok",
            Status::NotAllowed => "not_allowed",
            Status::Alive => "alive",
        }
    }
}

/// Why bytes are not the handshake message expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The message is empty.
    #[error("empty handshake message")]
    Empty,
    /// The message is shorter than its fields.
    #[error("truncated handshake message {tag:?}: {len} bytes")]
    Truncated {
        /// The message's tag byte.
        tag: char,
        /// Its length.
        len: usize,
    },
    /// The tag byte is not one this step allows.
    #[error("unexpected handshake message tag {0:?}")]
    UnexpectedTag(char),
    /// A status text no OTP release sends.
    #[error("unknown handshake status {0:?}")]
    UnknownStatus(String),
    /// A node name that is not UTF-8.
    #[error("node name is not UTF-8")]
    BadName,
}

impl Message {
    /// The message's bytes, without the length prefix.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        match self {
            Message::SendNameV6 { flags, creation, name } => {
                out.push(b'N');
                out.extend_from_slice(&flags.0.to_be_bytes());
                out.extend_from_slice(&creation.to_be_bytes());
                push_name(&mut out, name);
            }
            Message::SendNameV5 { flags, name } => {
                out.push(b'n');
                out.extend_from_slice(&5u16.to_be_bytes());
                out.extend_from_slice(&flags.low().to_be_bytes());
                out.extend_from_slice(name.as_bytes());
            }
            Message::Status(status) => {
                out.push(b's');
                out.extend_from_slice(status.text().as_bytes());
            }
            Message::AliveAnswer(go_on) => {
                out.push(b's');
                out.extend_from_slice(if *go_on { b"true" } else { b"false" });
            }
            Message::Challenge { flags, challenge, creation, name } => {
                out.push(b'N');
                out.extend_from_slice(&flags.0.to_be_bytes());
                out.extend_from_slice(&challenge.to_be_bytes());
                out.extend_from_slice(&creation.to_be_bytes());
                push_name(&mut out, name);
            }
            Message::Complement { flags_high, creation } => {
                out.push(b'c');
                out.extend_from_slice(&flags_high.to_be_bytes());
                out.extend_from_slice(&creation.to_be_bytes());
            }
            Message::ChallengeReply { challenge, digest } => {
                out.push(b'r');
                out.extend_from_slice(&challenge.to_be_bytes());
                out.extend_from_slice(digest);
            }
            Message::ChallengeAck { digest } => {
                out.push(b'a');
                out.extend_from_slice(digest);
            }
        }
        out
    }

    /// The initiator's name message (`'N'` or `'n'`); trailing bytes after a version 6 name are ignored,
    /// as OTP does.
    pub fn decode_send_name(bytes: &[u8]) -> Result<Message, MessageError> {
        let mut r = Reader::new(bytes)?;
        match r.tag {
            'N' => {
                let flags = DistFlags(r.u64()?);
                let creation = r.u32()?;
                let name = r.name16()?;
                Ok(Message::SendNameV6 { flags, creation, name })
            }
            'n' => {
                let _version = r.u16()?;
                let flags = DistFlags(u64::from(r.u32()?));
                let name = r.rest_name()?;
                Ok(Message::SendNameV5 { flags, name })
            }
            other => Err(MessageError::UnexpectedTag(other)),
        }
    }

    /// The acceptor's status.
    pub fn decode_status(bytes: &[u8]) -> Result<Message, MessageError> {
        let r = Reader::new(bytes)?;
        if r.tag != 's' {
            return Err(MessageError::UnexpectedTag(r.tag));
        }
        let text = &bytes[1..];
        let status = match text {
            b"ok" => Status::Ok,
            b"ok_simultaneous" => Status::OkSimultaneous,
            b"nok" => Status::Nok,
            b"not_allowed" => Status::NotAllowed,
            b"alive" => Status::Alive,
            other => return Err(MessageError::UnknownStatus(String::from_utf8_lossy(other).into_owned())),
        };
        Ok(Message::Status(status))
    }

    /// The initiator's answer to `alive`.
    pub fn decode_alive_answer(bytes: &[u8]) -> Result<Message, MessageError> {
        let r = Reader::new(bytes)?;
        match (r.tag, &bytes[1..]) {
            ('s', b"true") => Ok(Message::AliveAnswer(true)),
            ('s', b"false") => Ok(Message::AliveAnswer(false)),
            ('s', other) => Err(MessageError::UnknownStatus(String::from_utf8_lossy(other).into_owned())),
            (tag, _) => Err(MessageError::UnexpectedTag(tag)),
        }
    }

    /// The acceptor's challenge (the `'N'` form; the pre-OTP 23 `'n'` form is refused by the caller's
    /// flag check, as its sender lacks `HANDSHAKE_23`).
    pub fn decode_challenge(bytes: &[u8]) -> Result<Message, MessageError> {
        let mut r = Reader::new(bytes)?;
        if r.tag != 'N' {
            return Err(MessageError::UnexpectedTag(r.tag));
        }
        let flags = DistFlags(r.u64()?);
        let challenge = r.u32()?;
        let creation = r.u32()?;
        let name = r.name16()?;
        Ok(Message::Challenge { flags, challenge, creation, name })
    }

    /// A version 5 initiator's complement.
    pub fn decode_complement(bytes: &[u8]) -> Result<Message, MessageError> {
        let mut r = Reader::new(bytes)?;
        if r.tag != 'c' {
            return Err(MessageError::UnexpectedTag(r.tag));
        }
        Ok(Message::Complement { flags_high: r.u32()?, creation: r.u32()? })
    }

    /// The initiator's challenge reply.
    pub fn decode_challenge_reply(bytes: &[u8]) -> Result<Message, MessageError> {
        let mut r = Reader::new(bytes)?;
        if r.tag != 'r' {
            return Err(MessageError::UnexpectedTag(r.tag));
        }
        Ok(Message::ChallengeReply { challenge: r.u32()?, digest: r.digest()? })
    }

    /// The acceptor's challenge ack.
    pub fn decode_challenge_ack(bytes: &[u8]) -> Result<Message, MessageError> {
        let mut r = Reader::new(bytes)?;
        if r.tag != 'a' {
            return Err(MessageError::UnexpectedTag(r.tag));
        }
        Ok(Message::ChallengeAck { digest: r.digest()? })
    }
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    // Node names are at most 255 characters, so the length always fits.
    let len = u16::try_from(name.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&name.as_bytes()[..usize::from(len)]);
}

/// Reads the fields of one message after its tag byte.
struct Reader<'a> {
    tag: char,
    rest: &'a [u8],
    len: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Result<Reader<'a>, MessageError> {
        let (&tag, rest) = bytes.split_first().ok_or(MessageError::Empty)?;
        Ok(Reader { tag: char::from(tag), rest, len: bytes.len() })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], MessageError> {
        if self.rest.len() < n {
            return Err(MessageError::Truncated { tag: self.tag, len: self.len });
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, MessageError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, MessageError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, MessageError> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }

    fn digest(&mut self) -> Result<[u8; 16], MessageError> {
        let mut digest = [0; 16];
        digest.copy_from_slice(self.take(16)?);
        Ok(digest)
    }

    fn name16(&mut self) -> Result<String, MessageError> {
        let len = usize::from(self.u16()?);
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| MessageError::BadName)
    }

    fn rest_name(&mut self) -> Result<String, MessageError> {
        let bytes = std::mem::take(&mut self.rest);
        String::from_utf8(bytes.to_vec()).map_err(|_| MessageError::BadName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_name_v6_layout() {
        let m = Message::SendNameV6 { flags: DistFlags(0x0102_0304_0506_0708), creation: 9, name: "a@h".into() };
        let bytes = m.encode();
        assert_eq!(bytes, [b"N".as_slice(), &[1, 2, 3, 4, 5, 6, 7, 8], &[0, 0, 0, 9], &[0, 3], b"a@h"].concat());
        assert_eq!(Message::decode_send_name(&bytes), Ok(m));
        // Trailing bytes are ignored.
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"xyz");
        assert!(Message::decode_send_name(&longer).is_ok());
    }

    #[test]
    fn send_name_v5_layout() {
        let m = Message::SendNameV5 { flags: DistFlags(0x0100_0000), name: "b@h".into() };
        let bytes = m.encode();
        assert_eq!(bytes, [b"n".as_slice(), &[0, 5], &[1, 0, 0, 0], b"b@h"].concat());
        assert_eq!(Message::decode_send_name(&bytes), Ok(m));
    }

    #[test]
    fn statuses_round_trip() {
        for s in [Status::Ok, Status::OkSimultaneous, Status::Nok, Status::NotAllowed, Status::Alive] {
            assert_eq!(Message::decode_status(&Message::Status(s).encode()), Ok(Message::Status(s)));
        }
        assert_eq!(Message::decode_status(b"sweird"), Err(MessageError::UnknownStatus("weird".into())));
        assert_eq!(Message::decode_alive_answer(b"strue"), Ok(Message::AliveAnswer(true)));
        assert_eq!(Message::decode_alive_answer(b"sfalse"), Ok(Message::AliveAnswer(false)));
    }

    #[test]
    fn challenge_messages_round_trip() {
        let c = Message::Challenge { flags: DistFlags(7), challenge: 0xDEAD_BEEF, creation: 3, name: "x@y".into() };
        assert_eq!(Message::decode_challenge(&c.encode()), Ok(c));
        let r = Message::ChallengeReply { challenge: 42, digest: [7; 16] };
        assert_eq!(Message::decode_challenge_reply(&r.encode()), Ok(r));
        let a = Message::ChallengeAck { digest: [9; 16] };
        assert_eq!(Message::decode_challenge_ack(&a.encode()), Ok(a));
        let k = Message::Complement { flags_high: 0xF, creation: 77 };
        assert_eq!(Message::decode_complement(&k.encode()), Ok(k));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        type Decode = fn(&[u8]) -> Result<Message, MessageError>;
        let cases: [(Vec<u8>, Decode); 5] = [
            (
                Message::SendNameV6 { flags: DistFlags(1), creation: 2, name: "n@h".into() }.encode(),
                Message::decode_send_name,
            ),
            (
                Message::Challenge { flags: DistFlags(1), challenge: 2, creation: 3, name: "n@h".into() }.encode(),
                Message::decode_challenge,
            ),
            (Message::ChallengeReply { challenge: 1, digest: [1; 16] }.encode(), Message::decode_challenge_reply),
            (Message::ChallengeAck { digest: [1; 16] }.encode(), Message::decode_challenge_ack),
            (Message::Complement { flags_high: 1, creation: 2 }.encode(), Message::decode_complement),
        ];
        for (bytes, decode) in cases {
            assert!(decode(&bytes).is_ok());
            for cut in 0..bytes.len() {
                assert!(decode(&bytes[..cut]).is_err(), "{:?} decoded", &bytes[..cut]);
            }
        }
    }

    #[test]
    fn wrong_tags_are_refused() {
        assert_eq!(Message::decode_challenge(b"x"), Err(MessageError::UnexpectedTag('x')));
        assert_eq!(Message::decode_send_name(b""), Err(MessageError::Empty));
        assert_eq!(
            Message::decode_send_name(&[b'N', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0xff, 0xfe]),
            Err(MessageError::BadName)
        );
    }
}
