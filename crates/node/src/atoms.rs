//! Atoms the runtime uses again and again, interned once.

use std::sync::LazyLock;

use erlnode_etf::Atom;

/// `true` when `term` is the atom `name`.
pub(crate) fn is(term: &erlnode_etf::Term, name: &str) -> bool {
    term.as_atom().is_some_and(|a| a.as_str() == name)
}

macro_rules! atoms {
    ($($(#[$doc:meta])* $name:ident = $text:literal;)*) => {$(
        $(#[$doc])*
        pub(crate) fn $name() -> Atom {
            static ATOM: LazyLock<Atom> = LazyLock::new(|| Atom::new($text));
            *ATOM
        }
    )*};
}

atoms! {
    /// `normal`
    normal = "normal";
    /// `kill`
    kill = "kill";
    /// `killed`
    killed = "killed";
    /// `noproc`
    noproc = "noproc";
    /// `panic`
    panic = "panic";
    /// `'EXIT'`
    exit_tag = "EXIT";
    /// `'DOWN'`
    down_tag = "DOWN";
    /// `process`
    process = "process";
    /// `badarg`
    badarg = "badarg";
    /// `system_limit`
    system_limit = "system_limit";
    /// `noconnection`
    noconnection = "noconnection";
    /// `'$gen_call'`
    gen_call = "$gen_call";
    /// `'$gen_cast'`
    gen_cast = "$gen_cast";
    /// `system`
    system = "system";
    /// `alias`
    alias = "alias";
    /// `erpc`
    erpc = "erpc";
    /// `execute_call`
    execute_call = "execute_call";
    /// `execute_cast`
    execute_cast = "execute_cast";
    /// `user`
    user = "user";
    /// `link`
    link = "link";
    /// `monitor`
    monitor = "monitor";
    /// `spawn_reply`
    spawn_reply = "spawn_reply";
    /// `ok`
    ok = "ok";
    /// `error`
    error = "error";
    /// `return`
    return_ = "return";
    /// `throw`
    throw = "throw";
    /// `exit`
    exit = "exit";
}
