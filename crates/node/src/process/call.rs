//! The caller's side and the server's side of `gen_server:call`'s wire form, as far as the runtime needs
//! it: a call is `{'$gen_call', {Pid, Tag}, Request}` and its answer `{Tag, Reply}`. The tag is opaque; an
//! OTP 24+ caller makes it `[alias | Ref]` and waits on that alias, so the answer goes to the alias when
//! the tag carries one and to the pid otherwise.

use erlnode_etf::{Ref, Term};

use super::Process;

/// Sends `reply` to the caller of a call whose `From` is `from` (`gen_server:reply/2`).
pub(crate) fn reply(p: &Process, from: &Term, reply: Term) {
    let Some([Term::Pid(caller), tag]) = from.as_tuple() else {
        tracing::debug!(%from, "reply to a malformed From dropped");
        return;
    };
    let message = Term::tuple(vec![tag.clone(), reply]);
    match alias_of(tag) {
        Some(alias) => p.send_alias(alias, message),
        None => p.send(*caller, message),
    }
}

/// [`reply`], taking `from` apart instead of copying its tag (a server that is done with it).
pub(crate) fn reply_owned(p: &Process, from: Term, reply: Term) {
    let Term::Tuple(mut parts) = from else {
        tracing::debug!(%from, "reply to a malformed From dropped");
        return;
    };
    let (Some(tag), Some(Term::Pid(caller)), true) = (parts.pop(), parts.pop(), parts.is_empty()) else {
        tracing::debug!("reply to a malformed From dropped");
        return;
    };
    let alias = alias_of(&tag);
    let message = Term::tuple(vec![tag, reply]);
    match alias {
        Some(alias) => p.send_alias(alias, message),
        None => p.send(caller, message),
    }
}

/// [`reply`] from the node rather than a process: for replies made outside any process's code.
pub(crate) fn reply_from(node: &crate::Node, from: &Term, reply: Term) {
    let Some([Term::Pid(caller), tag]) = from.as_tuple() else {
        tracing::debug!(%from, "reply to a malformed From dropped");
        return;
    };
    let message = Term::tuple(vec![tag.clone(), reply]);
    match alias_of(tag) {
        Some(alias) => node.send_alias(alias, message),
        None => node.send(*caller, message),
    }
}

/// The alias in a call tag of the form `[alias | Ref]` (or `[[alias | Ref] | _]`).
pub(crate) fn alias_of(tag: &Term) -> Option<Ref> {
    match tag {
        Term::Improper(items, tail) => match (items.as_slice(), tail.as_ref()) {
            ([Term::Atom(a)], Term::Ref(r)) if a.as_str() == "alias" => Some(*r),
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
