//! Reading Erlang term syntax (placeholder, being written).

/// Text that is not an Erlang term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse error at {offset}: {message}")]
pub struct ParseError {
    /// Byte offset.
    pub offset: usize,
    /// What went wrong.
    pub message: String,
}

impl std::str::FromStr for crate::Term {
    type Err = ParseError;
    fn from_str(_s: &str) -> Result<Self, ParseError> {
        Err(ParseError { offset: 0, message: "unwritten".into() })
    }
}
