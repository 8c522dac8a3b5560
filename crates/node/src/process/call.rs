//! The caller's side and the server's side of `gen_server:call`'s wire form, as far as the runtime needs
//! it: a call is `{'$gen_call', {Pid, Tag}, Request}` and its answer `{Tag, Reply}`. The tag is opaque; an
//! OTP 24+ caller makes it `[alias | Ref]` and waits on that alias, so the answer goes to the alias when
//! the tag carries one and to the pid otherwise.

use erlnode_etf::{Ref, Term};

use super::Process;

/// Sends `reply` to the caller of a call whose `From` is `from` (`gen_server:reply/2`).
pub(crate) fn reply(p: &Process, from: &Term, reply: Term) {
    reply_owned(p, from.clone(), reply);
}

/// [`reply`], taking `from` apart instead of copying its tag (a server that is done with it).
pub(crate) fn reply_owned(p: &Process, from: Term, reply: Term) {
    match answer(from, reply) {
        Some((To::Alias(caller, alias), message)) => p.answer_alias(caller, alias, message),
        Some((To::Pid(pid), message)) => p.send(pid, message),
        None => {}
    }
}

/// [`reply`] from the node rather than a process: for replies made outside any process's code.
pub(crate) fn reply_from(node: &crate::Node, from: &Term, reply: Term) {
    match answer(from.clone(), reply) {
        Some((To::Alias(_, alias), message)) => node.send_alias(alias, message),
        Some((To::Pid(pid), message)) => node.send(pid, message),
        None => {}
    }
}

/// Where an answer goes.
enum To {
    /// The alias, and the pid of the caller that says it made it.
    Alias(erlnode_etf::Pid, Ref),
    Pid(erlnode_etf::Pid),
}

/// The answer `{Tag, Reply}` to the call whose `From` is `from`, and where it goes: the alias in the tag
/// if it carries one (OTP 24+ callers), else the caller's pid. `None` (logged) for a malformed `From`.
fn answer(from: Term, reply: Term) -> Option<(To, Term)> {
    let parts = match from {
        Term::Tuple(parts) if parts.len() == 2 => parts,
        other => {
            tracing::debug!(from = %other, "reply to a malformed From dropped");
            return None;
        }
    };
    let Term::Pid(caller) = parts[0] else {
        tracing::debug!("reply to a From without a pid dropped");
        return None;
    };
    let to = alias_of(&parts[1]).map_or(To::Pid(caller), |alias| To::Alias(caller, alias));
    // `{Pid, Tag}` becomes `{Tag, Reply}` in the same two slots.
    let mut parts = parts;
    parts.swap(0, 1);
    parts[1] = reply;
    Some((to, Term::Tuple(parts)))
}

/// The alias in a call tag of the form `[alias | Ref]` (or `[[alias | Ref] | _]`).
pub(crate) fn alias_of(tag: &Term) -> Option<Ref> {
    match tag {
        Term::Improper(items, tail) => match (items.as_slice(), tail.as_ref()) {
            ([Term::Atom(a)], Term::Ref(r)) if *a == crate::atoms::alias() => Some(*r),
            ([inner], _) => alias_of(inner),
            _ => None,
        },
        Term::List(items) => items.first().and_then(alias_of),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use erlnode_etf::Atom;

    #[test]
    fn alias_tags_are_found() {
        let r = Ref::new(Atom::new("a@h"), 1, &[1, 2, 3]).unwrap();
        let tag = Term::Improper(vec![Term::atom("alias")], Box::new(Term::Ref(r)));
        assert_eq!(alias_of(&tag), Some(r));
        let nested = Term::Improper(vec![tag.clone()], Box::new(Term::atom("x")));
        assert_eq!(alias_of(&nested), Some(r));
        assert_eq!(alias_of(&Term::Ref(r)), None);
    }
}
