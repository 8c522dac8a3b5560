//! Printing terms in Erlang syntax (placeholder, being written).

use std::fmt;

pub(crate) fn write_atom(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    write!(f, "'{text}'")
}

impl fmt::Display for crate::Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}
macro_rules! via_term {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self)
            }
        }
    )*};
}
via_term!(crate::Pid, crate::Port, crate::Ref, crate::Export, crate::BitString);
