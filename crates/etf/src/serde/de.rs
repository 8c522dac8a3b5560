//! Terms to Rust values.

use std::slice;
use std::sync::LazyLock;

use serde::de::{self, DeserializeSeed, Expected, Visitor};

use super::Error;
use super::error::describe;
use super::passthrough::{MAGIC, put_de};
use crate::{Atom, BigInt, Term};

/// Deserializes a value from a borrowed term; text and bytes can borrow from its binaries.
pub(crate) struct Deserializer<'de> {
    term: &'de Term,
}

impl<'de> Deserializer<'de> {
    /// A deserializer reading `term`.
    pub(crate) fn new(term: &'de Term) -> Deserializer<'de> {
        Deserializer { term }
    }

    fn mismatch(&self, expected: &dyn Expected) -> Error {
        Error::mismatch(expected, self.term)
    }

    /// The integer converted to `T`, or why not.
    fn int<T: TryFrom<i128> + TryFrom<u128>>(&self, exp: &dyn Expected, target: &'static str) -> Result<T, Error> {
        let out_of_range = |value: String| Error::OutOfRange { value, target };
        match self.term {
            Term::Int(i) => T::try_from(i128::from(*i)).map_err(|_| out_of_range(i.to_string())),
            Term::Big(b) => {
                let fitted = match b.to_i128() {
                    Some(v) => T::try_from(v).ok(),
                    None => b.to_u128().and_then(|v| T::try_from(v).ok()),
                };
                fitted.ok_or_else(|| out_of_range(b.to_string()))
            }
            _ => Err(self.mismatch(exp)),
        }
    }

    /// A float, or an integer read as one.
    fn float(&self, exp: &dyn Expected) -> Result<f64, Error> {
        match self.term {
            Term::Float(f) => Ok(*f),
            Term::Int(i) => Ok(*i as f64),
            Term::Big(b) => {
                let v = big_to_f64(b);
                if v.is_finite() { Ok(v) } else { Err(Error::OutOfRange { value: b.to_string(), target: "f64" }) }
            }
            _ => Err(self.mismatch(exp)),
        }
    }

    /// A binary's bytes as UTF-8 text.
    fn utf8(&self, bytes: &'de [u8], exp: &dyn Expected) -> Result<&'de str, Error> {
        std::str::from_utf8(bytes).map_err(|_| Error::Mismatch {
            expected: exp.to_string(),
            found: format!("non-UTF-8 {}", describe(self.term)),
        })
    }
}

/// The nearest `f64` to a big integer (infinite past `f64::MAX`).
fn big_to_f64(b: &BigInt) -> f64 {
    let magnitude = b.magnitude().iter().rev().fold(0.0f64, |acc, &byte| acc * 256.0 + f64::from(byte));
    if b.is_negative() { -magnitude } else { magnitude }
}

/// The terms `0..=255`, so the bytes of a binary or charlist can be handed out as `&'static Term`s.
static BYTE_TERMS: LazyLock<[Term; 256]> = LazyLock::new(|| std::array::from_fn(|i| Term::Int(i as i64)));

fn byte_term(b: u8) -> &'static Term {
    &BYTE_TERMS[usize::from(b)]
}

/// Gives `visitor` the elements of a list or tuple, and checks that it took them all.
fn visit_terms<'de, V: Visitor<'de>>(items: &'de [Term], visitor: V) -> Result<V::Value, Error> {
    let mut access = Terms { iter: items.iter() };
    let value = visitor.visit_seq(&mut access)?;
    check_all_taken(items.len(), access.iter.len())?;
    Ok(value)
}

/// Gives `visitor` the bytes of a binary or charlist as integer elements, and checks that it took them all.
fn visit_byte_seq<'de, V: Visitor<'de>>(bytes: &'de [u8], visitor: V) -> Result<V::Value, Error> {
    let mut access = ByteTerms { iter: bytes.iter() };
    let value = visitor.visit_seq(&mut access)?;
    check_all_taken(bytes.len(), access.iter.len())?;
    Ok(value)
}

fn check_all_taken(len: usize, left: usize) -> Result<(), Error> {
    if left == 0 { Ok(()) } else { Err(Error::InvalidLength { len, expected: format!("{} elements", len - left) }) }
}

impl<'de> Deserializer<'de> {
    /// A list, charlist, binary or tuple as a sequence.
    fn seq<V: Visitor<'de>>(self, visitor: V, tuples: bool) -> Result<V::Value, Error> {
        match self.term {
            Term::List(items) => visit_terms(items, visitor),
            Term::Tuple(items) if tuples => visit_terms(items, visitor),
            Term::Charlist(bytes) | Term::Binary(bytes) => visit_byte_seq(bytes, visitor),
            _ => Err(self.mismatch(&visitor)),
        }
    }
}

macro_rules! deserialize_int {
    ($($method:ident => $visit:ident($ty:ident)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let v: $ty = self.int(&visitor, stringify!($ty))?;
            visitor.$visit(v)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Deserializer<'de> {
    type Error = Error;

    /// Self-describing reading, for `#[serde(untagged)]`, `#[serde(flatten)]` and value types:
    /// see the module documentation for the mapping.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Int(i) => visitor.visit_i64(*i),
            Term::Big(b) => match (b.to_i128(), b.to_u128()) {
                (Some(v), _) if i64::try_from(v).is_ok() => visitor.visit_i64(v as i64),
                (Some(v), _) if u64::try_from(v).is_ok() => visitor.visit_u64(v as u64),
                (Some(v), _) => visitor.visit_i128(v),
                (None, Some(v)) => visitor.visit_u128(v),
                (None, None) => visitor.visit_string(b.to_string()),
            },
            Term::Float(f) => visitor.visit_f64(*f),
            Term::Atom(a) if *a == Atom::TRUE => visitor.visit_bool(true),
            Term::Atom(a) if *a == Atom::FALSE => visitor.visit_bool(false),
            Term::Atom(a) if *a == Atom::UNDEFINED || *a == Atom::NIL => visitor.visit_none(),
            Term::Atom(a) => visitor.visit_borrowed_str(a.as_str()),
            Term::Binary(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => visitor.visit_borrowed_str(text),
                Err(_) => visitor.visit_borrowed_bytes(bytes),
            },
            Term::List(items) | Term::Tuple(items) => visit_terms(items, visitor),
            Term::Charlist(bytes) => visit_byte_seq(bytes, visitor),
            Term::Map(map) => visit_entries(map.entries(), visitor),
            Term::Improper(..)
            | Term::Ref(_)
            | Term::Fun(_)
            | Term::Export(_)
            | Term::Port(_)
            | Term::Pid(_)
            | Term::Bits(_) => visitor.visit_string(self.term.to_string()),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Atom(a) if *a == Atom::TRUE => visitor.visit_bool(true),
            Term::Atom(a) if *a == Atom::FALSE => visitor.visit_bool(false),
            _ => Err(self.mismatch(&visitor)),
        }
    }

    deserialize_int! {
        deserialize_i8 => visit_i8(i8),
        deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32),
        deserialize_i64 => visit_i64(i64),
        deserialize_i128 => visit_i128(i128),
        deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16),
        deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64),
        deserialize_u128 => visit_u128(u128),
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let v = self.float(&visitor)?;
        let narrow = v as f32;
        if narrow.is_finite() {
            visitor.visit_f32(narrow)
        } else {
            Err(Error::OutOfRange { value: v.to_string(), target: "f32" })
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let v = self.float(&visitor)?;
        visitor.visit_f64(v)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let c = match self.term {
            Term::Int(_) | Term::Big(_) => {
                let code: u32 = self.int(&visitor, "char")?;
                char::from_u32(code).ok_or_else(|| Error::OutOfRange { value: code.to_string(), target: "char" })?
            }
            Term::Charlist(bytes) if bytes.len() == 1 => char::from(bytes[0]),
            Term::Binary(bytes) => {
                let mut chars = self.utf8(bytes, &visitor)?.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => c,
                    _ => return Err(self.mismatch(&visitor)),
                }
            }
            _ => return Err(self.mismatch(&visitor)),
        };
        visitor.visit_char(c)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Binary(bytes) => {
                let text = self.utf8(bytes, &visitor)?;
                visitor.visit_borrowed_str(text)
            }
            Term::Atom(a) => visitor.visit_borrowed_str(a.as_str()),
            Term::List(_) | Term::Charlist(_) => match self.term.to_text() {
                Some(text) => visitor.visit_string(text),
                None => Err(self.mismatch(&visitor)),
            },
            _ => Err(self.mismatch(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Binary(bytes) | Term::Charlist(bytes) => visitor.visit_borrowed_bytes(bytes),
            Term::List(items) => {
                let bytes: Option<Vec<u8>> =
                    items.iter().map(|t| if let Term::Int(i) = t { u8::try_from(*i).ok() } else { None }).collect();
                match bytes {
                    Some(bytes) => visitor.visit_byte_buf(bytes),
                    None => Err(self.mismatch(&visitor)),
                }
            }
            _ => Err(self.mismatch(&visitor)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Atom(a) if *a == Atom::UNDEFINED || *a == Atom::NIL => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Atom(a) if *a == Atom::OK => visitor.visit_unit(),
            _ => Err(self.mismatch(&visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        if name == MAGIC {
            // The term visitor takes the stash in `visit_unit`; emptying it afterwards keeps anything a
            // foreign visitor left from reaching a later value.
            put_de(Some(self.term.clone()));
            let result = visitor.visit_unit();
            put_de(None);
            return result;
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.seq(visitor, false)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.seq(visitor, true)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.seq(visitor, true)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Map(map) => visit_entries(map.entries(), visitor),
            _ => Err(self.mismatch(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.term {
            Term::Map(map) => visit_entries(map.entries(), visitor),
            _ => self.seq(visitor, true),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let whole = self.term;
        match whole {
            Term::Atom(_) | Term::Binary(_) => visitor.visit_enum(Enum { whole, tag: whole, rest: &[] }),
            Term::Tuple(items) => match items.split_first() {
                Some((tag @ (Term::Atom(_) | Term::Binary(_)), rest)) => visitor.visit_enum(Enum { whole, tag, rest }),
                _ => Err(self.mismatch(&visitor)),
            },
            _ => Err(self.mismatch(&visitor)),
        }
    }

    /// Struct field names and variant names: an atom's name or a binary's text. Keys of other kinds are given
    /// as their Erlang text, which names no field, so a struct ignores them as unknown keys.
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Atom(a) => visitor.visit_borrowed_str(a.as_str()),
            Term::Binary(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => visitor.visit_borrowed_str(text),
                Err(_) => visitor.visit_borrowed_bytes(bytes),
            },
            // Not `visit_u64`: serde reads that as a field index, and `#{0 => x}` is no field of a struct.
            // The Erlang text names no Rust field, so such keys are ignored like other unknown keys.
            _ => visitor.visit_string(self.term.to_string()),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// The elements of a list or tuple.
struct Terms<'de> {
    iter: slice::Iter<'de, Term>,
}

impl<'de> de::SeqAccess<'de> for Terms<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some(term) => seed.deserialize(Deserializer::new(term)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The bytes of a binary or charlist, as integer elements.
struct ByteTerms<'de> {
    iter: slice::Iter<'de, u8>,
}

impl<'de> de::SeqAccess<'de> for ByteTerms<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some(&b) => seed.deserialize(Deserializer::new(byte_term(b))).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// Gives `visitor` the entries of a map, and checks that it took them all.
fn visit_entries<'de, V: Visitor<'de>>(entries: &'de [(Term, Term)], visitor: V) -> Result<V::Value, Error> {
    let mut access = Entries { iter: entries.iter(), value: None };
    let value = visitor.visit_map(&mut access)?;
    check_all_taken(entries.len(), access.iter.len())?;
    Ok(value)
}

/// The entries of a map, in key order.
struct Entries<'de> {
    iter: slice::Iter<'de, (Term, Term)>,
    value: Option<&'de Term>,
}

impl<'de> de::MapAccess<'de> for Entries<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Deserializer::new(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self.value.take().ok_or_else(|| Error::Message("map value requested before its key".into()))?;
        seed.deserialize(Deserializer::new(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// An enum value: `variant` alone, or `{variant, ...}`.
struct Enum<'de> {
    whole: &'de Term,
    tag: &'de Term,
    rest: &'de [Term],
}

impl Enum<'_> {
    fn wrong_form(&self, expected: &str) -> Error {
        Error::Mismatch { expected: expected.to_owned(), found: describe(self.whole) }
    }
}

impl<'de> de::EnumAccess<'de> for Enum<'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let variant = seed.deserialize(Deserializer::new(self.tag))?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for Enum<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        if self.rest.is_empty() { Ok(()) } else { Err(self.wrong_form("a unit variant (a bare atom)")) }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.rest {
            [value] => seed.deserialize(Deserializer::new(value)),
            _ => Err(self.wrong_form("a newtype variant ({Variant, Value})")),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        visit_terms(self.rest, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        match self.rest {
            [inner] => de::Deserializer::deserialize_struct(Deserializer::new(inner), "", fields, visitor),
            _ => visit_terms(self.rest, visitor),
        }
    }
}
