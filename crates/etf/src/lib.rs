//! Erlang terms and the external term format (ETF).
//!
//! This crate is the ground the rest of erlnode stands on: the [`Term`] model, its exact encoding to and
//! from the bytes that `term_to_binary/1` and `binary_to_term/1` use and that Erlang nodes exchange, Erlang's
//! term syntax for reading and printing terms, and a serde bridge so Rust types cross into terms without
//! hand-written conversions.
//!
//! # Terms
//! ```
//! use erlnode_etf::Term;
//!
//! // Read Erlang syntax, print it back the way `io:format("~p")` does on one line.
//! let t: Term = "{ok, [1,2,3], <<\"hi\">>, #{a => 1}}".parse().unwrap();
//! assert_eq!(t.to_string(), "{ok,[1,2,3],<<\"hi\">>,#{a => 1}}");
//!
//! // Encode and decode; the bytes are OTP 25's `term_to_binary/1` output.
//! let bytes = t.encode().unwrap();
//! assert_eq!(Term::decode(&bytes).unwrap(), t);
//! ```
//!
//! # Codec
//! [`Term::encode`] and [`Term::decode`] cover the common case. [`Encoder`] chooses the atom encoding
//! (OTP 25's `minor_version` 1 or the UTF-8 form of OTP 26+ and distribution), compression (tag 80, as
//! `term_to_binary(T, [compressed])`) and an atom cache for the distribution layer. [`Decoder`] reads every
//! tag OTP can produce, bounds nesting depth, refuses to allocate more than its input can justify, and
//! reports every failure as a [`DecodeError`] with the byte offset where it happened. Decoding from
//! [`bytes::Bytes`] is zero-copy: binaries in the result share the input buffer.
//!
//! # serde
//! See the [`serde` module](mod@crate::serde) for the mapping between Rust types and terms.
#![warn(missing_docs)]

mod atom;
mod bigint;
mod bitstring;
pub mod decode;
mod display;
pub mod encode;
mod fun;
mod map;
mod order;
mod parse;
mod pid;
mod reference;
pub mod serde;
pub mod tag;
mod term;

pub use atom::{Atom, AtomError, MAX_ATOM_CHARS, MAX_ATOMS};
pub use bigint::{BigInt, ParseBigIntError};
pub use bitstring::BitString;
pub use decode::{BodyReader, DecodeError, DecodeErrorKind, Decoder};
pub use encode::{EncodeError, Encoder};
pub use fun::{Export, Fun};
pub use map::Map;
pub use parse::ParseError;
pub use pid::{Pid, Port};
pub use reference::{MAX_REF_WORDS, Ref};
pub use serde::{from_bytes, from_term, to_bytes, to_term};
pub use term::Term;
