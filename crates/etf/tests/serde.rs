//! The serde bridge: every rule of the mapping in both directions, through terms and through bytes, the
//! pass-through of the crate's own types, and the errors.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use bytes::Bytes;
use erlnode_etf::serde::Error;
use erlnode_etf::{
    Atom, BigInt, BitString, Export, Fun, Map, Pid, Port, Ref, Term, from_bytes, from_term, to_bytes, to_term,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------------------
// Helpers

fn atom(name: &str) -> Term {
    Term::atom(name)
}

fn int(v: i64) -> Term {
    Term::Int(v)
}

fn bin(b: &[u8]) -> Term {
    Term::Binary(Bytes::copy_from_slice(b))
}

fn tuple(items: Vec<Term>) -> Term {
    Term::Tuple(items)
}

fn list(items: Vec<Term>) -> Term {
    Term::List(items)
}

fn map(entries: Vec<(Term, Term)>) -> Term {
    Term::Map(entries.into_iter().collect())
}

fn ser<T: Serialize + ?Sized>(value: &T) -> Term {
    to_term(value).expect("to_term")
}

fn de<T: DeserializeOwned>(term: &Term) -> T {
    from_term(term).expect("from_term")
}

fn de_err<T: DeserializeOwned + Debug>(term: &Term) -> Error {
    match from_term::<T>(term) {
        Ok(v) => panic!("expected an error for {term:?}, got {v:?}"),
        Err(e) => e,
    }
}

/// `value` serializes to `term`, `term` deserializes to `value`, and both hold through the encoded bytes.
fn both_ways<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: T, term: Term) {
    assert_eq!(ser(&value), term, "serializing {value:?}");
    assert_eq!(de::<T>(&term), value, "deserializing {term:?}");
    let bytes = to_bytes(&value).expect("to_bytes");
    assert_eq!(Term::decode(&bytes).expect("decode"), term, "bytes of {value:?}");
    assert_eq!(from_bytes::<T>(&bytes).expect("from_bytes"), value, "from bytes of {value:?}");
    assert_eq!(bytes, term.encode().expect("encode"));
}

/// Asserts a type mismatch whose expectation mentions `expected` and whose found term is of kind `kind`.
fn assert_mismatch(err: &Error, expected: &str, kind: &str) {
    match err {
        Error::Mismatch { expected: e, found } => {
            assert!(e.contains(expected), "expected {expected:?} in {e:?}");
            assert!(found.starts_with(kind), "expected kind {kind:?} in {found:?}");
            let text = err.to_string();
            assert!(text.starts_with("expected ") && text.contains(", found "), "{text}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

fn node() -> Atom {
    Atom::new("a@localhost")
}

fn pid() -> Pid {
    Pid::new(node(), 42, 7, 3)
}

fn sample_fun() -> Fun {
    Fun {
        module: Atom::new("m"),
        arity: 1,
        uniq: [7; 16],
        index: 2,
        old_index: 2,
        old_uniq: 99,
        pid: pid(),
        free_vars: vec![int(1), atom("x")],
    }
}

// ---------------------------------------------------------------------------------------------------------
// Scalars

#[test]
fn bools_are_atoms() {
    both_ways(true, atom("true"));
    both_ways(false, atom("false"));
    assert_mismatch(&de_err::<bool>(&atom("yes")), "a boolean", "atom");
    assert_mismatch(&de_err::<bool>(&int(1)), "a boolean", "integer");
}

#[test]
fn small_integers() {
    both_ways(-5i8, int(-5));
    both_ways(300i16, int(300));
    both_ways(-70_000i32, int(-70_000));
    both_ways(i64::MIN, int(i64::MIN));
    both_ways(i64::MAX, int(i64::MAX));
    both_ways(255u8, int(255));
    both_ways(65_535u16, int(65_535));
    both_ways(u32::MAX, int(i64::from(u32::MAX)));
    both_ways(i64::MAX as u64, int(i64::MAX));
    both_ways(12i128, int(12));
    both_ways(12u128, int(12));
}

#[test]
fn wide_integers_are_bigs() {
    both_ways(u64::MAX, Term::Big(BigInt::from(u64::MAX)));
    both_ways(i128::MIN, Term::Big(BigInt::from(i128::MIN)));
    both_ways(i128::MAX, Term::Big(BigInt::from(i128::MAX)));
    both_ways(u128::MAX, Term::Big(BigInt::from(u128::MAX)));
    assert!(matches!(ser(&u64::MAX), Term::Big(_)));
    // A Big holding a small value reads as that value.
    assert_eq!(de::<u8>(&Term::Big(BigInt::from(200i64))), 200);
    assert_eq!(de::<i64>(&Term::Big(BigInt::from(-9i64))), -9);
    assert_eq!(de::<u128>(&Term::Big(BigInt::from(u128::MAX))), u128::MAX);
}

#[test]
fn integers_out_of_range_are_errors() {
    let cases: Vec<(Error, &str, &str)> = vec![
        (de_err::<u8>(&int(256)), "256", "u8"),
        (de_err::<u8>(&int(-1)), "-1", "u8"),
        (de_err::<i8>(&int(-129)), "-129", "i8"),
        (de_err::<u16>(&int(70_000)), "70000", "u16"),
        (de_err::<i32>(&int(i64::MAX)), "9223372036854775807", "i32"),
        (de_err::<u64>(&int(-1)), "-1", "u64"),
        (de_err::<i64>(&Term::from(u64::MAX)), "18446744073709551615", "i64"),
        (de_err::<u64>(&Term::from(u128::MAX)), "340282366920938463463374607431768211455", "u64"),
        (de_err::<i128>(&Term::from(u128::MAX)), "340282366920938463463374607431768211455", "i128"),
        (de_err::<u128>(&Term::from(-1i128)), "-1", "u128"),
    ];
    for (err, value, target) in cases {
        assert_eq!(err, Error::OutOfRange { value: value.into(), target }, "{err}");
    }
    let huge = Term::Big(BigInt::from_le_bytes(false, &[1; 40]));
    assert!(matches!(de_err::<u128>(&huge), Error::OutOfRange { target: "u128", .. }));
    assert!(matches!(de_err::<i128>(&huge), Error::OutOfRange { target: "i128", .. }));
    assert!(de_err::<u32>(&int(1 << 40)).to_string().contains("does not fit in u32"));
}

#[test]
fn integers_refuse_other_terms() {
    assert_mismatch(&de_err::<u32>(&atom("oops")), "u32", "atom");
    assert_mismatch(&de_err::<i64>(&Term::Float(1.0)), "i64", "float");
    assert_mismatch(&de_err::<u8>(&bin(b"1")), "u8", "binary");
}

#[test]
fn floats() {
    both_ways(1.5f64, Term::Float(1.5));
    both_ways(-0.0f64, Term::Float(-0.0));
    both_ways(0.25f32, Term::Float(0.25));
    // Integers are accepted where a float is wanted.
    assert_eq!(de::<f64>(&int(3)), 3.0);
    assert_eq!(de::<f32>(&int(-2)), -2.0);
    assert_eq!(de::<f64>(&Term::from(u128::MAX)), u128::MAX as f64);
    assert_eq!(de::<f64>(&Term::from(i128::MIN)), i128::MIN as f64);
    // Not the other way round.
    assert_mismatch(&de_err::<i32>(&Term::Float(3.0)), "i32", "float");
    assert_mismatch(&de_err::<f64>(&atom("pi")), "f64", "atom");
}

#[test]
fn floats_out_of_range_and_non_finite() {
    assert!(matches!(de_err::<f32>(&Term::Float(1e300)), Error::OutOfRange { target: "f32", .. }));
    let beyond_f64 = Term::Big(BigInt::from_le_bytes(false, &[0xff; 200]));
    assert!(matches!(de_err::<f64>(&beyond_f64), Error::OutOfRange { target: "f64", .. }));
    assert!(matches!(to_term(&f64::NAN), Err(Error::NonFiniteFloat(_))));
    assert!(matches!(to_term(&f32::INFINITY), Err(Error::NonFiniteFloat(_))));
    assert!(matches!(to_bytes(&vec![1.0, f64::NEG_INFINITY]), Err(Error::NonFiniteFloat(_))));
}

#[test]
fn chars_are_code_points() {
    both_ways('a', int(97));
    both_ways('é', int(233));
    both_ways('😀', int(0x1F600));
    assert_eq!(de::<char>(&bin("λ".as_bytes())), 'λ');
    assert!(matches!(de_err::<char>(&int(0xD800)), Error::OutOfRange { target: "char", .. }));
    assert!(matches!(de_err::<char>(&int(-1)), Error::OutOfRange { target: "char", .. }));
    assert_mismatch(&de_err::<char>(&bin(b"ab")), "a character", "binary");
    assert_mismatch(&de_err::<char>(&atom("a")), "a character", "atom");
}

// ---------------------------------------------------------------------------------------------------------
// Text and bytes

#[test]
fn strings_are_utf8_binaries() {
    both_ways(String::from("héllo"), bin("héllo".as_bytes()));
    both_ways(String::new(), bin(b""));
    assert_eq!(ser("str slice"), bin(b"str slice"));
}

#[test]
fn strings_accept_charlists_and_atoms() {
    assert_eq!(de::<String>(&Term::charlist("abc")), "abc");
    assert_eq!(de::<String>(&Term::charlist("héllo")), "héllo");
    assert_eq!(de::<String>(&Term::charlist("λ😀")), "λ😀");
    assert_eq!(de::<String>(&list(vec![int(104), int(105)])), "hi");
    assert_eq!(de::<String>(&Term::NIL), "");
    assert_eq!(de::<String>(&atom("hello world")), "hello world");
    assert_eq!(de::<String>(&atom("undefined")), "undefined");
    // Erlang's charlists arrive as STRING_EXT through the codec.
    let bytes = Term::charlist("from erlang").encode().expect("encode");
    assert_eq!(from_bytes::<String>(&bytes).expect("from_bytes"), "from erlang");
}

#[test]
fn strings_refuse_the_rest() {
    let err = de_err::<String>(&bin(&[0xff, 0xfe]));
    assert_mismatch(&err, "a string", "non-UTF-8 binary");
    assert_mismatch(&de_err::<String>(&list(vec![int(-1)])), "a string", "list");
    assert_mismatch(&de_err::<String>(&list(vec![int(0xD800)])), "a string", "list");
    assert_mismatch(&de_err::<String>(&list(vec![atom("a")])), "a string", "list");
    assert_mismatch(&de_err::<String>(&Term::improper(vec![int(97)], int(98))), "a string", "improper list");
    assert_mismatch(&de_err::<String>(&int(5)), "a string", "integer");
    assert_mismatch(&de_err::<String>(&tuple(vec![])), "a string", "tuple");
}

#[test]
fn str_and_bytes_borrow_from_the_term() {
    let term = tuple(vec![bin(b"text"), bin(&[1, 2, 3]), atom("name")]);
    let (text, bytes, name): (&str, &[u8], &str) = from_term(&term).expect("borrow");
    assert_eq!((text, bytes, name), ("text", &[1u8, 2, 3][..], "name"));
    let Term::Tuple(items) = &term else { unreachable!() };
    let Term::Binary(held) = &items[0] else { unreachable!() };
    assert!(std::ptr::eq(text.as_ptr(), held.as_ptr()), "the &str points into the binary");

    #[derive(Deserialize, Debug)]
    struct Borrowed<'a> {
        name: &'a str,
        #[serde(with = "serde_bytes")]
        data: &'a [u8],
    }
    let term = map(vec![(atom("name"), bin(b"n")), (atom("data"), bin(&[9]))]);
    let b: Borrowed<'_> = from_term(&term).expect("borrowed struct");
    assert_eq!((b.name, b.data), ("n", &[9u8][..]));
    // A charlist cannot be lent as &str: it has to be converted.
    assert!(from_term::<&str>(&Term::charlist("abc")).is_err());
}

#[test]
fn byte_buffers_are_binaries() {
    both_ways(serde_bytes::ByteBuf::from(vec![0u8, 1, 255]), bin(&[0, 1, 255]));
    both_ways(serde_bytes::ByteBuf::new(), bin(b""));
    assert_eq!(ser(serde_bytes::Bytes::new(b"raw")), bin(b"raw"));
    assert_eq!(ser(&b"slice"[..]), bin(b"slice"));
    // A ByteBuf also takes a list of bytes and a charlist.
    assert_eq!(de::<serde_bytes::ByteBuf>(&list(vec![int(1), int(2)])).into_vec(), vec![1, 2]);
    assert_eq!(de::<serde_bytes::ByteBuf>(&Term::charlist("ab")).into_vec(), b"ab".to_vec());
    assert_eq!(de::<serde_bytes::ByteBuf>(&Term::NIL).into_vec(), Vec::<u8>::new());
    assert_mismatch(&de_err::<serde_bytes::ByteBuf>(&list(vec![int(256)])), "byte array", "list");
    assert_mismatch(&de_err::<serde_bytes::ByteBuf>(&atom("x")), "byte array", "atom");
}

#[test]
fn vec_u8_is_a_binary() {
    both_ways(vec![104u8, 105], bin(b"hi"));
    both_ways(vec![0u8; 1000], bin(&[0; 1000]));
    both_ways(Vec::<u8>::new(), Term::NIL);
    // And reads back from a list of integers and from a charlist too.
    assert_eq!(de::<Vec<u8>>(&list(vec![int(1), int(2)])), vec![1, 2]);
    assert_eq!(de::<Vec<u8>>(&Term::charlist("ab")), b"ab".to_vec());
    assert_eq!(de::<Vec<u8>>(&bin(b"")), Vec::<u8>::new());
    assert_eq!(de::<serde_bytes::ByteBuf>(&ser(&Vec::<u8>::new())).into_vec(), Vec::<u8>::new());
    assert!(matches!(de_err::<Vec<u8>>(&list(vec![int(1), int(300)])), Error::OutOfRange { target: "u8", .. }));
}

#[test]
fn only_u8_sequences_become_binaries() {
    both_ways(vec![1u16, 2], list(vec![int(1), int(2)]));
    both_ways(vec![1i8, 2], list(vec![int(1), int(2)]));
    both_ways(vec![1u32], list(vec![int(1)]));
    both_ways(vec![vec![1u8], vec![]], list(vec![bin(&[1]), Term::NIL]));
    both_ways(vec![Some(1u8), None], list(vec![int(1), atom("undefined")]));
    both_ways(vec![Some(1u8)], list(vec![int(1)]));
    // Tuples and arrays are tuples in serde, so they stay tuples.
    both_ways((1u8, 2u8), tuple(vec![int(1), int(2)]));
    both_ways([7u8, 8, 9], tuple(vec![int(7), int(8), int(9)]));
    // Transparent newtypes around u8 still count as bytes.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Octet(u8);
    both_ways(vec![Octet(1), Octet(2)], bin(&[1, 2]));
    // A Vec<Term> of small integers is a list.
    assert_eq!(ser(&vec![int(1), int(2)]), list(vec![int(1), int(2)]));
    // Other sequences read a binary as its bytes.
    assert_eq!(de::<Vec<u32>>(&bin(&[1, 2])), vec![1, 2]);
    assert_eq!(de::<[u8; 3]>(&bin(&[1, 2, 3])), [1, 2, 3]);
}

// ---------------------------------------------------------------------------------------------------------
// Option, unit, newtypes

#[test]
fn options_are_undefined_or_the_value() {
    both_ways(None::<u32>, atom("undefined"));
    both_ways(Some(5u32), int(5));
    both_ways(Some(String::from("x")), bin(b"x"));
    assert_eq!(de::<Option<u32>>(&atom("nil")), None);
    assert_eq!(de::<Option<String>>(&atom("nil")), None);
    assert_eq!(de::<Option<String>>(&atom("other")), Some("other".into()));
    assert_mismatch(&de_err::<Option<u32>>(&atom("other")), "u32", "atom");
    // The inner None of an Option<Option<T>> is lost, as documented.
    assert_eq!(ser(&Some(None::<u8>)), atom("undefined"));
}

#[test]
fn unit_is_ok() {
    both_ways((), atom("ok"));
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Marker;
    both_ways(Marker, atom("ok"));
    both_ways(Some(()), atom("ok"));
    assert_mismatch(&de_err::<()>(&atom("error")), "unit", "atom");
    assert_mismatch(&de_err::<Marker>(&Term::NIL), "unit struct Marker", "list");
}

#[test]
fn newtype_structs_are_transparent() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Id(u64);
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Name(String);
    both_ways(Id(9), int(9));
    both_ways(Name("n".into()), bin(b"n"));
    both_ways(vec![Id(1), Id(2)], list(vec![int(1), int(2)]));
}

// ---------------------------------------------------------------------------------------------------------
// Structs

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Person {
    name: String,
    age: u32,
    email: Option<String>,
}

fn jo() -> Person {
    Person { name: "jo".into(), age: 3, email: None }
}

#[test]
fn structs_are_maps_with_atom_keys() {
    both_ways(jo(), map(vec![(atom("name"), bin(b"jo")), (atom("age"), int(3)), (atom("email"), atom("undefined"))]));
}

#[test]
fn structs_accept_binary_keys_and_ignore_unknown_keys() {
    let elixir_string_keys = map(vec![
        (bin(b"name"), bin(b"jo")),
        (bin(b"age"), int(3)),
        (bin(b"email"), atom("nil")),
        (bin(b"extra"), tuple(vec![Term::Pid(pid()), Term::improper(vec![int(1)], int(2))])),
        (atom("more"), Term::Bits(BitString::new(Bytes::from_static(&[0xe0]), 3).expect("bits"))),
        (int(0), atom("not the first field")),
        (int(7), atom("numbered")),
        (tuple(vec![atom("name")]), int(1)),
    ]);
    assert_eq!(de::<Person>(&elixir_string_keys), jo());
}

#[test]
fn structs_accept_tuples_and_lists_of_fields() {
    assert_eq!(de::<Person>(&tuple(vec![bin(b"jo"), int(3), atom("undefined")])), jo());
    assert_eq!(de::<Person>(&list(vec![bin(b"jo"), int(3), atom("nil")])), jo());
    let err = de_err::<Person>(&tuple(vec![bin(b"jo"), int(3), atom("undefined"), int(4)]));
    assert_eq!(err, Error::InvalidLength { len: 4, expected: "3 elements".into() });
}

#[test]
fn struct_errors() {
    let missing = map(vec![(atom("name"), bin(b"jo"))]);
    assert_eq!(de_err::<Person>(&missing), Error::MissingField("age"));
    let wrong = map(vec![(atom("name"), int(1)), (atom("age"), int(3))]);
    assert_mismatch(&de_err::<Person>(&wrong), "a string", "integer");
    assert_mismatch(&de_err::<Person>(&atom("person")), "struct Person", "atom");
    assert!(de_err::<Person>(&wrong).to_string().starts_with("expected a string, found integer"));

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        a: u8,
    }
    let err = de_err::<Strict>(&map(vec![(atom("a"), int(1)), (atom("b"), int(2))]));
    assert!(matches!(err, Error::UnknownField { ref field, expected: &["a"] } if field == "b"), "{err:?}");
    let err = de_err::<Strict>(&map(vec![(atom("a"), int(1)), (int(0), int(2))]));
    assert!(matches!(err, Error::UnknownField { expected: &["a"], .. }), "{err:?}");
}

#[test]
fn struct_fields_with_serde_attributes() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Config {
        #[serde(rename = "Port")]
        port: u16,
        #[serde(default)]
        verbose: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    }
    let c = Config { port: 80, verbose: false, label: None };
    assert_eq!(ser(&c), map(vec![(atom("Port"), int(80)), (atom("verbose"), atom("false"))]));
    assert_eq!(de::<Config>(&map(vec![(atom("Port"), int(80))])), c);
}

#[test]
fn elixir_struct_round_trip() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct User {
        #[serde(rename = "__struct__")]
        module: Atom,
        name: String,
        age: u32,
    }
    // %User{name: "jo", age: 3}
    let elixir =
        map(vec![(atom("__struct__"), atom("Elixir.User")), (atom("name"), bin(b"jo")), (atom("age"), int(3))]);
    both_ways(User { module: Atom::new("Elixir.User"), name: "jo".into(), age: 3 }, elixir.clone());
    // Without a field for it, `__struct__` is just ignored.
    #[derive(Deserialize, Debug, PartialEq)]
    struct Plain {
        name: String,
        age: u32,
    }
    assert_eq!(de::<Plain>(&elixir), Plain { name: "jo".into(), age: 3 });
    // The module must be an atom.
    let wrong = map(vec![(atom("__struct__"), bin(b"Elixir.User")), (atom("name"), bin(b"jo")), (atom("age"), int(3))]);
    assert_mismatch(&de_err::<User>(&wrong), "an atom", "binary");
}

// ---------------------------------------------------------------------------------------------------------
// Enums

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Shape {
    Empty,
    Circle(f64),
    Rect(u32, u32),
    Poly { sides: u8, name: String },
    Nothing(),
}

#[test]
fn enum_forms() {
    both_ways(Shape::Empty, atom("Empty"));
    both_ways(Shape::Circle(1.5), tuple(vec![atom("Circle"), Term::Float(1.5)]));
    both_ways(Shape::Rect(2, 3), tuple(vec![atom("Rect"), int(2), int(3)]));
    both_ways(
        Shape::Poly { sides: 5, name: "penta".into() },
        tuple(vec![atom("Poly"), map(vec![(atom("sides"), int(5)), (atom("name"), bin(b"penta"))])]),
    );
    both_ways(Shape::Nothing(), tuple(vec![atom("Nothing")]));
}

#[test]
fn enum_alternative_inputs() {
    assert_eq!(de::<Shape>(&tuple(vec![atom("Empty")])), Shape::Empty);
    assert_eq!(de::<Shape>(&bin(b"Empty")), Shape::Empty);
    assert_eq!(de::<Shape>(&tuple(vec![bin(b"Circle"), int(2)])), Shape::Circle(2.0));
    assert_eq!(
        de::<Shape>(&tuple(vec![atom("Poly"), int(3), bin(b"tri")])),
        Shape::Poly { sides: 3, name: "tri".into() }
    );
}

#[test]
fn enum_errors() {
    let err = de_err::<Shape>(&atom("Hexagon"));
    assert!(matches!(&err, Error::UnknownVariant { variant, .. } if variant == "Hexagon"), "{err:?}");
    assert_mismatch(&de_err::<Shape>(&atom("Circle")), "newtype variant", "atom");
    assert_mismatch(&de_err::<Shape>(&tuple(vec![atom("Empty"), int(1)])), "unit variant", "tuple");
    assert_mismatch(&de_err::<Shape>(&tuple(vec![atom("Circle"), int(1), int(2)])), "newtype variant", "tuple");
    assert!(matches!(de_err::<Shape>(&tuple(vec![atom("Rect"), int(1)])), Error::InvalidLength { len: 1, .. }));
    assert_eq!(
        de_err::<Shape>(&tuple(vec![atom("Rect"), int(1), int(2), int(3)])),
        Error::InvalidLength { len: 3, expected: "2 elements".into() }
    );
    assert_mismatch(&de_err::<Shape>(&int(0)), "enum Shape", "integer");
    assert_mismatch(&de_err::<Shape>(&tuple(vec![int(0), int(1)])), "enum Shape", "tuple");
    assert_mismatch(&de_err::<Shape>(&tuple(vec![])), "enum Shape", "tuple");
}

#[test]
fn snake_case_enums_look_like_erlang() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Reply {
        Ok,
        NotFound,
        Error(String),
        TimedOut { after_ms: u64 },
    }
    both_ways(Reply::Ok, atom("ok"));
    both_ways(Reply::NotFound, atom("not_found"));
    both_ways(Reply::Error("boom".into()), tuple(vec![atom("error"), bin(b"boom")]));
    both_ways(
        Reply::TimedOut { after_ms: 5000 },
        tuple(vec![atom("timed_out"), map(vec![(atom("after_ms"), int(5000))])]),
    );
    // Erlang's {ok, Value} / {error, Reason} as a Result-like enum.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Outcome {
        Ok(Vec<u32>),
        Error(Atom),
    }
    both_ways(Outcome::Ok(vec![1, 2]), tuple(vec![atom("ok"), list(vec![int(1), int(2)])]));
    both_ways(Outcome::Error(Atom::new("enoent")), tuple(vec![atom("error"), atom("enoent")]));
}

// ---------------------------------------------------------------------------------------------------------
// Sequences, tuples, maps

#[test]
fn sequences_are_lists() {
    both_ways(vec![1i32, -2, 3], list(vec![int(1), int(-2), int(3)]));
    both_ways(Vec::<i32>::new(), Term::NIL);
    both_ways(vec![String::from("a"), String::from("b")], list(vec![bin(b"a"), bin(b"b")]));
    both_ways(std::collections::BTreeSet::from([3u32, 1]), list(vec![int(1), int(3)]));
    // A charlist is a list of small integers.
    assert_eq!(de::<Vec<u32>>(&Term::charlist("ab")), vec![97, 98]);
    assert_eq!(de::<Vec<char>>(&Term::charlist("ab")), vec!['a', 'b']);
}

#[test]
fn sequence_errors() {
    let improper = Term::improper(vec![int(1), int(2)], int(3));
    assert_mismatch(&de_err::<Vec<i32>>(&improper), "a sequence", "improper list");
    assert_mismatch(&de_err::<Vec<i32>>(&tuple(vec![int(1)])), "a sequence", "tuple");
    assert_mismatch(&de_err::<Vec<i32>>(&atom("nil")), "a sequence", "atom");
    assert_mismatch(&de_err::<Vec<i32>>(&list(vec![int(1), atom("two")])), "i32", "atom");
}

#[test]
fn tuples_are_tuples() {
    both_ways((1u8, String::from("two"), true), tuple(vec![int(1), bin(b"two"), atom("true")]));
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Point(i32, i32);
    both_ways(Point(3, -4), tuple(vec![int(3), int(-4)]));
    both_ways([1u32, 2], tuple(vec![int(1), int(2)]));
    // Lists of the right length are accepted.
    assert_eq!(de::<(u8, u8)>(&list(vec![int(1), int(2)])), (1, 2));
    assert_eq!(de::<Point>(&list(vec![int(1), int(2)])), Point(1, 2));
    // Wrong lengths are errors either way.
    assert!(matches!(de_err::<(u8, u8)>(&tuple(vec![int(1)])), Error::InvalidLength { len: 1, .. }));
    assert_eq!(
        de_err::<(u8, u8)>(&tuple(vec![int(1), int(2), int(3)])),
        Error::InvalidLength { len: 3, expected: "2 elements".into() }
    );
    assert_mismatch(&de_err::<(u8, u8)>(&map(vec![])), "a tuple of size 2", "map");
}

#[test]
fn maps_have_keys_of_any_term() {
    let mut by_name = HashMap::new();
    by_name.insert(String::from("a"), 1i32);
    by_name.insert(String::from("b"), 2);
    both_ways(by_name, map(vec![(bin(b"a"), int(1)), (bin(b"b"), int(2))]));

    let by_int = BTreeMap::from([(1i32, String::from("one")), (-2, String::from("minus two"))]);
    both_ways(by_int, map(vec![(int(1), bin(b"one")), (int(-2), bin(b"minus two"))]));

    let by_pair = BTreeMap::from([((1u32, 2u32), true)]);
    both_ways(by_pair, map(vec![(tuple(vec![int(1), int(2)]), atom("true"))]));

    let by_term = BTreeMap::from([(atom("k"), Term::Pid(pid()))]);
    both_ways(by_term, map(vec![(atom("k"), Term::Pid(pid()))]));

    // String keys also read atom keys.
    let read: HashMap<String, u8> = de(&map(vec![(atom("x"), int(1)), (bin(b"y"), int(2))]));
    assert_eq!(read, HashMap::from([("x".into(), 1), ("y".into(), 2)]));
    assert_mismatch(&de_err::<HashMap<String, u8>>(&list(vec![])), "a map", "list");
}

// ---------------------------------------------------------------------------------------------------------
// The crate's own types pass through

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Everything {
    term: Term,
    atom: Atom,
    pid: Pid,
    port: Port,
    reference: Ref,
    export: Export,
    fun: Fun,
    big: BigInt,
    map: Map,
    bits: BitString,
}

fn everything() -> Everything {
    Everything {
        term: Term::improper(vec![atom("odd"), Term::Float(2.5)], bin(b"tail")),
        atom: Atom::new("hello world"),
        pid: pid(),
        port: Port::new(node(), 1 << 40, 2),
        reference: Ref::new(node(), 5, &[1, 2, 3]).expect("ref"),
        export: Export::new(Atom::new("lists"), Atom::new("map"), 2),
        fun: sample_fun(),
        big: BigInt::from_le_bytes(true, &[0xab; 20]),
        map: [(atom("inner"), list(vec![int(1)]))].into_iter().collect(),
        bits: BitString::new(Bytes::from_static(&[0xff, 0xa0]), 3).expect("bits"),
    }
}

#[test]
fn own_types_pass_through_unchanged() {
    let e = everything();
    let expected = map(vec![
        (atom("term"), e.term.clone()),
        (atom("atom"), Term::Atom(e.atom)),
        (atom("pid"), Term::Pid(e.pid)),
        (atom("port"), Term::Port(e.port)),
        (atom("reference"), Term::Ref(e.reference)),
        (atom("export"), Term::Export(e.export)),
        (atom("fun"), Term::Fun(Box::new(e.fun.clone()))),
        (atom("big"), Term::Big(e.big.clone())),
        (atom("map"), Term::Map(e.map.clone())),
        (atom("bits"), Term::Bits(e.bits.clone())),
    ]);
    both_ways(e, expected);
}

#[test]
fn terms_pass_through_at_depth() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Inner {
        payload: Term,
        tags: Vec<Atom>,
    }
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Outer {
        items: Vec<Inner>,
        by_key: BTreeMap<String, Term>,
        maybe: Option<Term>,
    }
    let payloads = [
        Term::charlist("abc"),
        tuple(vec![]),
        Term::NIL,
        Term::from(u128::MAX),
        Term::Fun(Box::new(sample_fun())),
        map(vec![(list(vec![]), Term::Ref(Ref::new(node(), 1, &[9]).expect("ref")))]),
    ];
    let value = Outer {
        items: payloads
            .iter()
            .map(|p| Inner { payload: p.clone(), tags: vec![Atom::new("t"), Atom::new("")] })
            .collect(),
        by_key: BTreeMap::from([("k".into(), atom("v")), ("j".into(), int(0))]),
        maybe: Some(Term::Pid(pid())),
    };
    let term = ser(&value);
    let items = term.as_map().and_then(|m| m.get_atom("items")).and_then(Term::to_list).expect("items");
    for (item, payload) in items.iter().zip(payloads.iter()) {
        assert_eq!(item.as_map().and_then(|m| m.get_atom("payload")), Some(payload));
    }
    assert_eq!(de::<Outer>(&term), value);
    assert_eq!(from_bytes::<Outer>(&to_bytes(&value).expect("to_bytes")).expect("from_bytes"), value);
    // A Term at the top level is itself.
    let top = everything().term;
    assert_eq!(ser(&top), top);
    assert_eq!(de::<Term>(&top), top);
}

#[test]
fn own_types_check_their_kind() {
    assert_mismatch(&de_err::<Pid>(&atom("self")), "a pid", "atom");
    assert_mismatch(&de_err::<Atom>(&bin(b"ok")), "an atom", "binary");
    assert_mismatch(&de_err::<Port>(&Term::Pid(pid())), "a port", "pid");
    assert_mismatch(&de_err::<Ref>(&int(1)), "a reference", "integer");
    assert_mismatch(&de_err::<Export>(&Term::Fun(Box::new(sample_fun()))), "an external fun", "fun");
    assert_mismatch(&de_err::<Fun>(&Term::Export(Export::new(node(), node(), 0))), "a fun", "fun");
    assert_mismatch(&de_err::<Map>(&list(vec![])), "a map", "list");
    assert_mismatch(&de_err::<BitString>(&bin(b"whole")), "a bitstring", "binary");
    assert_mismatch(&de_err::<BigInt>(&Term::Float(1.0)), "an integer", "float");
    // Any integer is a BigInt.
    assert_eq!(de::<BigInt>(&int(-7)), BigInt::from(-7i64));
    assert_eq!(ser(&BigInt::from(12i64)), int(12));
    // A wrong kind inside a struct fails the struct, and the next value is unaffected.
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Holder {
        who: Pid,
    }
    assert_mismatch(&de_err::<Holder>(&map(vec![(atom("who"), atom("nobody"))])), "a pid", "atom");
    assert_eq!(de::<Term>(&int(1)), int(1));
}

#[test]
fn a_failed_value_leaves_nothing_behind() {
    #[derive(Serialize, Debug)]
    struct Bad {
        first: Term,
        second: f64,
    }
    let bad = Bad { first: atom("stale"), second: f64::NAN };
    assert!(to_term(&bad).is_err());
    assert_eq!(ser(&(Some(int(2)), 3u8)), tuple(vec![int(2), int(3)]));
    // A serializer of another format sees the text form, and leaves the bridge's state clean.
    let json = serde_json::to_string(&atom("stale")).expect("json");
    assert!(json.starts_with('"'), "{json}");
    assert_eq!(ser(&vec![atom("fresh")]), list(vec![atom("fresh")]));
    assert_eq!(ser(&Option::<Term>::None), atom("undefined"));
}

// ---------------------------------------------------------------------------------------------------------
// Other serde formats

#[test]
fn other_formats_see_atoms_as_names() {
    assert_eq!(serde_json::to_string(&Atom::new("hello world")).expect("json"), "\"hello world\"");
    let back: Atom = serde_json::from_str("\"hello world\"").expect("atom from json");
    assert_eq!(back, Atom::new("hello world"));
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Tagged {
        tag: Atom,
        n: u8,
    }
    let t = Tagged { tag: Atom::new("ok"), n: 1 };
    let json = serde_json::to_string(&t).expect("json");
    assert_eq!(json, r#"{"tag":"ok","n":1}"#);
    assert_eq!(serde_json::from_str::<Tagged>(&json).expect("from json"), t);
}

#[test]
fn other_formats_see_terms_as_text() {
    let text = serde_json::to_value(vec![int(1), Term::Pid(pid())]).expect("json");
    let items = text.as_array().expect("array");
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(serde_json::Value::is_string), "{text}");
}

#[test]
fn terms_from_other_formats() {
    let json = serde_json::json!([1, -2, 2.5, true, null, [false], 18446744073709551615u64]);
    let term: Term = serde_json::from_value(json).expect("term from json");
    assert_eq!(
        term,
        list(vec![
            int(1),
            int(-2),
            Term::Float(2.5),
            atom("true"),
            atom("undefined"),
            list(vec![atom("false")]),
            Term::from(u64::MAX),
        ])
    );
    let n: BigInt = serde_json::from_str("12").expect("bigint from json");
    assert_eq!(n, BigInt::from(12i64));
    assert!(serde_json::from_str::<Pid>("5").is_err());
}

#[test]
fn deserialize_any_view() {
    use serde_json::{Value, json};
    let term = map(vec![
        (atom("int"), int(-3)),
        (atom("big"), Term::from(u64::MAX)),
        (atom("float"), Term::Float(0.5)),
        (atom("yes"), atom("true")),
        (atom("none"), atom("undefined")),
        (atom("nil"), atom("nil")),
        (atom("name"), atom("ok")),
        (atom("text"), bin(b"hi")),
        (atom("list"), list(vec![int(1), bin(b"x")])),
        (atom("chars"), Term::charlist("ab")),
        (atom("pair"), tuple(vec![atom("a"), int(2)])),
        (atom("nested"), map(vec![(bin(b"k"), Term::NIL)])),
    ]);
    let value: Value = de(&term);
    assert_eq!(
        value,
        json!({
            "int": -3, "big": u64::MAX, "float": 0.5, "yes": true, "none": null, "nil": null, "name": "ok",
            "text": "hi", "list": [1, "x"], "chars": [97, 98], "pair": ["a", 2], "nested": {"k": []},
        })
    );
    // Non-UTF-8 binaries are bytes; pids and the like are their Erlang text.
    let raw: serde_bytes::ByteBuf = from_term(&bin(&[0xff])).expect("bytes");
    assert_eq!(raw.into_vec(), vec![0xff]);
    let shown: Value = de(&Term::Pid(pid()));
    assert!(shown.is_string());
    // A bignum past u128 comes as its decimal text.
    let huge = Term::Big(BigInt::from_le_bytes(false, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
    assert_eq!(de::<Value>(&huge), json!("340282366920938463463374607431768211456"));
}

#[test]
fn untagged_internally_tagged_and_flattened() {
    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(untagged)]
    enum Loose {
        Num(i64),
        Flag(bool),
        Text(String),
        Pair(u8, String),
    }
    assert_eq!(de::<Loose>(&int(4)), Loose::Num(4));
    assert_eq!(de::<Loose>(&atom("true")), Loose::Flag(true));
    assert_eq!(de::<Loose>(&bin(b"t")), Loose::Text("t".into()));
    assert_eq!(de::<Loose>(&atom("an_atom")), Loose::Text("an_atom".into()));
    assert_eq!(de::<Loose>(&tuple(vec![int(1), bin(b"x")])), Loose::Pair(1, "x".into()));
    assert!(from_term::<Loose>(&map(vec![])).is_err());

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Event {
        Click { x: i32, y: i32 },
        Key { code: u32 },
    }
    let click = Event::Click { x: 1, y: 2 };
    let term = map(vec![(atom("type"), atom("click")), (atom("x"), int(1)), (atom("y"), int(2))]);
    assert_eq!(ser(&click), map(vec![(atom("type"), bin(b"click")), (atom("x"), int(1)), (atom("y"), int(2))]));
    assert_eq!(de::<Event>(&term), click);
    assert_eq!(de::<Event>(&ser(&Event::Key { code: 13 })), Event::Key { code: 13 });

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Base {
        id: u32,
    }
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Extended {
        #[serde(flatten)]
        base: Base,
        name: String,
    }
    let ext = Extended { base: Base { id: 1 }, name: "n".into() };
    let term = map(vec![(atom("id"), int(1)), (atom("name"), bin(b"n"))]);
    assert_eq!(de::<Extended>(&term), ext);
}

#[test]
fn ignored_values_may_be_anything() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct Small {
        keep: u8,
    }
    let e = everything();
    let term = map(vec![
        (atom("keep"), int(1)),
        (atom("fun"), Term::Fun(Box::new(e.fun))),
        (atom("improper"), e.term),
        (atom("bits"), Term::Bits(e.bits)),
        (atom("big"), Term::Big(e.big)),
    ]);
    assert_eq!(de::<Small>(&term), Small { keep: 1 });
    assert_eq!(de::<serde::de::IgnoredAny>(&term), serde::de::IgnoredAny);
}

// ---------------------------------------------------------------------------------------------------------
// Bytes

#[test]
fn bytes_round_trip_and_errors() {
    let bytes = to_bytes(&jo()).expect("to_bytes");
    assert_eq!(bytes[0], 131);
    assert_eq!(from_bytes::<Person>(&bytes).expect("from_bytes"), jo());
    assert!(matches!(from_bytes::<Person>(&bytes[..bytes.len() - 1]), Err(Error::Decode(_))));
    assert!(matches!(from_bytes::<u8>(&[]), Err(Error::Decode(_))));
    assert!(matches!(from_bytes::<u8>(&[130, 97, 1]), Err(Error::Decode(_))));
    // term_to_binary({ok, <<"hi">>}) from a real node.
    let erlang = [131, 104, 2, 100, 0, 2, b'o', b'k', 109, 0, 0, 0, 2, b'h', b'i'];
    assert_eq!(from_bytes::<((), String)>(&erlang).expect("from_bytes"), ((), "hi".into()));
    assert_eq!(to_bytes(&((), "hi")).expect("to_bytes"), erlang);
}

#[test]
fn errors_display_what_was_expected() {
    let err = de_err::<Vec<String>>(&list(vec![bin(b"a"), int(2)]));
    assert!(err.to_string().starts_with("expected a string, found integer"), "{err}");
    let err = de_err::<Person>(&int(5));
    assert_eq!(err.to_string().split(',').next(), Some("expected struct Person"));
    let err: Error = serde::de::Error::custom("custom message");
    assert_eq!(err, Error::Message("custom message".into()));
}

// ---------------------------------------------------------------------------------------------------------
// No panics, whatever the term

fn odd_terms() -> Vec<Term> {
    let e = everything();
    vec![
        Term::NIL,
        tuple(vec![]),
        map(vec![]),
        bin(b""),
        bin(&[0xff, 0x00]),
        Term::charlist("x"),
        Term::improper(vec![int(1)], int(2)),
        Term::Big(BigInt::from_le_bytes(true, &[0xff; 300])),
        Term::Float(f64::MAX),
        Term::Float(-0.0),
        int(i64::MIN),
        atom(""),
        atom("undefined"),
        atom("nil"),
        tuple(vec![atom("Rect"), map(vec![])]),
        tuple(vec![bin(&[0xff]), int(1)]),
        map(vec![(Term::Pid(pid()), int(1)), (bin(&[0xff]), int(2))]),
        Term::Pid(e.pid),
        Term::Port(e.port),
        Term::Ref(e.reference),
        Term::Export(e.export),
        Term::Fun(Box::new(e.fun)),
        Term::Bits(e.bits),
        list(vec![e.term; 3]),
    ]
}

#[test]
fn no_panics_on_odd_terms() {
    fn attempt<T: DeserializeOwned>(term: &Term) {
        let _ = from_term::<T>(term);
    }
    for term in odd_terms() {
        attempt::<bool>(&term);
        attempt::<u8>(&term);
        attempt::<i128>(&term);
        attempt::<u128>(&term);
        attempt::<f32>(&term);
        attempt::<char>(&term);
        attempt::<String>(&term);
        attempt::<Vec<u8>>(&term);
        attempt::<serde_bytes::ByteBuf>(&term);
        attempt::<Option<Vec<String>>>(&term);
        attempt::<()>(&term);
        attempt::<(u8, String)>(&term);
        attempt::<HashMap<String, Term>>(&term);
        attempt::<Person>(&term);
        attempt::<Shape>(&term);
        attempt::<Everything>(&term);
        attempt::<serde_json::Value>(&term);
        attempt::<Atom>(&term);
        attempt::<BigInt>(&term);
        assert_eq!(de::<Term>(&term), term);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Properties

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Record {
    id: u64,
    delta: i128,
    ratio: f64,
    name: String,
    blob: Vec<u8>,
    #[serde(with = "serde_bytes")]
    raw: Vec<u8>,
    tags: Vec<String>,
    parent: Option<u32>,
    scores: BTreeMap<String, i32>,
    pair: (bool, char),
}

fn record() -> impl Strategy<Value = Record> {
    (
        (any::<u64>(), any::<i128>(), any::<f64>().prop_filter("finite", |f| f.is_finite()), "\\PC{0,12}"),
        (
            prop::collection::vec(any::<u8>(), 0..40),
            prop::collection::vec(any::<u8>(), 0..40),
            prop::collection::vec("[a-z]{0,6}", 0..5),
        ),
        (any::<Option<u32>>(), prop::collection::btree_map("[a-z]{1,4}", any::<i32>(), 0..5), any::<(bool, char)>()),
    )
        .prop_map(|((id, delta, ratio, name), (blob, raw, tags), (parent, scores, pair))| Record {
            id,
            delta,
            ratio,
            name,
            blob,
            raw,
            tags,
            parent,
            scores,
            pair,
        })
}

proptest! {
    #[test]
    fn records_round_trip(r in record()) {
        let term = to_term(&r).expect("to_term");
        prop_assert_eq!(from_term::<Record>(&term).expect("from_term"), r.clone());
        let bytes = to_bytes(&r).expect("to_bytes");
        prop_assert_eq!(from_bytes::<Record>(&bytes).expect("from_bytes"), r);
    }
}
