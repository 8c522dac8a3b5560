//! The error type of the serde bridge, and the short descriptions of terms that its messages quote.

use std::fmt::{self, Write as _};

use crate::{AtomError, DecodeError, EncodeError, Term};

/// Why a value could not become a term, or a term could not become a value.
///
/// Type mismatches say what the Rust side expected and which term was found:
///
/// ```
/// use erlnode_etf::{serde::Error, Term};
/// let err = erlnode_etf::from_term::<u32>(&Term::atom("oops")).unwrap_err();
/// assert!(matches!(&err, Error::Mismatch { expected, found } if expected == "u32" && found.starts_with("atom")));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A message from a `Serialize` or `Deserialize` implementation (serde's `custom`).
    #[error("{0}")]
    Message(String),
    /// The bytes given to [`from_bytes`](super::from_bytes) are not a valid term.
    #[error("decoding failed: {0}")]
    Decode(#[from] DecodeError),
    /// The term made by [`to_bytes`](super::to_bytes) could not be encoded.
    #[error("encoding failed: {0}")]
    Encode(#[from] EncodeError),
    /// A struct field, variant or text could not become an atom (too long, or the atom table is full).
    #[error("invalid atom: {0}")]
    Atom(#[from] AtomError),
    /// A term of the wrong kind for the Rust type.
    #[error("expected {expected}, found {found}")]
    Mismatch {
        /// What the Rust type accepts (serde's description, such as `u32`, `a string` or `struct User`).
        expected: String,
        /// The kind of term found, with its first characters in Erlang syntax.
        found: String,
    },
    /// An integer that does not fit the Rust integer type.
    #[error("integer {value} does not fit in {target}")]
    OutOfRange {
        /// The integer, in decimal.
        value: String,
        /// The Rust type, such as `u8`.
        target: &'static str,
    },
    /// A float that is NaN or infinite; Erlang floats are finite.
    #[error("float {0} is not finite; Erlang floats are")]
    NonFiniteFloat(f64),
    /// A list or tuple with the wrong number of elements.
    #[error("wrong length {len}, expected {expected}")]
    InvalidLength {
        /// The number of elements found.
        len: usize,
        /// What was expected.
        expected: String,
    },
    /// A struct field missing from the map.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A map key that the struct does not have (only with `#[serde(deny_unknown_fields)]`).
    #[error("unknown field `{field}`, expected one of {expected:?}")]
    UnknownField {
        /// The key found.
        field: String,
        /// The struct's fields.
        expected: &'static [&'static str],
    },
    /// An atom (or tuple tag) that names no variant of the enum.
    #[error("unknown variant `{variant}`, expected one of {expected:?}")]
    UnknownVariant {
        /// The name found.
        variant: String,
        /// The enum's variants.
        expected: &'static [&'static str],
    },
}

impl Error {
    /// A mismatch between what `expected` describes and `found`.
    pub(crate) fn mismatch(expected: &dyn serde::de::Expected, found: &Term) -> Error {
        Error::Mismatch { expected: expected.to_string(), found: describe(found) }
    }
}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error::Message(msg.to_string())
    }
}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error::Message(msg.to_string())
    }

    fn invalid_type(unexp: serde::de::Unexpected<'_>, exp: &dyn serde::de::Expected) -> Error {
        Error::Mismatch { expected: exp.to_string(), found: unexp.to_string() }
    }

    fn invalid_length(len: usize, exp: &dyn serde::de::Expected) -> Error {
        Error::InvalidLength { len, expected: exp.to_string() }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Error {
        Error::UnknownVariant { variant: variant.to_owned(), expected }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Error {
        Error::UnknownField { field: field.to_owned(), expected }
    }

    fn missing_field(field: &'static str) -> Error {
        Error::MissingField(field)
    }
}

/// The name of a term's kind, as error messages use it.
pub(crate) fn kind(term: &Term) -> &'static str {
    match term {
        Term::Int(_) | Term::Big(_) => "integer",
        Term::Float(_) => "float",
        Term::Atom(_) => "atom",
        Term::Ref(_) => "reference",
        Term::Fun(_) | Term::Export(_) => "fun",
        Term::Port(_) => "port",
        Term::Pid(_) => "pid",
        Term::Tuple(_) => "tuple",
        Term::Map(_) => "map",
        Term::List(_) | Term::Charlist(_) => "list",
        Term::Improper(..) => "improper list",
        Term::Binary(_) => "binary",
        Term::Bits(_) => "bitstring",
    }
}

/// How many characters of a term's text an error message quotes.
const QUOTED_CHARS: usize = 60;

/// `kind text`, with the text cut after [`QUOTED_CHARS`] characters. Printing stops there, so describing
/// a huge term costs no more than describing a small one.
pub(crate) fn describe(term: &Term) -> String {
    let mut out = Bounded { text: String::new(), room: QUOTED_CHARS, cut: false };
    out.text.push_str(kind(term));
    out.text.push(' ');
    // An error only means the bound was reached; the text so far is what we want.
    let _ = write!(out, "{term}");
    if out.cut {
        out.text.push_str("...");
    }
    out.text
}

/// A writer that keeps at most `room` characters and then refuses more.
struct Bounded {
    text: String,
    room: usize,
    cut: bool,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.room == 0 {
                self.cut = true;
                return Err(fmt::Error);
            }
            self.text.push(c);
            self.room -= 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_bounded() {
        let long = Term::list(vec![Term::from(123_456); 10_000]);
        let text = describe(&long);
        assert!(text.starts_with("list "));
        assert!(text.ends_with("..."));
        assert!(text.chars().count() <= "list ".len() + QUOTED_CHARS + 3);
        assert!(describe(&Term::from(1)).starts_with("integer "));
    }
}
