//! ETF tag bytes (OTP's `erl_ext_dist.md`).

/// The version byte that starts a standalone term.
pub const VERSION: u8 = 131;
/// zlib-compressed term: `UncompressedSize:32`, then the deflated term.
pub const COMPRESSED: u8 = 80;
/// IEEE 754 double, big-endian.
pub const NEW_FLOAT: u8 = 70;
/// Bitstring: `Len:32, Bits:8, Data`.
pub const BIT_BINARY: u8 = 77;
/// Index into the distribution header's atom cache references.
pub const ATOM_CACHE_REF: u8 = 82;
/// Pid: `Node, Id:32, Serial:32, Creation:32`.
pub const NEW_PID: u8 = 88;
/// Port: `Node, Id:32, Creation:32`.
pub const NEW_PORT: u8 = 89;
/// Reference: `Len:16, Node, Creation:32, Id:32 * Len`.
pub const NEWER_REFERENCE: u8 = 90;
/// Integer 0..=255.
pub const SMALL_INTEGER: u8 = 97;
/// Signed 32-bit integer.
pub const INTEGER: u8 = 98;
/// Legacy float: 31 bytes of `%.20e` text.
pub const FLOAT: u8 = 99;
/// Legacy Latin-1 atom with a 16-bit length.
pub const ATOM: u8 = 100;
/// Legacy reference: `Node, Id:32, Creation:8`.
pub const REFERENCE: u8 = 101;
/// Legacy port: `Node, Id:32, Creation:8`.
pub const PORT: u8 = 102;
/// Legacy pid: `Node, Id:32, Serial:32, Creation:8`.
pub const PID: u8 = 103;
/// Tuple of up to 255 elements.
pub const SMALL_TUPLE: u8 = 104;
/// Tuple with a 32-bit arity.
pub const LARGE_TUPLE: u8 = 105;
/// `[]`.
pub const NIL: u8 = 106;
/// A list of bytes: `Len:16, Bytes`.
pub const STRING: u8 = 107;
/// A list: `Len:32, Elements, Tail`.
pub const LIST: u8 = 108;
/// Binary: `Len:32, Data`.
pub const BINARY: u8 = 109;
/// Big integer with an 8-bit digit count.
pub const SMALL_BIG: u8 = 110;
/// Big integer with a 32-bit digit count.
pub const LARGE_BIG: u8 = 111;
/// Closure.
pub const NEW_FUN: u8 = 112;
/// External fun `fun M:F/A`.
pub const EXPORT: u8 = 113;
/// Legacy reference: `Len:16, Node, Creation:8, Id:32 * Len`.
pub const NEW_REFERENCE: u8 = 114;
/// Legacy Latin-1 atom with an 8-bit length.
pub const SMALL_ATOM: u8 = 115;
/// Map: `Arity:32, Key, Value, ...`.
pub const MAP: u8 = 116;
/// Pre-R13 closure; not supported.
pub const FUN: u8 = 117;
/// UTF-8 atom with a 16-bit length.
pub const ATOM_UTF8: u8 = 118;
/// UTF-8 atom with an 8-bit length.
pub const SMALL_ATOM_UTF8: u8 = 119;
/// Port with a 64-bit id.
pub const V4_PORT: u8 = 120;
/// A term in a node-local format; not supported.
pub const LOCAL: u8 = 121;
