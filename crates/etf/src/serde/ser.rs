//! Rust values to terms.

use std::cell::Cell;

use bytes::Bytes;
use serde::ser::{self, Serialize};

use super::Error;
use super::passthrough::{MAGIC, take_ser};
use crate::{Atom, Map, Term};

/// Serializes one value to a term.
///
/// `u8_flag` is set for the elements of a sequence: `serialize_u8` raises it, so the sequence can tell a
/// `Vec<u8>` (which becomes a binary) from a `Vec<u16>` of small numbers (which stays a list).
pub(crate) struct Serializer<'f> {
    u8_flag: Option<&'f Cell<bool>>,
}

impl Serializer<'_> {
    /// A serializer for a value that is not a sequence element.
    pub(crate) fn new() -> Serializer<'static> {
        Serializer { u8_flag: None }
    }
}

fn atom(name: &str) -> Result<Atom, Error> {
    Ok(Atom::try_new(name)?)
}

fn float(v: f64) -> Result<Term, Error> {
    if v.is_finite() { Ok(Term::Float(v)) } else { Err(Error::NonFiniteFloat(v)) }
}

impl<'f> ser::Serializer for Serializer<'f> {
    type Ok = Term;
    type Error = Error;
    type SerializeSeq = SeqSerializer;
    type SerializeTuple = TupleSerializer;
    type SerializeTupleStruct = TupleSerializer;
    type SerializeTupleVariant = TupleSerializer;
    type SerializeMap = MapSerializer;
    type SerializeStruct = StructSerializer;
    type SerializeStructVariant = StructSerializer;

    fn serialize_bool(self, v: bool) -> Result<Term, Error> {
        Ok(Term::bool(v))
    }

    fn serialize_i8(self, v: i8) -> Result<Term, Error> {
        Ok(Term::from(v))
    }

    fn serialize_i16(self, v: i16) -> Result<Term, Error> {
        Ok(Term::from(v))
    }

    fn serialize_i32(self, v: i32) -> Result<Term, Error> {
        Ok(Term::from(v))
    }

    fn serialize_i64(self, v: i64) -> Result<Term, Error> {
        Ok(Term::from(v))
    }

    fn serialize_i128(self, v: i128) -> Result<Term, Error> {
        Ok(Term::from(v))
    }

    fn serialize_u8(self, v: u8) -> Result<Term, Error> {
        if let Some(flag) = self.u8_flag {
            flag.set(true);
        }
        Ok(Term::from(v))
    }

    fn serialize_u16(self, v: u16) -> Result<Term, Error> {
        Ok(Term::from(v))
    }

    fn serialize_u32(self, v: u32) -> Result<Term, Error> {
        Ok(Term::from(v))
    }

    fn serialize_u64(self, v: u64) -> Result<Term, Error> {
        Ok(Term::from(v))
    }

    fn serialize_u128(self, v: u128) -> Result<Term, Error> {
        Ok(Term::from(v))
    }

    fn serialize_f32(self, v: f32) -> Result<Term, Error> {
        float(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<Term, Error> {
        float(v)
    }

    fn serialize_char(self, v: char) -> Result<Term, Error> {
        Ok(Term::from(u32::from(v)))
    }

    fn serialize_str(self, v: &str) -> Result<Term, Error> {
        Ok(Term::from(v))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Term, Error> {
        Ok(Term::Binary(Bytes::copy_from_slice(v)))
    }

    fn serialize_none(self) -> Result<Term, Error> {
        Ok(Term::Atom(Atom::UNDEFINED))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Term, Error> {
        // Not passing the flag on: `[Some(1u8)]` and `[None]` should both stay lists.
        value.serialize(Serializer::new())
    }

    fn serialize_unit(self) -> Result<Term, Error> {
        Ok(Term::Atom(Atom::OK))
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Term, Error> {
        Ok(Term::Atom(Atom::OK))
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<Term, Error> {
        Ok(Term::Atom(atom(variant)?))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<Term, Error> {
        if name == MAGIC {
            if let Some(term) = take_ser() {
                return Ok(term);
            }
        }
        // Transparent, flag included: a `Vec` of newtypes around `u8` is still a binary.
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Term, Error> {
        let tag = Term::Atom(atom(variant)?);
        Ok(Term::Tuple(vec![tag, value.serialize(Serializer::new())?]))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSerializer, Error> {
        Ok(SeqSerializer { items: SeqItems::Bytes(Vec::with_capacity(capacity(len))) })
    }

    fn serialize_tuple(self, len: usize) -> Result<TupleSerializer, Error> {
        Ok(TupleSerializer { items: Vec::with_capacity(capacity(Some(len))) })
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<TupleSerializer, Error> {
        self.serialize_tuple(len)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<TupleSerializer, Error> {
        let mut items = Vec::with_capacity(capacity(Some(len.saturating_add(1))));
        items.push(Term::Atom(atom(variant)?));
        Ok(TupleSerializer { items })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<MapSerializer, Error> {
        Ok(MapSerializer { map: Map::new(), key: None })
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<StructSerializer, Error> {
        Ok(StructSerializer { map: Map::new(), variant: None })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<StructSerializer, Error> {
        Ok(StructSerializer { map: Map::new(), variant: Some(atom(variant)?) })
    }
}

/// A capacity to reserve for a length hint, capped so a lying `Serialize` impl cannot make us allocate.
fn capacity(len: Option<usize>) -> usize {
    len.unwrap_or(0).min(4096)
}

/// The elements of a sequence so far: bytes while every element came from `serialize_u8`.
enum SeqItems {
    Bytes(Vec<u8>),
    Terms(Vec<Term>),
}

/// Builds a list, or a binary when every element is a `u8`.
pub(crate) struct SeqSerializer {
    items: SeqItems,
}

impl ser::SerializeSeq for SeqSerializer {
    type Ok = Term;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let flag = Cell::new(false);
        let term = value.serialize(Serializer { u8_flag: Some(&flag) })?;
        let byte = match term {
            Term::Int(i) if flag.get() => u8::try_from(i).ok(),
            _ => None,
        };
        match (&mut self.items, byte) {
            (SeqItems::Bytes(bytes), Some(b)) => bytes.push(b),
            (SeqItems::Terms(terms), _) => terms.push(term),
            (SeqItems::Bytes(bytes), None) => {
                let mut terms: Vec<Term> = Vec::with_capacity(bytes.len().saturating_add(1));
                terms.extend(bytes.iter().map(|&b| Term::from(b)));
                terms.push(term);
                self.items = SeqItems::Terms(terms);
            }
        }
        Ok(())
    }

    fn end(self) -> Result<Term, Error> {
        Ok(match self.items {
            SeqItems::Bytes(bytes) if bytes.is_empty() => Term::NIL,
            SeqItems::Bytes(bytes) => Term::Binary(Bytes::from(bytes)),
            SeqItems::Terms(terms) => Term::List(terms),
        })
    }
}

/// Builds a tuple; for a tuple variant, the first element is the variant's atom.
pub(crate) struct TupleSerializer {
    items: Vec<Term>,
}

impl TupleSerializer {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(Serializer::new())?);
        Ok(())
    }
}

impl ser::SerializeTuple for TupleSerializer {
    type Ok = Term;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Term, Error> {
        Ok(Term::Tuple(self.items))
    }
}

impl ser::SerializeTupleStruct for TupleSerializer {
    type Ok = Term;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Term, Error> {
        Ok(Term::Tuple(self.items))
    }
}

impl ser::SerializeTupleVariant for TupleSerializer {
    type Ok = Term;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Term, Error> {
        Ok(Term::Tuple(self.items))
    }
}

/// Builds a map with keys of any term; a repeated key keeps its last value.
pub(crate) struct MapSerializer {
    map: Map,
    key: Option<Term>,
}

impl ser::SerializeMap for MapSerializer {
    type Ok = Term;
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(Serializer::new())?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or_else(|| Error::Message("map value serialized before its key".into()))?;
        self.map.insert(key, value.serialize(Serializer::new())?);
        Ok(())
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let key = key.serialize(Serializer::new())?;
        self.map.insert(key, value.serialize(Serializer::new())?);
        Ok(())
    }

    fn end(self) -> Result<Term, Error> {
        Ok(Term::Map(self.map))
    }
}

/// Builds a map with atom keys; for a struct variant, wrapped as `{variant, Map}`.
pub(crate) struct StructSerializer {
    map: Map,
    variant: Option<Atom>,
}

impl StructSerializer {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        let value = value.serialize(Serializer::new())?;
        self.map.insert(Term::Atom(atom(key)?), value);
        Ok(())
    }

    fn finish(self) -> Term {
        match self.variant {
            Some(tag) => Term::Tuple(vec![Term::Atom(tag), Term::Map(self.map)]),
            None => Term::Map(self.map),
        }
    }
}

impl ser::SerializeStruct for StructSerializer {
    type Ok = Term;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<Term, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for StructSerializer {
    type Ok = Term;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<Term, Error> {
        Ok(self.finish())
    }
}
