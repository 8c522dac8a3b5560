//! The EPMD wire protocol: requests, replies and their bytes. Pure: no IO.
//!
//! Every request is a 2-byte big-endian length followed by a body whose first byte is the request tag.
//! [`Request::encode`] produces the whole frame, [`Request::decode`] reads a body (the length already
//! stripped). Replies have no length prefix; each reply type has its own `encode` and `decode`, and the
//! decoders report [`ProtoError::Truncated`] while the bytes seen so far are only the start of a reply, so a
//! reader can call them again after reading more.
//!
//! The server answers every request except ALIVE2 with one reply and then closes the connection, so
//! [`PortReply`], [`ListReply`], [`KillReply`] and [`StopReply`] are complete when the peer closes. An ALIVE2
//! reply ([`AliveReply`]) is followed by nothing: the connection stays open for as long as the node is
//! registered.

use std::fmt;

/// ALIVE2_REQ: register a node.
pub const ALIVE2_REQ: u8 = 120;
/// ALIVE2_X_RESP: the reply to ALIVE2_REQ, with a 32-bit creation.
pub const ALIVE2_X_RESP: u8 = 118;
/// ALIVE2_RESP: the old reply to ALIVE2_REQ, with a 16-bit creation, for nodes whose highest version is below 6.
pub const ALIVE2_RESP: u8 = 121;
/// PORT_PLEASE2_REQ: look a node up by name.
pub const PORT_PLEASE2_REQ: u8 = 122;
/// PORT2_RESP: the reply to PORT_PLEASE2_REQ.
pub const PORT2_RESP: u8 = 119;
/// NAMES_REQ: list the registered names.
pub const NAMES_REQ: u8 = 110;
/// DUMP_REQ: list the registered names with debugging detail.
pub const DUMP_REQ: u8 = 100;
/// KILL_REQ: stop the EPMD.
pub const KILL_REQ: u8 = 107;
/// STOP_REQ: forcibly unregister a name.
pub const STOP_REQ: u8 = 115;

/// The longest node name, in characters, that an EPMD registers (OTP's limit); longer names are refused.
pub const MAX_NAME_CHARS: usize = 255;

/// The most extra data, in bytes, that an EPMD registers (OTP's limit); more is refused.
pub const MAX_EXTRA_LEN: usize = 1020;

/// The largest request body, in bytes, that the server reads (OTP's limit); a longer announced length
/// closes the connection.
pub const MAX_REQUEST_LEN: usize = 3057;

/// The lowest distribution version whose nodes get [`ALIVE2_X_RESP`] (32-bit creation); older ones get
/// [`ALIVE2_RESP`].
pub const EXTENDED_CREATION_VERSION: u16 = 6;

/// The creation field that OTP's epmd sends along with a refused registration; copied so the bytes match.
pub const REFUSED_CREATION: u16 = 99;

/// The distribution protocol number for TCP/IPv4, the only one Erlang uses.
pub const PROTOCOL_TCP: u8 = 0;

/// The highest distribution version OTP 25 announces.
pub const DEFAULT_HIGH_VERSION: u16 = 6;

/// The lowest distribution version OTP 25 announces.
pub const DEFAULT_LOW_VERSION: u16 = 5;

/// A failure to encode or decode an EPMD message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// The bytes end before the message does. For a reply read from a stream this means "read more".
    #[error("message is truncated")]
    Truncated,
    /// A request body of length zero.
    #[error("empty request")]
    EmptyRequest,
    /// A request whose first byte is no request tag that EPMD knows.
    #[error("unknown request tag {0}")]
    UnknownRequest(u8),
    /// A reply whose first byte is not the tag expected for the request that was sent.
    #[error("unexpected reply tag {0}")]
    UnexpectedReplyTag(u8),
    /// A reply that is none of the texts the request can be answered with.
    #[error("unexpected reply {0:?}")]
    UnexpectedReply(String),
    /// A node name of length zero.
    #[error("node name is empty")]
    EmptyName,
    /// A node name that is not UTF-8.
    #[error("node name is not UTF-8")]
    NameNotUtf8,
    /// A node name containing a NUL byte.
    #[error("node name contains a NUL byte")]
    NameHasNul,
    /// A NAMES line that does not read `name <name> at port <port>`.
    #[error("malformed NAMES line {0:?}")]
    BadNamesLine(String),
    /// A field longer than its 16-bit length prefix can describe, or a request longer than its frame can.
    #[error("{what} is {len} bytes, more than the protocol can carry")]
    TooLong {
        /// Which field.
        what: &'static str,
        /// Its length.
        len: usize,
    },
}

/// The kind of node being registered, as the ALIVE2 request and the PORT2 reply carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeType {
    /// A normal node (77, `M`).
    Normal,
    /// A hidden node (72, `H`), for example `erl_call` or a C node.
    Hidden,
    /// Any other value, kept as it was.
    Other(u8),
}

impl From<u8> for NodeType {
    fn from(byte: u8) -> NodeType {
        match byte {
            77 => NodeType::Normal,
            72 => NodeType::Hidden,
            other => NodeType::Other(other),
        }
    }
}

impl From<NodeType> for u8 {
    fn from(t: NodeType) -> u8 {
        match t {
            NodeType::Normal => 77,
            NodeType::Hidden => 72,
            NodeType::Other(other) => other,
        }
    }
}

/// What EPMD knows about one node: what a node registers with ALIVE2 and what PORT_PLEASE2 returns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeEntry {
    /// The node name without `@host`.
    pub name: String,
    /// The TCP port the node accepts distribution connections on.
    pub port: u16,
    /// Normal or hidden.
    pub node_type: NodeType,
    /// The distribution protocol; [`PROTOCOL_TCP`] in practice.
    pub protocol: u8,
    /// The highest distribution version the node speaks.
    pub high_version: u16,
    /// The lowest distribution version the node speaks.
    pub low_version: u16,
    /// Opaque extra data the node registered.
    pub extra: Vec<u8>,
}

impl NodeEntry {
    /// A normal TCP node with OTP 25's versions ([`DEFAULT_HIGH_VERSION`], [`DEFAULT_LOW_VERSION`]) and no
    /// extra data.
    pub fn new(name: impl Into<String>, port: u16) -> NodeEntry {
        NodeEntry {
            name: name.into(),
            port,
            node_type: NodeType::Normal,
            protocol: PROTOCOL_TCP,
            high_version: DEFAULT_HIGH_VERSION,
            low_version: DEFAULT_LOW_VERSION,
            extra: Vec::new(),
        }
    }

    /// Appends the fields shared by ALIVE2_REQ and PORT2_RESP: port, type, protocol, versions, name, extra.
    fn encode_fields(&self, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        out.extend_from_slice(&self.port.to_be_bytes());
        out.push(self.node_type.into());
        out.push(self.protocol);
        out.extend_from_slice(&self.high_version.to_be_bytes());
        out.extend_from_slice(&self.low_version.to_be_bytes());
        put_len_prefixed(out, self.name.as_bytes(), "node name")?;
        put_len_prefixed(out, &self.extra, "extra data")
    }

    /// Reads the fields that [`NodeEntry::encode_fields`] writes. Bytes after the extra data are left alone.
    fn decode_fields(r: &mut Reader<'_>) -> Result<NodeEntry, ProtoError> {
        let port = r.u16()?;
        let node_type = NodeType::from(r.u8()?);
        let protocol = r.u8()?;
        let high_version = r.u16()?;
        let low_version = r.u16()?;
        let name_len = usize::from(r.u16()?);
        let name = decode_name(r.take(name_len)?)?;
        let extra_len = usize::from(r.u16()?);
        let extra = r.take(extra_len)?.to_vec();
        Ok(NodeEntry { name, port, node_type, protocol, high_version, low_version, extra })
    }
}

/// A request to EPMD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// ALIVE2_REQ: register this node; the connection then stays open while it is registered.
    Alive2(NodeEntry),
    /// PORT_PLEASE2_REQ: where does the node `name` (the part before `@`) listen?
    PortPlease2 {
        /// The node name.
        name: String,
    },
    /// NAMES_REQ: the registered names and ports.
    Names,
    /// DUMP_REQ: the registered names with debugging detail.
    Dump,
    /// KILL_REQ: stop the EPMD.
    Kill,
    /// STOP_REQ: forcibly unregister `name`.
    Stop {
        /// The node name.
        name: String,
    },
}

impl Request {
    /// The request tag (its first body byte).
    pub fn tag(&self) -> u8 {
        match self {
            Request::Alive2(_) => ALIVE2_REQ,
            Request::PortPlease2 { .. } => PORT_PLEASE2_REQ,
            Request::Names => NAMES_REQ,
            Request::Dump => DUMP_REQ,
            Request::Kill => KILL_REQ,
            Request::Stop { .. } => STOP_REQ,
        }
    }

    /// The whole frame: the 2-byte length, then the body.
    pub fn encode(&self) -> Result<Vec<u8>, ProtoError> {
        let mut out = vec![0, 0, self.tag()];
        match self {
            Request::Alive2(node) => node.encode_fields(&mut out)?,
            Request::PortPlease2 { name } | Request::Stop { name } => out.extend_from_slice(name.as_bytes()),
            Request::Names | Request::Dump | Request::Kill => {}
        }
        let body_len = out.len() - 2;
        let len = u16::try_from(body_len).map_err(|_| ProtoError::TooLong { what: "request", len: body_len })?;
        out[..2].copy_from_slice(&len.to_be_bytes());
        Ok(out)
    }

    /// Reads a request body (the bytes after the 2-byte length).
    ///
    /// Like OTP's epmd, it ignores bytes after the end of a NAMES, DUMP, KILL or ALIVE2 request. Names must
    /// be non-empty UTF-8 without NUL bytes. Lengths are not checked here: a server refuses names longer
    /// than [`MAX_NAME_CHARS`] and extra data longer than [`MAX_EXTRA_LEN`] with a reply, not by closing.
    pub fn decode(body: &[u8]) -> Result<Request, ProtoError> {
        let (&tag, rest) = body.split_first().ok_or(ProtoError::EmptyRequest)?;
        match tag {
            ALIVE2_REQ => NodeEntry::decode_fields(&mut Reader::new(rest)).map(Request::Alive2),
            PORT_PLEASE2_REQ => Ok(Request::PortPlease2 { name: decode_name(rest)? }),
            NAMES_REQ => Ok(Request::Names),
            DUMP_REQ => Ok(Request::Dump),
            KILL_REQ => Ok(Request::Kill),
            STOP_REQ => Ok(Request::Stop { name: decode_name(rest)? }),
            other => Err(ProtoError::UnknownRequest(other)),
        }
    }
}

/// The reply to ALIVE2_REQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliveReply {
    /// ALIVE2_X_RESP: result (0 = registered) and a 32-bit creation.
    Extended {
        /// 0 when the node is registered; any other value is a refusal.
        result: u8,
        /// The creation handed out.
        creation: u32,
    },
    /// ALIVE2_RESP: result and a 16-bit creation, for nodes whose highest version is below 6.
    Old {
        /// 0 when the node is registered; any other value is a refusal.
        result: u8,
        /// The creation handed out.
        creation: u16,
    },
}

impl AliveReply {
    /// 0 when the node is registered.
    pub fn result(&self) -> u8 {
        match *self {
            AliveReply::Extended { result, .. } | AliveReply::Old { result, .. } => result,
        }
    }

    /// The creation, widened to 32 bits.
    pub fn creation(&self) -> u32 {
        match *self {
            AliveReply::Extended { creation, .. } => creation,
            AliveReply::Old { creation, .. } => u32::from(creation),
        }
    }

    /// The reply's bytes.
    pub fn encode(&self) -> Vec<u8> {
        match *self {
            AliveReply::Extended { result, creation } => {
                let mut out = vec![ALIVE2_X_RESP, result];
                out.extend_from_slice(&creation.to_be_bytes());
                out
            }
            AliveReply::Old { result, creation } => {
                let mut out = vec![ALIVE2_RESP, result];
                out.extend_from_slice(&creation.to_be_bytes());
                out
            }
        }
    }

    /// Reads a reply from the start of `bytes`; returns it and how many bytes it took.
    pub fn decode(bytes: &[u8]) -> Result<(AliveReply, usize), ProtoError> {
        let mut r = Reader::new(bytes);
        let reply = match r.u8()? {
            ALIVE2_X_RESP => AliveReply::Extended { result: r.u8()?, creation: r.u32()? },
            ALIVE2_RESP => AliveReply::Old { result: r.u8()?, creation: r.u16()? },
            other => return Err(ProtoError::UnexpectedReplyTag(other)),
        };
        Ok((reply, r.pos))
    }
}

/// The reply to PORT_PLEASE2_REQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortReply {
    /// The node is registered.
    Found(NodeEntry),
    /// It is not; `result` is the non-zero code the EPMD sent (1 from OTP's epmd).
    NotFound {
        /// The result code.
        result: u8,
    },
}

impl PortReply {
    /// The reply's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, ProtoError> {
        match self {
            PortReply::Found(node) => {
                let mut out = Vec::with_capacity(14 + node.name.len() + node.extra.len());
                out.extend_from_slice(&[PORT2_RESP, 0]);
                node.encode_fields(&mut out)?;
                Ok(out)
            }
            PortReply::NotFound { result } => Ok(vec![PORT2_RESP, *result]),
        }
    }

    /// Reads a reply. A result of 0 with a short entry is [`ProtoError::Truncated`].
    pub fn decode(bytes: &[u8]) -> Result<PortReply, ProtoError> {
        let mut r = Reader::new(bytes);
        match r.u8()? {
            PORT2_RESP => {}
            other => return Err(ProtoError::UnexpectedReplyTag(other)),
        }
        match r.u8()? {
            0 => NodeEntry::decode_fields(&mut r).map(PortReply::Found),
            result => Ok(PortReply::NotFound { result }),
        }
    }

    /// The entry when the node was found.
    pub fn into_entry(self) -> Option<NodeEntry> {
        match self {
            PortReply::Found(node) => Some(node),
            PortReply::NotFound { .. } => None,
        }
    }
}

/// A registered name and port, as a NAMES line tells them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameLine {
    /// The node name.
    pub name: String,
    /// Its distribution port.
    pub port: u16,
}

impl fmt::Display for NameLine {
    /// `name <name> at port <port>`, without the newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "name {} at port {}", self.name, self.port)
    }
}

/// The reply to NAMES_REQ or DUMP_REQ: the EPMD's port, then text until the connection closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListReply {
    /// The port the EPMD answered on.
    pub epmd_port: u32,
    /// The text after the port, as sent: for NAMES one `name <name> at port <port>\n` line per node, for
    /// DUMP one `active name     <<name>> at port <port>, fd = <fd>\n` line per node, each followed by a NUL.
    pub text: Vec<u8>,
}

impl ListReply {
    /// The NAMES reply for `nodes`, in the order given (OTP lists the newest registration first).
    pub fn names<'a>(epmd_port: u32, nodes: impl IntoIterator<Item = (&'a str, u16)>) -> ListReply {
        let mut text = Vec::new();
        for (name, port) in nodes {
            text.extend_from_slice(b"name ");
            text.extend_from_slice(name.as_bytes());
            text.extend_from_slice(b" at port ");
            text.extend_from_slice(port.to_string().as_bytes());
            text.push(b'\n');
        }
        ListReply { epmd_port, text }
    }

    /// The DUMP reply for `nodes` given as name, port and a connection number (OTP prints its file
    /// descriptor there).
    pub fn dump<'a>(epmd_port: u32, nodes: impl IntoIterator<Item = (&'a str, u16, u64)>) -> ListReply {
        let mut text = Vec::new();
        for (name, port, fd) in nodes {
            text.extend_from_slice(b"active name     <");
            text.extend_from_slice(name.as_bytes());
            text.extend_from_slice(format!("> at port {port}, fd = {fd}\n").as_bytes());
            text.push(0);
        }
        ListReply { epmd_port, text }
    }

    /// The reply's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.text.len());
        out.extend_from_slice(&self.epmd_port.to_be_bytes());
        out.extend_from_slice(&self.text);
        out
    }

    /// Reads a whole reply (everything the EPMD sent before closing).
    pub fn decode(bytes: &[u8]) -> Result<ListReply, ProtoError> {
        let mut r = Reader::new(bytes);
        let epmd_port = r.u32()?;
        Ok(ListReply { epmd_port, text: r.rest().to_vec() })
    }

    /// The NAMES lines, parsed.
    pub fn name_lines(&self) -> Result<Vec<NameLine>, ProtoError> {
        let text = std::str::from_utf8(&self.text).map_err(|_| ProtoError::NameNotUtf8)?;
        text.lines().map(parse_name_line).collect()
    }
}

/// Reads `name <name> at port <port>`.
fn parse_name_line(line: &str) -> Result<NameLine, ProtoError> {
    let bad = || ProtoError::BadNamesLine(line.to_owned());
    let rest = line.strip_prefix("name ").ok_or_else(bad)?;
    let (name, port) = rest.rsplit_once(" at port ").ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    Ok(NameLine { name: name.to_owned(), port })
}

/// The reply to KILL_REQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillReply {
    /// `OK`: the EPMD stops.
    Killed,
    /// `NO`: refused, because nodes are registered and relaxed command checking is off.
    Refused,
}

impl KillReply {
    /// The reply's bytes.
    pub fn encode(&self) -> &'static [u8] {
        match self {
            KillReply::Killed => b"OK",
            KillReply::Refused => b"NO",
        }
    }

    /// Reads a reply.
    pub fn decode(bytes: &[u8]) -> Result<KillReply, ProtoError> {
        match bytes {
            b"OK" => Ok(KillReply::Killed),
            b"NO" => Ok(KillReply::Refused),
            b"O" | b"N" | b"" => Err(ProtoError::Truncated),
            other => Err(ProtoError::UnexpectedReply(String::from_utf8_lossy(other).into_owned())),
        }
    }
}

/// The reply to STOP_REQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReply {
    /// `STOPPED`: the name was registered and now is not.
    Stopped,
    /// `NOEXIST`: no such name.
    NoExist,
}

impl StopReply {
    /// The reply's bytes.
    pub fn encode(&self) -> &'static [u8] {
        match self {
            StopReply::Stopped => b"STOPPED",
            StopReply::NoExist => b"NOEXIST",
        }
    }

    /// Reads a reply.
    pub fn decode(bytes: &[u8]) -> Result<StopReply, ProtoError> {
        match bytes {
            b"STOPPED" => Ok(StopReply::Stopped),
            b"NOEXIST" => Ok(StopReply::NoExist),
            short if short.len() < 7 && (b"STOPPED".starts_with(short) || b"NOEXIST".starts_with(short)) => {
                Err(ProtoError::Truncated)
            }
            other => Err(ProtoError::UnexpectedReply(String::from_utf8_lossy(other).into_owned())),
        }
    }
}

/// Checks a node name from the wire: non-empty, UTF-8, no NUL.
fn decode_name(bytes: &[u8]) -> Result<String, ProtoError> {
    if bytes.is_empty() {
        return Err(ProtoError::EmptyName);
    }
    if bytes.contains(&0) {
        return Err(ProtoError::NameHasNul);
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtoError::NameNotUtf8)
}

/// Appends a 16-bit length and `bytes`.
fn put_len_prefixed(out: &mut Vec<u8>, bytes: &[u8], what: &'static str) -> Result<(), ProtoError> {
    let len = u16::try_from(bytes.len()).map_err(|_| ProtoError::TooLong { what, len: bytes.len() })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// A cursor over bytes whose reads fail with [`ProtoError::Truncated`] instead of running past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        let end = self.pos.checked_add(n).ok_or(ProtoError::Truncated)?;
        let slice = self.bytes.get(self.pos..end).ok_or(ProtoError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ProtoError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, ProtoError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, ProtoError> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, ProtoError> {
        self.array().map(u32::from_be_bytes)
    }

    fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        self.pos = self.bytes.len();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ALIVE2_REQ an OTP 25 node named `probe1` on port 41137 sends (checked on the wire).
    const OTP_ALIVE2: &[u8] = b"\x00\x13x\xa0\xb1M\x00\x00\x06\x00\x05\x00\x06probe1\x00\x00";

    #[test]
    fn alive2_request_round_trips_with_otp_bytes() {
        let node = NodeEntry::new("probe1", 41137);
        let frame = Request::Alive2(node.clone()).encode().unwrap();
        assert_eq!(frame, OTP_ALIVE2);
        assert_eq!(Request::decode(&frame[2..]).unwrap(), Request::Alive2(node));
    }

    #[test]
    fn alive2_request_ignores_trailing_bytes_like_otp() {
        let mut body = OTP_ALIVE2[2..].to_vec();
        body.extend_from_slice(b"junk");
        assert!(matches!(Request::decode(&body), Ok(Request::Alive2(n)) if n.name == "probe1"));
    }

    #[test]
    fn every_prefix_of_an_alive2_request_is_truncated() {
        for end in 1..OTP_ALIVE2.len() - 2 {
            assert_eq!(Request::decode(&OTP_ALIVE2[2..2 + end]), Err(ProtoError::Truncated), "prefix {end}");
        }
    }

    #[test]
    fn simple_requests_encode_as_one_tag_byte() {
        assert_eq!(Request::Names.encode().unwrap(), [0, 1, NAMES_REQ]);
        assert_eq!(Request::Dump.encode().unwrap(), [0, 1, DUMP_REQ]);
        assert_eq!(Request::Kill.encode().unwrap(), [0, 1, KILL_REQ]);
        assert_eq!(Request::PortPlease2 { name: "ab".into() }.encode().unwrap(), b"\x00\x03zab");
        assert_eq!(Request::Stop { name: "ab".into() }.encode().unwrap(), b"\x00\x03sab");
    }

    #[test]
    fn bad_requests_are_errors() {
        assert_eq!(Request::decode(b""), Err(ProtoError::EmptyRequest));
        assert_eq!(Request::decode(b"Q"), Err(ProtoError::UnknownRequest(b'Q')));
        assert_eq!(Request::decode(b"z"), Err(ProtoError::EmptyName));
        assert_eq!(Request::decode(b"za\x00b"), Err(ProtoError::NameHasNul));
        assert_eq!(Request::decode(b"z\xff\xfe"), Err(ProtoError::NameNotUtf8));
        assert_eq!(Request::decode(b"s"), Err(ProtoError::EmptyName));
    }

    #[test]
    fn oversized_fields_do_not_encode() {
        let mut node = NodeEntry::new("a", 1);
        node.extra = vec![0; 70_000];
        assert!(matches!(Request::Alive2(node).encode(), Err(ProtoError::TooLong { what: "extra data", .. })));
        let name = "a".repeat(70_000);
        assert!(matches!(Request::PortPlease2 { name }.encode(), Err(ProtoError::TooLong { what: "request", .. })));
    }

    #[test]
    fn alive_replies_match_otp_bytes() {
        let x = AliveReply::Extended { result: 0, creation: 0x6b06_e3e4 };
        assert_eq!(x.encode(), b"v\x00k\x06\xe3\xe4");
        assert_eq!(AliveReply::decode(b"v\x00k\x06\xe3\xe4").unwrap(), (x, 6));
        let refused = AliveReply::Extended { result: 1, creation: REFUSED_CREATION.into() };
        assert_eq!(refused.encode(), b"v\x01\x00\x00\x00c");
        let old = AliveReply::Old { result: 0, creation: 2 };
        assert_eq!(old.encode(), b"y\x00\x00\x02");
        assert_eq!(AliveReply::decode(b"y\x00\x00\x02more").unwrap(), (old, 4));
        assert_eq!(AliveReply::decode(b"v\x00k"), Err(ProtoError::Truncated));
        assert_eq!(AliveReply::decode(b"w"), Err(ProtoError::UnexpectedReplyTag(b'w')));
    }

    #[test]
    fn port_replies_match_otp_bytes() {
        let otp = b"w\x00\xa0\xb1M\x00\x00\x06\x00\x05\x00\x06probe1\x00\x00";
        let found = PortReply::Found(NodeEntry::new("probe1", 41137));
        assert_eq!(found.encode().unwrap(), otp);
        assert_eq!(PortReply::decode(otp).unwrap(), found);
        assert_eq!(PortReply::decode(b"w\x01").unwrap(), PortReply::NotFound { result: 1 });
        assert_eq!(PortReply::decode(&otp[..10]), Err(ProtoError::Truncated));
        assert_eq!(PortReply::decode(b""), Err(ProtoError::Truncated));
    }

    #[test]
    fn names_and_dump_text_match_otp() {
        let names = ListReply::names(14369, [("bb", 5555), ("aa", 41137)]);
        assert_eq!(names.encode(), b"\x00\x008!name bb at port 5555\nname aa at port 41137\n");
        let back = ListReply::decode(&names.encode()).unwrap();
        assert_eq!(
            back.name_lines().unwrap(),
            [NameLine { name: "bb".into(), port: 5555 }, NameLine { name: "aa".into(), port: 41137 }]
        );
        let dump = ListReply::dump(14369, [("probe1", 41137, 5)]);
        assert_eq!(dump.encode(), b"\x00\x008!active name     <probe1> at port 41137, fd = 5\n\x00");
        assert_eq!(ListReply::decode(b"\x00\x00"), Err(ProtoError::Truncated));
    }

    #[test]
    fn kill_and_stop_replies() {
        assert_eq!(KillReply::decode(b"OK"), Ok(KillReply::Killed));
        assert_eq!(KillReply::decode(b"NO"), Ok(KillReply::Refused));
        assert_eq!(KillReply::decode(b"O"), Err(ProtoError::Truncated));
        assert!(matches!(KillReply::decode(b"XY"), Err(ProtoError::UnexpectedReply(_))));
        assert_eq!(StopReply::decode(b"STOPPED"), Ok(StopReply::Stopped));
        assert_eq!(StopReply::decode(b"NOEXIST"), Ok(StopReply::NoExist));
        assert_eq!(StopReply::decode(b"STO"), Err(ProtoError::Truncated));
        assert!(matches!(StopReply::decode(b"WHAT"), Err(ProtoError::UnexpectedReply(_))));
    }

    #[test]
    fn node_type_bytes() {
        for b in 0..=255u8 {
            assert_eq!(u8::from(NodeType::from(b)), b);
        }
        assert_eq!(NodeType::from(77), NodeType::Normal);
        assert_eq!(NodeType::from(72), NodeType::Hidden);
    }
}
