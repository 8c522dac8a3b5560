//! A serde bridge: Rust values to and from Erlang terms.
//!
//! [`to_term`] and [`from_term`] convert between any `Serialize`/`Deserialize` type and a [`Term`];
//! [`to_bytes`] and [`from_bytes`] add the external term format on top (the bytes of OTP 25's
//! `term_to_binary/1` and what `binary_to_term/1` reads).
//!
//! ```
//! use erlnode_etf::{from_bytes, from_term, to_bytes, to_term, Atom, Term};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Job {
//!     id: u32,
//!     name: String,
//!     tags: Vec<String>,
//!     owner: Option<String>,
//! }
//!
//! let job = Job { id: 7, name: "build".into(), tags: vec!["ci".into()], owner: None };
//! let term = to_term(&job).unwrap();
//! // #{id => 7, name => <<"build">>, tags => [<<"ci">>], owner => undefined}
//! let expected: Term = Term::Map(
//!     [
//!         (Term::atom("id"), Term::from(7)),
//!         (Term::atom("name"), Term::from("build")),
//!         (Term::atom("tags"), Term::list(vec![Term::from("ci")])),
//!         (Term::atom("owner"), Term::Atom(Atom::UNDEFINED)),
//!     ]
//!     .into_iter()
//!     .collect(),
//! );
//! assert_eq!(term, expected);
//! assert_eq!(from_term::<Job>(&term).unwrap(), job);
//! assert_eq!(from_bytes::<Job>(&to_bytes(&job).unwrap()).unwrap(), job);
//! ```
//!
//! # The mapping
//!
//! | Rust (serde data model) | Erlang term | also accepted when deserializing |
//! |---|---|---|
//! | `bool` | `true` / `false` | |
//! | integers | integer (`Term::Big` beyond `i64`) | a `Term::Big` that fits; anything that does not fit is [`Error::OutOfRange`] |
//! | `f32`, `f64` | float (NaN and infinities are [`Error::NonFiniteFloat`]) | an integer |
//! | `char` | integer (the code point) | a one-character binary |
//! | `String`, `&str` | UTF-8 binary `<<"text">>` | a charlist (`"text"` in Erlang, a list of code points), an atom (its name) |
//! | bytes (`serde_bytes`), and `Vec<u8>`, `&[u8]` | binary | a list of integers 0..=255, a charlist |
//! | `Option`: `None` / `Some(v)` | `undefined` / `v` | `nil` (Elixir's `nil`) for `None` |
//! | `()`, unit struct | `ok` | |
//! | newtype struct `struct Id(u64)` | the inner value | |
//! | struct | map with atom keys `#{name => <<"jo">>, age => 3}` | binary keys (Elixir `%{"name" => ...}`), a tuple or list of the fields in order |
//! | unit variant `E::Up` | atom `'Up'` | a binary, a 1-tuple `{'Up'}` |
//! | newtype variant `E::Move(5)` | `{'Move', 5}` | |
//! | tuple variant `E::At(1, 2)` | `{'At', 1, 2}` | |
//! | struct variant `E::Set { x: 1 }` | `{'Set', #{x => 1}}` | `{'Set', 1}` (fields in order) |
//! | sequence (`Vec`, sets, ...) | proper list | a charlist; a binary (as its bytes) |
//! | tuple, tuple struct, array `[T; N]` | tuple `{A, B}` | a list of the right length |
//! | map (`HashMap`, `BTreeMap`) | map, keys of any term | |
//!
//! Details worth knowing:
//!
//! * **`Vec<u8>` is a binary.** serde hands a `Vec<u8>` over as a sequence of `u8`; the bridge notices that
//!   every element came as a `u8` and makes a binary of them, as it does for `serde_bytes` and `&[u8]`. An
//!   empty sequence stays `[]`, so an empty `Vec<u8>` is `[]` and an empty `serde_bytes::ByteBuf` is
//!   `<<>>`; both read back into either type. Newtypes around `u8` count as `u8` (they are transparent), but
//!   `Option<u8>` does not. Arrays (`[u8; 4]`) are tuples in serde, so they become tuples.
//! * **Variant names are used verbatim.** Erlang atoms are usually lower case: add
//!   `#[serde(rename_all = "snake_case")]` to an enum to get `{move, 5}` rather than `{'Move', 5}`.
//! * **Erlang strings.** Erlang code often sends a string as a charlist (`"text"`) or an atom where Rust
//!   wants text; a `String` accepts both, besides a UTF-8 binary. A binary that is not UTF-8 is an error.
//!   A `&str` field borrows from the term's binary (use [`from_term`], which lends the term).
//! * **`Option<Option<T>>`** loses the inner `None`: both `None` and `Some(None)` are `undefined` (and an
//!   `Option<Term>` reads `undefined` and `nil` as `None`).
//!   A `String` field receiving the atom `undefined` reads it as the text `"undefined"`; use
//!   `Option<String>` for Erlang's "maybe".
//! * **Unknown map keys are ignored** when deserializing a struct (add `#[serde(deny_unknown_fields)]` to
//!   refuse them), so an Elixir struct's `__struct__` key needs no field, but can have one, as below.
//!
//! Enums:
//!
//! ```
//! use erlnode_etf::{from_term, to_term, Term};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! #[serde(rename_all = "snake_case")]
//! enum Cmd {
//!     Stop,
//!     Move(i32),
//!     Resize(u32, u32),
//!     Paint { color: String },
//! }
//!
//! let cases = [
//!     (Cmd::Stop, Term::atom("stop")),
//!     (Cmd::Move(-3), Term::tuple(vec![Term::atom("move"), Term::from(-3)])),
//!     (Cmd::Resize(4, 5), Term::tuple(vec![Term::atom("resize"), Term::from(4), Term::from(5)])),
//!     (
//!         Cmd::Paint { color: "red".into() },
//!         Term::tuple(vec![
//!             Term::atom("paint"),
//!             Term::Map([(Term::atom("color"), Term::from("red"))].into_iter().collect()),
//!         ]),
//!     ),
//! ];
//! for (cmd, term) in cases {
//!     assert_eq!(to_term(&cmd).unwrap(), term);
//!     assert_eq!(from_term::<Cmd>(&term).unwrap(), cmd);
//! }
//! ```
//!
//! # Elixir structs
//!
//! `%User{name: "jo", age: 3}` is the map `#{'__struct__' => 'Elixir.User', name => <<"jo">>, age => 3}`.
//! A field renamed to `__struct__` keeps the module name, so the value goes back as the same struct:
//!
//! ```
//! use erlnode_etf::{from_term, to_term, Atom, Term};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct User {
//!     #[serde(rename = "__struct__")]
//!     module: Atom,
//!     name: String,
//!     age: u32,
//! }
//!
//! let elixir = Term::Map(
//!     [
//!         (Term::atom("__struct__"), Term::atom("Elixir.User")),
//!         (Term::atom("name"), Term::from("jo")),
//!         (Term::atom("age"), Term::from(3)),
//!     ]
//!     .into_iter()
//!     .collect(),
//! );
//! let user: User = from_term(&elixir).unwrap();
//! assert_eq!(user, User { module: Atom::new("Elixir.User"), name: "jo".into(), age: 3 });
//! assert_eq!(to_term(&user).unwrap(), elixir);
//! ```
//!
//! # Terms inside Rust values
//!
//! [`Term`], [`Atom`](crate::Atom), [`Pid`](crate::Pid), [`Port`](crate::Port), [`Ref`](crate::Ref),
//! [`Export`](crate::Export), [`Fun`](crate::Fun), [`BigInt`](crate::BigInt), [`Map`](crate::Map) and
//! [`BitString`](crate::BitString) implement `Serialize` and `Deserialize`, and pass through the bridge
//! exactly as they are, at any depth. A `Term` field takes whatever arrives; an `Atom` or `Pid` field
//! requires that kind of term (a `BigInt` field takes any integer).
//!
//! ```
//! use erlnode_etf::{from_term, to_term, Atom, Pid, Term};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Envelope {
//!     from: Pid,
//!     tag: Atom,
//!     payload: Term,
//! }
//!
//! let env = Envelope {
//!     from: Pid::new(Atom::new("a@host"), 80, 0, 1),
//!     tag: Atom::new("hello"),
//!     payload: Term::tuple(vec![Term::atom("any"), Term::from(1.5)]),
//! };
//! let term = to_term(&env).unwrap();
//! assert_eq!(term.as_map().unwrap().get_atom("payload"), Some(&env.payload));
//! assert_eq!(from_term::<Envelope>(&term).unwrap(), env);
//! ```
//!
//! With other serde formats these types have a text form: an atom is its name, other terms their Erlang
//! text (read back with Erlang syntax); numbers, booleans, sequences and maps from other formats become the
//! matching terms, and `null` becomes `undefined`.
//!
//! # Self-describing reading
//!
//! `deserialize_any`, which `#[serde(untagged)]`, `#[serde(flatten)]`, internally tagged enums and
//! value types such as `serde_json::Value` use, sees: integers as `i64` (or `u64`/`i128`/`u128`, and
//! the decimal text past those), floats as `f64`, `true`/`false` as booleans, `undefined`/`nil` as none,
//! other atoms as their name (a string), a UTF-8 binary as a string and other binaries as bytes, lists and
//! tuples as sequences, maps as maps, and pids, ports, references, funs, bitstrings and improper lists as
//! their Erlang text. A `Term` field inside an untagged or flattened type is rebuilt from that view, so it
//! is not exact there (a binary comes back as text read with Erlang syntax).

mod de;
mod error;
mod passthrough;
mod ser;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

pub use error::Error;

use crate::Term;

/// Converts a value to a term, following the [module's mapping](self#the-mapping).
///
/// ```
/// use erlnode_etf::{to_term, Term};
/// assert_eq!(to_term(&(1, "two", vec![3u16])).unwrap(),
///            Term::tuple(vec![Term::from(1), Term::from("two"), Term::list(vec![Term::from(3)])]));
/// ```
pub fn to_term<T: Serialize + ?Sized>(value: &T) -> Result<Term, Error> {
    value.serialize(ser::Serializer::new())
}

/// Converts a term to a value, following the [module's mapping](self#the-mapping).
///
/// The value may borrow text and bytes from the term's binaries:
///
/// ```
/// use erlnode_etf::{from_term, Term};
/// let term = Term::tuple(vec![Term::from("borrowed"), Term::binary(&b"\x00\x01"[..])]);
/// let (text, bytes): (&str, &[u8]) = from_term(&term).unwrap();
/// assert_eq!((text, bytes), ("borrowed", &[0u8, 1][..]));
/// ```
pub fn from_term<'de, T: Deserialize<'de>>(term: &'de Term) -> Result<T, Error> {
    T::deserialize(de::Deserializer::new(term))
}

/// Converts a value to a term and encodes it as `term_to_binary/1` does (see [`Term::encode`]).
pub fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    Ok(to_term(value)?.encode()?)
}

/// Decodes a term made by `term_to_binary/1` (see [`Term::decode`]) and converts it to a value.
///
/// ```
/// use erlnode_etf::from_bytes;
/// // term_to_binary({ok, <<"hi">>})
/// let bytes = [131, 104, 2, 100, 0, 2, b'o', b'k', 109, 0, 0, 0, 2, b'h', b'i'];
/// let (status, text): ((), String) = from_bytes(&bytes).unwrap();
/// assert_eq!((status, text.as_str()), ((), "hi"));
/// ```
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    from_term(&Term::decode(bytes)?)
}
