//! serde bridge (placeholder, being written).
use crate::Term;

/// Serde error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

/// Converts a value to a term.
pub fn to_term<T: ::serde::Serialize + ?Sized>(_v: &T) -> Result<Term, Error> {
    Err(Error("unwritten".into()))
}
/// Converts a term to a value.
pub fn from_term<T: ::serde::de::DeserializeOwned>(_t: &Term) -> Result<T, Error> {
    Err(Error("unwritten".into()))
}
/// Encodes a value.
pub fn to_bytes<T: ::serde::Serialize + ?Sized>(_v: &T) -> Result<Vec<u8>, Error> {
    Err(Error("unwritten".into()))
}
/// Decodes a value.
pub fn from_bytes<T: ::serde::de::DeserializeOwned>(_b: &[u8]) -> Result<T, Error> {
    Err(Error("unwritten".into()))
}
