//! `Serialize` and `Deserialize` for the crate's own types, which pass through the bridge unchanged.
//!
//! serde's data model has no place for a pid or a reference, so these types smuggle themselves past it:
//! `serialize` puts a copy of the term in a thread-local stash and calls `serialize_newtype_struct` with a
//! private name ([`MAGIC`]). The bridge's serializer recognises the name and takes the term from the stash;
//! any other serializer serializes the newtype's content instead, which empties the stash and writes the
//! term as text. Deserializing mirrors this: `deserialize_newtype_struct(MAGIC, ..)` on the bridge's
//! deserializer stashes the term and calls `visit_unit`, which the visitor answers by taking the stash;
//! other deserializers call `visit_newtype_struct`, and the visitor reads whatever they hold (Erlang text
//! from a string, numbers, sequences, maps).
//!
//! A stash is filled right before the call that empties it and is emptied again when that call returns,
//! whatever happened in it, so a stale term can never end up in another value.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::ser::{Serialize, Serializer};

use super::error::describe;
use crate::{Atom, BigInt, BitString, Export, Fun, Map, Pid, Port, Ref, Term};

/// The newtype-struct name that marks a term passing through (not a valid Rust identifier, so no derived
/// type can have it).
pub(crate) const MAGIC: &str = "$erlnode::Term";

thread_local! {
    static SER_STASH: Cell<Option<Term>> = const { Cell::new(None) };
    static DE_STASH: Cell<Option<Term>> = const { Cell::new(None) };
}

/// Takes the term a `Serialize` impl of this module stashed for the bridge's serializer.
pub(crate) fn take_ser() -> Option<Term> {
    SER_STASH.try_with(Cell::take).ok().flatten()
}

fn put_ser(term: Option<Term>) {
    // Only fails while the thread is being torn down; the newtype's content then serializes as text.
    let _ = SER_STASH.try_with(|c| c.set(term));
}

/// Stashes the term that the bridge's deserializer hands to a `Deserialize` impl of this module.
pub(crate) fn put_de(term: Option<Term>) {
    let _ = DE_STASH.try_with(|c| c.set(term));
}

fn take_de() -> Option<Term> {
    DE_STASH.try_with(Cell::take).ok().flatten()
}

/// How a passing-through value shows itself to a serializer that is not the bridge's.
enum Foreign<'a> {
    /// As a plain string (an atom's name).
    Name(&'a str),
    /// As its Erlang text.
    Shown(&'a dyn fmt::Display),
}

/// The content of the magic newtype, which only serializers other than the bridge's see.
struct Fallback<'a>(Foreign<'a>);

impl Serialize for Fallback<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        put_ser(None);
        match self.0 {
            Foreign::Name(name) => s.serialize_str(name),
            Foreign::Shown(shown) => s.collect_str(shown),
        }
    }
}

fn pass<S: Serializer>(term: Term, foreign: Foreign<'_>, s: S) -> Result<S::Ok, S::Error> {
    put_ser(Some(term));
    let result = s.serialize_newtype_struct(MAGIC, &Fallback(foreign));
    put_ser(None);
    result
}

/// Prints a value through the term it becomes (for types without a `Display` of their own).
struct AsTerm<'a, T>(&'a T);

impl<T: Clone + Into<Term>> fmt::Display for AsTerm<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.clone().into(), f)
    }
}

/// Serializes as the term itself with the bridge; other serializers get its Erlang text as a string.
impl Serialize for Term {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        pass(self.clone(), Foreign::Shown(self), s)
    }
}

/// Serializes as the atom with the bridge; other serializers get its name as a string.
impl Serialize for Atom {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        pass(Term::Atom(*self), Foreign::Name(self.as_str()), s)
    }
}

/// Serializes as an integer term with the bridge; other serializers get its decimal text as a string.
impl Serialize for BigInt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        pass(Term::integer(self.clone()), Foreign::Shown(self), s)
    }
}

macro_rules! serialize_as_term {
    ($($ty:ty),* $(,)?) => {$(
        /// Serializes as the term itself with the bridge; other serializers get its Erlang text as a string.
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                pass(Term::from(self.clone()), Foreign::Shown(&AsTerm(self)), s)
            }
        }
    )*};
}

serialize_as_term!(Pid, Port, Ref, Export, Fun, Map, BitString);

/// Builds a term from whatever a deserializer holds.
///
/// With the bridge's deserializer it receives the term itself (`visit_unit` with the stash filled). With
/// others it maps the data model onto terms: strings are read as Erlang text (what [`Fallback`] writes),
/// numbers, booleans, sequences and maps become the obvious terms, and unit and none become `undefined`.
/// With `atom_text` set, a string is taken verbatim as an atom's name instead.
#[derive(Clone, Copy)]
struct TermVisitor {
    atom_text: bool,
}

impl<'de> Visitor<'de> for TermVisitor {
    type Value = Term;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.atom_text { "an atom" } else { "an Erlang term" })
    }

    fn visit_unit<E: de::Error>(self) -> Result<Term, E> {
        Ok(take_de().unwrap_or(Term::Atom(Atom::UNDEFINED)))
    }

    fn visit_none<E: de::Error>(self) -> Result<Term, E> {
        Ok(Term::Atom(Atom::UNDEFINED))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Term, D::Error> {
        if self.atom_text { d.deserialize_str(self) } else { Term::deserialize(d) }
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Term, D::Error> {
        if self.atom_text { d.deserialize_str(self) } else { d.deserialize_any(self) }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Term, E> {
        Ok(Term::bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Term, E> {
        Ok(Term::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Term, E> {
        Ok(Term::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Term, E> {
        Ok(Term::from(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Term, E> {
        Ok(Term::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Term, E> {
        if v.is_finite() { Ok(Term::Float(v)) } else { Err(E::invalid_value(Unexpected::Float(v), &"a finite float")) }
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<Term, E> {
        Ok(Term::from(u32::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Term, E> {
        if self.atom_text {
            return Atom::try_new(v).map(Term::Atom).map_err(E::custom);
        }
        v.parse::<Term>().map_err(|e| E::custom(format_args!("not an Erlang term ({e}): {v:?}")))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Term, E> {
        Ok(Term::binary(bytes::Bytes::copy_from_slice(v)))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Term, E> {
        Ok(Term::binary(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Term, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element::<Term>()? {
            items.push(item);
        }
        Ok(Term::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Term, A::Error> {
        let mut out = Map::new();
        while let Some((k, v)) = map.next_entry::<Term, Term>()? {
            out.insert(k, v);
        }
        Ok(Term::Map(out))
    }
}

fn deserialize_term<'de, D: Deserializer<'de>>(d: D, atom_text: bool) -> Result<Term, D::Error> {
    d.deserialize_newtype_struct(MAGIC, TermVisitor { atom_text })
}

/// Takes the term as it is with the bridge; from other deserializers reads Erlang text from a string and
/// maps numbers, booleans, sequences and maps to the obvious terms.
impl<'de> Deserialize<'de> for Term {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Term, D::Error> {
        deserialize_term(d, false)
    }
}

fn wrong_kind<E: de::Error>(found: &Term, expected: &'static str) -> E {
    E::invalid_type(Unexpected::Other(&describe(found)), &expected)
}

/// Accepts an atom; from other deserializers, a string naming it.
impl<'de> Deserialize<'de> for Atom {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Atom, D::Error> {
        match deserialize_term(d, true)? {
            Term::Atom(a) => Ok(a),
            other => Err(wrong_kind(&other, "an atom")),
        }
    }
}

/// Accepts any integer term (`Term::Int` or `Term::Big`).
impl<'de> Deserialize<'de> for BigInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<BigInt, D::Error> {
        match deserialize_term(d, false)? {
            Term::Big(b) => Ok(b),
            Term::Int(i) => Ok(BigInt::from(i)),
            other => Err(wrong_kind(&other, "an integer")),
        }
    }
}

macro_rules! deserialize_variant {
    ($($ty:ty => $variant:ident ($bind:ident) => $out:expr, $what:literal;)*) => {$(
        #[doc = concat!("Accepts ", $what, " term; from other deserializers, its Erlang text.")]
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                match deserialize_term(d, false)? {
                    Term::$variant($bind) => Ok($out),
                    other => Err(wrong_kind(&other, $what)),
                }
            }
        }
    )*};
}

deserialize_variant! {
    Pid => Pid(p) => p, "a pid";
    Port => Port(p) => p, "a port";
    Ref => Ref(r) => r, "a reference";
    Export => Export(e) => e, "an external fun";
    Fun => Fun(f) => *f, "a fun";
    Map => Map(m) => m, "a map";
    BitString => Bits(b) => b, "a bitstring";
}
