//! The distribution handshake, as initiator ([`connect`]) and as acceptor ([`accept`]).
//!
//! ```text
//! initiator                          acceptor
//!   send_name  'N' (v6) | 'n' (v5)  ->
//!                                   <-  status 's' ok | ok_simultaneous | nok | not_allowed | alive
//!   ('s' true | false after alive)  ->
//!                                   <-  challenge 'N' (flags, challenge, creation, name)
//!   complement 'c' (v5 only)        ->
//!   challenge_reply 'r'             ->
//!                                   <-  challenge_ack 'a'
//! ```
//!
//! Each digest is MD5 of the cookie followed by the other side's challenge in decimal, and is compared in
//! constant time. Either side refuses a peer that lacks a flag of [`DistFlags::REQUIRED`] (OTP 25's
//! mandatory set): the acceptor answers `not_allowed`, the initiator gives up. The connection runs with
//! the flags both offered; if either side is hidden (no `PUBLISHED`), it is hidden on both.
//!
//! Messages carry a 2-byte length over TCP and a 4-byte one over TLS ([`Framing`]). The caller bounds
//! the whole handshake with a timeout; a message longer than [`MAX_MESSAGE`] ends it.
//!
//! What the acceptor answers after the name (simultaneous connects, a name it already has a connection
//! to, a per-node cookie) is the node's business: [`accept`] asks a callback.

mod message;

pub use message::{MAX_MESSAGE, Message, MessageError, Status};

use std::hash::{BuildHasher, Hasher};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::digest::{digest, digests_equal};
use crate::flags::DistFlags;

/// How handshake messages are framed on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// A 2-byte length before each message (TCP distribution).
    Tcp,
    /// A 4-byte length before each message (`inet_tls` distribution).
    Tls,
}

/// The protocol version the initiator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Version 5: `'n'` name with 32-bit flags and a `complement` after the challenge (what an EPMD entry
    /// with highest version 5 asks for).
    V5,
    /// Version 6: `'N'` name with 64-bit flags and the creation (OTP 23+).
    V6,
}

/// This node, as the handshake presents it.
#[derive(Debug, Clone)]
pub struct Local {
    /// The full node name, `name@host`.
    pub name: String,
    /// The creation EPMD gave this node.
    pub creation: u32,
    /// The flags offered ([`DistFlags::offered`]).
    pub flags: DistFlags,
    /// The flags a peer must offer ([`DistFlags::REQUIRED`]).
    pub required: DistFlags,
}

impl Local {
    /// A node named `name` with creation `creation`, offering erlnode's flags (hidden or published).
    pub fn new(name: impl Into<String>, creation: u32, hidden: bool) -> Local {
        Local { name: name.into(), creation, flags: DistFlags::offered(hidden), required: DistFlags::REQUIRED }
    }
}

/// A completed handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Established {
    /// The peer's node name.
    pub peer_name: String,
    /// The peer's creation.
    pub peer_creation: u32,
    /// The flags the peer offered.
    pub peer_flags: DistFlags,
    /// The flags in force on the connection: both sides offered them (`PUBLISHED` only if both did).
    pub flags: DistFlags,
    /// The protocol version the initiator used.
    pub version: Version,
}

impl Established {
    /// `true` when the connection is hidden (one side did not publish itself).
    pub fn hidden(&self) -> bool {
        !self.flags.contains(DistFlags::PUBLISHED)
    }
}

/// What the acceptor answers a named initiator, from [`accept`]'s callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Go on with this cookie (`ok`, or `ok_simultaneous` when `simultaneous`: this node gave up its own
    /// attempt to connect to the initiator).
    Accept {
        /// The cookie shared with the initiator.
        cookie: Vec<u8>,
        /// This node was connecting to the initiator too and gives its own attempt up.
        simultaneous: bool,
    },
    /// This node has a connection to the initiator already: ask it (`alive`); if it says go on, go on
    /// with this cookie (the caller replaces the old connection).
    Alive {
        /// The cookie shared with the initiator.
        cookie: Vec<u8>,
    },
    /// This node keeps its own simultaneous attempt (`nok`).
    Nok,
    /// The initiator may not connect (`not_allowed`).
    NotAllowed,
}

/// Why a handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The stream failed or closed.
    #[error("connection failed during the handshake: {0}")]
    Io(#[from] std::io::Error),
    /// A message longer than [`MAX_MESSAGE`].
    #[error("handshake message of {0} bytes is too long")]
    TooLong(usize),
    /// A message that is not what this step expects.
    #[error("bad handshake message: {0}")]
    Message(#[from] MessageError),
    /// The peer lacks flags this node requires.
    #[error("peer {peer} lacks required distribution flags {missing:?}")]
    MissingFlags {
        /// The peer's name.
        peer: String,
        /// The flags it lacks.
        missing: DistFlags,
    },
    /// The acceptor's challenge names another node than the one dialled.
    #[error("dialled {dialled} but {answered} answered")]
    WrongPeer {
        /// The node dialled.
        dialled: String,
        /// The node that answered.
        answered: String,
    },
    /// The peer's digest does not match: its cookie differs from ours.
    #[error("peer {peer} answered with a wrong digest: the cookies differ")]
    WrongCookie {
        /// The peer's name.
        peer: String,
    },
    /// The acceptor refused the connection with this status.
    #[error("the peer refused the connection: {}", .0.text())]
    Refused(Status),
    /// This node refused the initiator (the status it was sent).
    #[error("refused the initiator {peer}: {}", .status.text())]
    Rejected {
        /// The initiator's name.
        peer: String,
        /// The status sent.
        status: Status,
    },
    /// The initiator answered `false` to `alive`.
    #[error("the initiator {0} withdrew after alive")]
    Withdrawn(String),
    /// A node name that is not `name@host`.
    #[error("invalid node name {0:?}")]
    BadName(String),
}

/// Performs the initiator's side of the handshake on `stream` with the node `peer` (its full name, which
/// the acceptor must confirm), sharing `cookie`. If the peer answers `alive` (it thinks a connection
/// from this node is up), the answer is to go on, replacing that connection: see [`connect_unless`] for
/// a node that may have a connection to the peer already.
pub async fn connect<S>(
    stream: &mut S,
    framing: Framing,
    local: &Local,
    peer: &str,
    cookie: &[u8],
    version: Version,
) -> Result<Established, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    connect_unless(stream, framing, local, peer, cookie, version, || false).await
}

/// [`connect`], but if the peer answers `alive` and `connected()` says this node has a connection to it
/// (one the peer made meanwhile, say), the answer is `false` and the attempt ends with
/// [`HandshakeError::Refused`]`(`[`Status::Alive`]`)`: the existing connection is the one to use.
pub async fn connect_unless<S, F>(
    stream: &mut S,
    framing: Framing,
    local: &Local,
    peer: &str,
    cookie: &[u8],
    version: Version,
    connected: F,
) -> Result<Established, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce() -> bool,
{
    let send_name = match version {
        Version::V6 => Message::SendNameV6 { flags: local.flags, creation: local.creation, name: local.name.clone() },
        // A v5 name must carry HANDSHAKE_23 for the acceptor to answer with the new challenge.
        Version::V5 => Message::SendNameV5 { flags: local.flags | DistFlags::HANDSHAKE_23, name: local.name.clone() },
    };
    write_message(stream, framing, &send_name).await?;
    let Message::Status(status) = Message::decode_status(&read_message(stream, framing).await?)? else {
        unreachable_message()?
    };
    match status {
        Status::Ok | Status::OkSimultaneous => {}
        Status::Alive => {
            let mistaken = connected();
            write_message(stream, framing, &Message::AliveAnswer(!mistaken)).await?;
            if mistaken {
                return Err(HandshakeError::Refused(Status::Alive));
            }
        }
        Status::Nok | Status::NotAllowed => return Err(HandshakeError::Refused(status)),
    }
    let Message::Challenge { flags: peer_flags, challenge, creation: peer_creation, name } =
        Message::decode_challenge(&read_message(stream, framing).await?)?
    else {
        unreachable_message()?
    };
    if name != peer {
        return Err(HandshakeError::WrongPeer { dialled: peer.to_string(), answered: name });
    }
    check_flags(peer, peer_flags, local.required)?;
    if version == Version::V5 {
        let complement = Message::Complement { flags_high: local.flags.high(), creation: local.creation };
        write_message(stream, framing, &complement).await?;
    }
    let ours = new_challenge();
    let reply = Message::ChallengeReply { challenge: ours, digest: digest(cookie, challenge) };
    write_message(stream, framing, &reply).await?;
    let Message::ChallengeAck { digest: answer } =
        Message::decode_challenge_ack(&read_message(stream, framing).await?)?
    else {
        unreachable_message()?
    };
    if !digests_equal(&answer, &digest(cookie, ours)) {
        return Err(HandshakeError::WrongCookie { peer: peer.to_string() });
    }
    Ok(Established { peer_name: name, peer_creation, peer_flags, flags: in_force(local.flags, peer_flags), version })
}

/// Performs the acceptor's side of the handshake on `stream`. Once the initiator has named itself,
/// `admit` says whether and with which cookie to go on (see [`Admission`]).
pub async fn accept<S, F>(
    stream: &mut S,
    framing: Framing,
    local: &Local,
    admit: F,
) -> Result<Established, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&str, DistFlags) -> Admission,
{
    let (peer, mut peer_flags, mut peer_creation, version) =
        match Message::decode_send_name(&read_message(stream, framing).await?)? {
            Message::SendNameV6 { flags, creation, name } => (name, flags, creation, Version::V6),
            Message::SendNameV5 { flags, name } => (name, flags, 0, Version::V5),
            _ => unreachable_message()?,
        };
    if !valid_node_name(&peer) {
        write_message(stream, framing, &Message::Status(Status::NotAllowed)).await?;
        return Err(HandshakeError::BadName(peer));
    }
    // A v5 initiator's high flags come later; what it lacks here (HANDSHAKE_23 aside) is checked then.
    let known = if version == Version::V5 { DistFlags(local.required.0 & 0xFFFF_FFFF) } else { local.required };
    if peer_flags.contains(DistFlags::NAME_ME) || !peer_flags.contains(known) {
        write_message(stream, framing, &Message::Status(Status::NotAllowed)).await?;
        check_flags(&peer, peer_flags, known)?;
        return Err(HandshakeError::Rejected { peer, status: Status::NotAllowed });
    }
    let cookie = match admit(&peer, peer_flags) {
        Admission::Accept { cookie, simultaneous } => {
            let status = if simultaneous { Status::OkSimultaneous } else { Status::Ok };
            write_message(stream, framing, &Message::Status(status)).await?;
            cookie
        }
        Admission::Alive { cookie } => {
            write_message(stream, framing, &Message::Status(Status::Alive)).await?;
            match Message::decode_alive_answer(&read_message(stream, framing).await?)? {
                Message::AliveAnswer(true) => cookie,
                _ => return Err(HandshakeError::Withdrawn(peer)),
            }
        }
        Admission::Nok => {
            write_message(stream, framing, &Message::Status(Status::Nok)).await?;
            return Err(HandshakeError::Rejected { peer, status: Status::Nok });
        }
        Admission::NotAllowed => {
            write_message(stream, framing, &Message::Status(Status::NotAllowed)).await?;
            return Err(HandshakeError::Rejected { peer, status: Status::NotAllowed });
        }
    };
    let ours = new_challenge();
    let challenge =
        Message::Challenge { flags: local.flags, challenge: ours, creation: local.creation, name: local.name.clone() };
    write_message(stream, framing, &challenge).await?;
    if version == Version::V5 {
        let Message::Complement { flags_high, creation } =
            Message::decode_complement(&read_message(stream, framing).await?)?
        else {
            unreachable_message()?
        };
        peer_flags = DistFlags::from_halves(flags_high, peer_flags.low());
        peer_creation = creation;
        check_flags(&peer, peer_flags, local.required)?;
    }
    let Message::ChallengeReply { challenge: theirs, digest: answer } =
        Message::decode_challenge_reply(&read_message(stream, framing).await?)?
    else {
        unreachable_message()?
    };
    if !digests_equal(&answer, &digest(&cookie, ours)) {
        return Err(HandshakeError::WrongCookie { peer });
    }
    write_message(stream, framing, &Message::ChallengeAck { digest: digest(&cookie, theirs) }).await?;
    Ok(Established { peer_name: peer, peer_creation, peer_flags, flags: in_force(local.flags, peer_flags), version })
}

/// The flags in force: both offered them; `PUBLISHED` only if both did.
fn in_force(ours: DistFlags, theirs: DistFlags) -> DistFlags {
    ours & theirs
}

fn check_flags(peer: &str, flags: DistFlags, required: DistFlags) -> Result<(), HandshakeError> {
    let missing = flags.missing(required);
    if missing == DistFlags::EMPTY {
        Ok(())
    } else {
        Err(HandshakeError::MissingFlags { peer: peer.to_string(), missing })
    }
}

/// `name@host`, both parts non-empty, at most 255 characters.
fn valid_node_name(name: &str) -> bool {
    name.split_once('@').is_some_and(|(n, h)| !n.is_empty() && !h.is_empty()) && name.chars().count() <= 255
}

/// The decoders return only their own message kind; this is the other arm of the `let ... else`.
fn unreachable_message<T>() -> Result<T, HandshakeError> {
    Err(HandshakeError::Message(MessageError::Empty))
}

/// An unpredictable 32-bit challenge: the standard library's randomly keyed hasher over a counter and
/// the time.
fn new_challenge() -> u32 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.finish() as u32
}

async fn write_message<S: AsyncWrite + Unpin>(
    stream: &mut S,
    framing: Framing,
    message: &Message,
) -> Result<(), HandshakeError> {
    let body = message.encode();
    let mut frame = Vec::with_capacity(body.len() + 4);
    match framing {
        Framing::Tcp => {
            let len = u16::try_from(body.len()).map_err(|_| HandshakeError::TooLong(body.len()))?;
            frame.extend_from_slice(&len.to_be_bytes());
        }
        Framing::Tls => {
            let len = u32::try_from(body.len()).map_err(|_| HandshakeError::TooLong(body.len()))?;
            frame.extend_from_slice(&len.to_be_bytes());
        }
    }
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await?;
    stream.flush().await?;
    Ok(())
}

async fn read_message<S: AsyncRead + Unpin>(stream: &mut S, framing: Framing) -> Result<Vec<u8>, HandshakeError> {
    let len = match framing {
        Framing::Tcp => usize::from(stream.read_u16().await?),
        Framing::Tls => usize::try_from(stream.read_u32().await?).unwrap_or(usize::MAX),
    };
    if len > MAX_MESSAGE {
        return Err(HandshakeError::TooLong(len));
    }
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (tokio::io::DuplexStream, tokio::io::DuplexStream) {
        tokio::io::duplex(4096)
    }

    fn accept_with(cookie: &'static [u8]) -> impl FnOnce(&str, DistFlags) -> Admission {
        move |_, _| Admission::Accept { cookie: cookie.to_vec(), simultaneous: false }
    }

    #[tokio::test]
    async fn both_sides_agree_in_v6_and_v5() {
        for version in [Version::V6, Version::V5] {
            for framing in [Framing::Tcp, Framing::Tls] {
                let (mut a, mut b) = pair();
                let alice = Local::new("alice@h", 11, false);
                let bob = Local::new("bob@h", 22, true);
                let (left, right) = tokio::join!(
                    connect(&mut a, framing, &alice, "bob@h", b"c", version),
                    accept(&mut b, framing, &bob, accept_with(b"c")),
                );
                let (left, right) = (left.unwrap(), right.unwrap());
                assert_eq!((left.peer_name.as_str(), left.peer_creation), ("bob@h", 22));
                assert_eq!((right.peer_name.as_str(), right.peer_creation), ("alice@h", 11));
                assert_eq!(left.flags, right.flags);
                assert!(left.hidden() && right.hidden(), "bob is hidden, so the connection is");
                assert_eq!(right.peer_flags, alice.flags | DistFlags::HANDSHAKE_23);
            }
        }
    }

    type Outcome = Result<Established, HandshakeError>;

    /// Runs an initiator `from` dialling `dialled` with `cookie` against an acceptor `to` deciding with `admit`.
    async fn run(
        from: Local,
        dialled: &str,
        cookie: &[u8],
        to: Local,
        admit: impl FnOnce(&str, DistFlags) -> Admission,
    ) -> (Outcome, Outcome) {
        let (mut a, mut b) = pair();
        // Each side owns its end, so a side that gives up closes it and the other sees the close.
        tokio::join!(
            async move { connect(&mut a, Framing::Tcp, &from, dialled, cookie, Version::V6).await },
            async move { accept(&mut b, Framing::Tcp, &to, admit).await },
        )
    }

    fn node(name: &str) -> Local {
        Local::new(name, 1, false)
    }

    #[tokio::test]
    async fn a_wrong_cookie_is_refused_by_the_acceptor() {
        let (left, right) = run(node("a@h"), "b@h", b"one", node("b@h"), accept_with(b"two")).await;
        assert!(matches!(right, Err(HandshakeError::WrongCookie { ref peer }) if peer == "a@h"), "{right:?}");
        assert!(left.is_err());
    }

    #[tokio::test]
    async fn a_peer_without_mandatory_flags_is_not_allowed() {
        let mut old = node("old@h");
        old.flags = DistFlags(old.flags.0 & !DistFlags::UTF8_ATOMS.0);
        old.required = DistFlags::EMPTY;
        let (left, right) = run(old, "new@h", b"c", node("new@h"), accept_with(b"c")).await;
        assert!(matches!(left, Err(HandshakeError::Refused(Status::NotAllowed))), "{left:?}");
        assert!(matches!(right, Err(HandshakeError::MissingFlags { missing, .. }) if missing == DistFlags::UTF8_ATOMS));
    }

    #[tokio::test]
    async fn the_initiator_checks_who_answers() {
        let (left, _) = run(node("a@h"), "b@h", b"c", node("impostor@h"), accept_with(b"c")).await;
        assert!(matches!(left, Err(HandshakeError::WrongPeer { .. })), "{left:?}");
    }

    #[tokio::test]
    async fn nok_alive_and_not_allowed() {
        let (left, right) = run(node("a@h"), "b@h", b"c", node("b@h"), |_, _| Admission::Nok).await;
        assert!(matches!(left, Err(HandshakeError::Refused(Status::Nok))));
        assert!(matches!(right, Err(HandshakeError::Rejected { status: Status::Nok, .. })));

        let alive = |_: &str, _| Admission::Alive { cookie: b"c".to_vec() };
        let (left, right) = run(node("a@h"), "b@h", b"c", node("b@h"), alive).await;
        assert!(left.is_ok() && right.is_ok());

        let (left, _) = run(node("a@h"), "b@h", b"c", node("b@h"), |_, _| Admission::NotAllowed).await;
        assert!(matches!(left, Err(HandshakeError::Refused(Status::NotAllowed))));
    }

    #[tokio::test]
    async fn an_initiator_that_is_connected_already_answers_alive_with_false() {
        let (mut a, mut b) = pair();
        let (from, to) = (node("a@h"), node("b@h"));
        let alive = |_: &str, _| Admission::Alive { cookie: b"c".to_vec() };
        let (left, right) = tokio::join!(
            async move { connect_unless(&mut a, Framing::Tcp, &from, "b@h", b"c", Version::V6, || true).await },
            async move { accept(&mut b, Framing::Tcp, &to, alive).await },
        );
        assert!(matches!(left, Err(HandshakeError::Refused(Status::Alive))), "{left:?}");
        assert!(matches!(right, Err(HandshakeError::Withdrawn(ref peer)) if peer == "a@h"), "{right:?}");
    }

    #[tokio::test]
    async fn oversized_and_garbage_messages_end_the_handshake() {
        use tokio::io::AsyncWriteExt;
        let (mut a, mut b) = pair();
        a.write_all(&[0xFF, 0xFF]).await.unwrap();
        let r = accept(&mut b, Framing::Tcp, &Local::new("b@h", 2, false), accept_with(b"c")).await;
        assert!(matches!(r, Err(HandshakeError::TooLong(65535))), "{r:?}");

        let (mut a, mut b) = pair();
        a.write_all(&[0, 3, b'x', b'y', b'z']).await.unwrap();
        let r = accept(&mut b, Framing::Tcp, &Local::new("b@h", 2, false), accept_with(b"c")).await;
        assert!(matches!(r, Err(HandshakeError::Message(MessageError::UnexpectedTag('x')))), "{r:?}");

        let (mut a, mut b) = pair();
        a.write_all(&[0, 5, b'N', 0]).await.unwrap();
        drop(a);
        let r = accept(&mut b, Framing::Tcp, &Local::new("b@h", 2, false), accept_with(b"c")).await;
        assert!(matches!(r, Err(HandshakeError::Io(_))), "{r:?}");
    }

    #[test]
    fn challenges_differ() {
        let a: Vec<u32> = (0..100).map(|_| new_challenge()).collect();
        let mut b = a.clone();
        b.sort_unstable();
        b.dedup();
        assert!(b.len() > 95);
    }
}
