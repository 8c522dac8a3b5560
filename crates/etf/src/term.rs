//! The term model.

use bytes::Bytes;

use crate::{Atom, BigInt, BitString, Export, Fun, Map, Pid, Port, Ref};

/// An Erlang term.
///
/// Equality, ordering and hashing follow Erlang's exact term order (`=:=` and the order `lists:sort/1`
/// uses): `number < atom < reference < fun < port < pid < tuple < map < [] < list < bitstring`, and an
/// integer sorts before a float of the same value, as map keys do. A list has one meaning however it is
/// held: `Term::Charlist(b"abc")` equals `Term::List` of `97, 98, 99`.
///
/// The variants are plain data, so terms can be built and matched directly; the constructors
/// ([`Term::atom`], [`Term::tuple`], [`Term::improper`], ...) keep the invariants noted on each variant.
///
/// ```
/// use erlnode_etf::Term;
/// let t: Term = "{ok, [1,2,3], <<\"hi\">>, #{a => 1}}".parse().unwrap();
/// assert_eq!(t.to_string(), "{ok,[1,2,3],<<\"hi\">>,#{a => 1}}");
/// assert_eq!(Term::decode(&t.encode().unwrap()).unwrap(), t);
/// ```
#[derive(Debug, Clone)]
pub enum Term {
    /// An integer that fits in `i64`.
    Int(i64),
    /// An integer outside `i64` (a `Big` holding a small value still equals the same `Int`).
    Big(BigInt),
    /// A finite float (Erlang has no NaN or infinities; the encoder refuses them).
    Float(f64),
    /// An atom.
    Atom(Atom),
    /// A reference.
    Ref(Ref),
    /// A closure.
    Fun(Box<Fun>),
    /// An external fun, `fun M:F/A`.
    Export(Export),
    /// A port.
    Port(Port),
    /// A process identifier.
    Pid(Pid),
    /// A tuple.
    Tuple(Vec<Term>),
    /// A map.
    Map(Map),
    /// A proper list; the empty one is `[]` (nil).
    List(Vec<Term>),
    /// A proper list of integers 0..=255 held as bytes, the way Erlang sends strings (STRING_EXT).
    Charlist(Bytes),
    /// A list whose tail is not a list, such as `[1|2]`: at least one element, and a tail that is not a list.
    Improper(Vec<Term>, Box<Term>),
    /// A binary (a whole number of bytes).
    Binary(Bytes),
    /// A bitstring that is not a whole number of bytes.
    Bits(BitString),
}

impl Term {
    /// `[]`.
    pub const NIL: Term = Term::List(Vec::new());

    /// The atom named `name`.
    ///
    /// # Panics
    /// When `name` is not a valid atom (over 255 characters, or the atom table is full).
    pub fn atom(name: &str) -> Term {
        Term::Atom(Atom::new(name))
    }

    /// A tuple of `elements`.
    pub fn tuple(elements: impl Into<Vec<Term>>) -> Term {
        Term::Tuple(elements.into())
    }

    /// A proper list of `elements`.
    pub fn list(elements: impl Into<Vec<Term>>) -> Term {
        Term::List(elements.into())
    }

    /// A binary holding `bytes` (cheap for `Bytes`, which is shared, not copied).
    pub fn binary(bytes: impl Into<Bytes>) -> Term {
        Term::Binary(bytes.into())
    }

    /// `[e1, e2, ... | tail]`, in the one shape each list has: a list tail is spliced in, so the result is a
    /// [`Term::List`] when the final tail is `[]` and a [`Term::Improper`] otherwise.
    pub fn improper(mut elements: Vec<Term>, tail: Term) -> Term {
        match tail {
            Term::List(rest) => {
                elements.extend(rest);
                Term::List(elements)
            }
            Term::Charlist(bytes) if elements.is_empty() => Term::Charlist(bytes),
            Term::Charlist(bytes) => {
                elements.extend(bytes.iter().map(|&b| Term::Int(i64::from(b))));
                Term::List(elements)
            }
            Term::Improper(rest, tail) => {
                elements.extend(rest);
                Term::Improper(elements, tail)
            }
            tail if elements.is_empty() => tail,
            tail => Term::Improper(elements, Box::new(tail)),
        }
    }

    /// An integer of any size, as `Int` when it fits in `i64`.
    pub fn integer(value: BigInt) -> Term {
        match value.to_i64() {
            Some(v) => Term::Int(v),
            None => Term::Big(value),
        }
    }

    /// The atom `true` or `false`.
    pub fn bool(b: bool) -> Term {
        Term::Atom(Atom::from(b))
    }

    /// `{ok, Value}`.
    pub fn ok(value: Term) -> Term {
        Term::Tuple(vec![Term::Atom(Atom::OK), value])
    }

    /// `{error, Reason}`.
    pub fn error(reason: Term) -> Term {
        Term::Tuple(vec![Term::Atom(Atom::ERROR), reason])
    }

    /// The atom, if this is one.
    pub fn as_atom(&self) -> Option<Atom> {
        match self {
            Term::Atom(a) => Some(*a),
            _ => None,
        }
    }

    /// The integer, if this is one that fits in `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Term::Int(i) => Some(*i),
            Term::Big(b) => b.to_i64(),
            _ => None,
        }
    }

    /// The float, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Term::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The bytes of a binary.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Term::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The elements of a tuple.
    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Term::Tuple(t) => Some(t),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Term::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The pid, if this is one.
    pub fn as_pid(&self) -> Option<Pid> {
        match self {
            Term::Pid(p) => Some(*p),
            _ => None,
        }
    }

    /// The reference, if this is one.
    pub fn as_ref(&self) -> Option<&Ref> {
        match self {
            Term::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// `true` for `[]`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Term::List(l) if l.is_empty()) || matches!(self, Term::Charlist(b) if b.is_empty())
    }

    /// `true` for any list, proper or not, including `[]`.
    pub fn is_list(&self) -> bool {
        matches!(self, Term::List(_) | Term::Charlist(_) | Term::Improper(..))
    }

    /// The elements of a proper list (a charlist is expanded to integers).
    pub fn to_list(&self) -> Option<Vec<Term>> {
        match self {
            Term::List(l) => Some(l.clone()),
            Term::Charlist(b) => Some(b.iter().map(|&c| Term::Int(i64::from(c))).collect()),
            _ => None,
        }
    }

    /// The elements of a proper list, taken out of it without copying (a charlist is expanded to
    /// integers); the term back when it is not a proper list.
    pub fn into_list(self) -> Result<Vec<Term>, Term> {
        match self {
            Term::List(l) => Ok(l),
            Term::Charlist(b) => Ok(b.iter().map(|&c| Term::Int(i64::from(c))).collect()),
            other => Err(other),
        }
    }

    /// The text of a binary holding UTF-8, or of a proper list of Unicode code points (an Erlang string).
    pub fn to_text(&self) -> Option<String> {
        match self {
            Term::Binary(b) => std::str::from_utf8(b).ok().map(str::to_owned),
            Term::Charlist(b) => Some(b.iter().map(|&c| char::from(c)).collect()),
            Term::List(l) => {
                l.iter().map(|t| t.as_i64().and_then(|c| u32::try_from(c).ok()).and_then(char::from_u32)).collect()
            }
            _ => None,
        }
    }

    /// A charlist of the code points of `text` (Erlang's `"text"` in source).
    pub fn charlist(text: &str) -> Term {
        if text.chars().all(|c| u32::from(c) < 256) {
            Term::Charlist(text.chars().map(|c| c as u8).collect::<Vec<u8>>().into())
        } else {
            Term::List(text.chars().map(|c| Term::Int(i64::from(u32::from(c)))).collect())
        }
    }
}

impl Default for Term {
    fn default() -> Term {
        Term::NIL
    }
}

macro_rules! from_small_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Term {
            fn from(v: $t) -> Term {
                Term::Int(i64::from(v))
            }
        }
    )*};
}
from_small_int!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! from_wide_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Term {
            fn from(v: $t) -> Term {
                match i64::try_from(v) {
                    Ok(small) => Term::Int(small),
                    Err(_) => Term::Big(BigInt::from(v as i128)),
                }
            }
        }
    )*};
}
from_wide_int!(u64, usize, isize);

impl From<i128> for Term {
    fn from(v: i128) -> Term {
        // Most values fit a small integer: no big to make and take apart.
        match i64::try_from(v) {
            Ok(small) => Term::Int(small),
            Err(_) => Term::integer(BigInt::from(v)),
        }
    }
}

impl From<u128> for Term {
    fn from(v: u128) -> Term {
        match i64::try_from(v) {
            Ok(small) => Term::Int(small),
            Err(_) => Term::integer(BigInt::from(v)),
        }
    }
}

impl From<BigInt> for Term {
    fn from(v: BigInt) -> Term {
        Term::integer(v)
    }
}

impl From<f64> for Term {
    fn from(v: f64) -> Term {
        Term::Float(v)
    }
}

impl From<bool> for Term {
    fn from(v: bool) -> Term {
        Term::bool(v)
    }
}

impl From<Atom> for Term {
    fn from(v: Atom) -> Term {
        Term::Atom(v)
    }
}

impl From<Pid> for Term {
    fn from(v: Pid) -> Term {
        Term::Pid(v)
    }
}

impl From<Port> for Term {
    fn from(v: Port) -> Term {
        Term::Port(v)
    }
}

impl From<Ref> for Term {
    fn from(v: Ref) -> Term {
        Term::Ref(v)
    }
}

impl From<Fun> for Term {
    fn from(v: Fun) -> Term {
        Term::Fun(Box::new(v))
    }
}

impl From<Export> for Term {
    fn from(v: Export) -> Term {
        Term::Export(v)
    }
}

impl From<Map> for Term {
    fn from(v: Map) -> Term {
        Term::Map(v)
    }
}

impl From<BitString> for Term {
    fn from(v: BitString) -> Term {
        Term::Bits(v)
    }
}

impl From<Bytes> for Term {
    fn from(v: Bytes) -> Term {
        Term::Binary(v)
    }
}

/// A Rust string becomes a UTF-8 binary, as Elixir strings are.
impl From<&str> for Term {
    fn from(v: &str) -> Term {
        Term::Binary(Bytes::copy_from_slice(v.as_bytes()))
    }
}

/// A Rust string becomes a UTF-8 binary, as Elixir strings are.
impl From<String> for Term {
    fn from(v: String) -> Term {
        Term::Binary(Bytes::from(v))
    }
}

impl From<Vec<Term>> for Term {
    fn from(v: Vec<Term>) -> Term {
        Term::List(v)
    }
}

macro_rules! from_tuple {
    ($($name:ident),+) => {
        impl<$($name: Into<Term>),+> From<($($name,)+)> for Term {
            #[allow(non_snake_case)]
            fn from(($($name,)+): ($($name,)+)) -> Term {
                Term::Tuple(vec![$($name.into()),+])
            }
        }
    };
}
from_tuple!(A);
from_tuple!(A, B);
from_tuple!(A, B, C);
from_tuple!(A, B, C, D);
from_tuple!(A, B, C, D, E);
from_tuple!(A, B, C, D, E, F);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn into_list_takes_proper_lists_and_gives_back_the_rest() {
        assert_eq!(Term::list(vec![Term::from(1)]).into_list(), Ok(vec![Term::from(1)]));
        assert_eq!(Term::charlist("ab").into_list(), Ok(vec![Term::from(97), Term::from(98)]));
        let improper = Term::improper(vec![Term::from(1)], Term::from(2));
        assert_eq!(improper.clone().into_list(), Err(improper));
        assert_eq!(Term::atom("x").into_list(), Err(Term::atom("x")));
    }

    #[test]
    fn improper_keeps_one_shape_per_list() {
        let one = Term::from(1);
        assert_eq!(Term::improper(vec![one.clone()], Term::NIL), Term::list(vec![one.clone()]));
        assert!(matches!(Term::improper(vec![one.clone()], Term::from(2)), Term::Improper(..)));
        let nested = Term::improper(vec![one.clone()], Term::improper(vec![Term::from(2)], Term::from(3)));
        match nested {
            Term::Improper(head, tail) => {
                assert_eq!(head.len(), 2);
                assert_eq!(*tail, Term::from(3));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(Term::improper(vec![], Term::from(3)), Term::from(3));
    }

    #[test]
    fn text_views() {
        assert_eq!(Term::charlist("héllo").to_text().as_deref(), Some("héllo"));
        assert_eq!(Term::charlist("a😀").to_text().as_deref(), Some("a😀"));
        assert_eq!(Term::from("bin").to_text().as_deref(), Some("bin"));
        assert_eq!(Term::from(u64::MAX).as_i64(), None);
        assert!(matches!(Term::from(u64::MAX), Term::Big(_)));
    }
}
