//! Funs: closures (NEW_FUN_EXT) and external funs (EXPORT_EXT).

use crate::{Atom, Pid, Term};

/// A closure made by Erlang code (`fun(X) -> X end`), as NEW_FUN_EXT carries it.
///
/// Rust cannot call it, but it can hold it and send it back: a peer running the same module version can.
#[derive(Debug, Clone)]
pub struct Fun {
    /// The module that defines the fun.
    pub module: Atom,
    /// How many arguments it takes.
    pub arity: u8,
    /// The MD5 of the module's significant parts.
    pub uniq: [u8; 16],
    /// The fun's index in the module's fun table.
    pub index: u32,
    /// The old-style index (an integer term on the wire).
    pub old_index: u32,
    /// The old-style hash of the fun (an integer term on the wire); Erlang prints it in `#Fun<M.I.U>`.
    pub old_uniq: u32,
    /// The process that created the fun.
    pub pid: Pid,
    /// The captured variables.
    pub free_vars: Vec<Term>,
}

/// An external fun, `fun Module:Function/Arity` (EXPORT_EXT).
///
/// ```
/// use erlnode_etf::{Atom, Export};
/// let f = Export::new(Atom::new("lists"), Atom::new("map"), 2);
/// assert_eq!(f.to_string(), "fun lists:map/2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Export {
    /// The module.
    pub module: Atom,
    /// The function name.
    pub function: Atom,
    /// The arity.
    pub arity: u8,
}

impl Export {
    /// `fun Module:Function/Arity`.
    pub const fn new(module: Atom, function: Atom, arity: u8) -> Export {
        Export { module, function, arity }
    }
}
