//! The corpus shared by the `codec` and `vs_erlang` benches: the terms an Erlang node really moves.
//!
//! * **small**: distribution control messages as OTP 25 sends them. `{2, '', Pid}` is SEND, `{6, Pid, '',
//!   net_kernel}` is REG_SEND, and `{'$gen_call', {Pid, [alias|Ref]}, {is_auth, 'node@host'}}` is the first
//!   message `net_adm:ping/1` makes a node send (a `gen:call` with an alias tag). These dominate
//!   distribution traffic by count, so per-call overhead matters more than throughput here.
//! * **map_1k**: a ~1 KB application message (an "order created" event): nested maps with atom keys,
//!   binaries, integers of each encoding, a float, and a list of maps, as a JSON-ish API produces.
//! * **binary_1m**: a 1 MiB binary (a file chunk or blob); the decode from `Bytes` must not copy it.
//! * **list_100k_ints**: `lists:seq(1, 100000)`: 256 SMALL_INTEGER_EXT and 99,744 INTEGER_EXT elements,
//!   the classic bulk-data shape (ids, counters, samples).
//! * **list_100k_tuples**: 100,000 `{Id, Status, Name}` rows, `Status` one of a few atoms and `Name` a
//!   short binary, as `ets:tab2list/1` or a key-value range read returns them. This exercises the
//!   per-element dispatch across tags instead of the integer fast path.

use erlnode_etf::{Atom, Map, Pid, Ref, Term};

/// What a case stands for; the targets differ per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A distribution control message.
    Small,
    /// The ~1 KB map-heavy message.
    MapHeavy,
    /// The 1 MiB binary.
    Binary,
    /// A 100,000-element list.
    LargeList,
}

/// One corpus term and its encoding.
pub(crate) struct Case {
    /// Short identifier, also the file name the Erlang side reads (`<name>.etf`).
    pub(crate) name: &'static str,
    /// What it stands for.
    pub(crate) kind: Kind,
    /// The term.
    pub(crate) term: Term,
    /// `Term::encode` of it (byte-identical to OTP 25's `term_to_binary/1`, which `vs_erlang` checks).
    pub(crate) etf: Vec<u8>,
}

/// The size of the binary case.
pub(crate) const BINARY_LEN: usize = 1 << 20;

/// The length of the list cases.
pub(crate) const LIST_LEN: i64 = 100_000;

/// Builds the corpus, in the order the benches report it.
pub(crate) fn corpus() -> Vec<Case> {
    let cases = [
        ("send_ctrl", Kind::Small, send_ctrl()),
        ("reg_send_ctrl", Kind::Small, reg_send_ctrl()),
        ("gen_call_is_auth", Kind::Small, gen_call()),
        ("map_1k", Kind::MapHeavy, map_message()),
        ("binary_1m", Kind::Binary, binary_1m()),
        ("list_100k_ints", Kind::LargeList, list_ints()),
        ("list_100k_tuples", Kind::LargeList, list_tuples()),
    ];
    cases
        .into_iter()
        .map(|(name, kind, term)| {
            let etf = term.encode().expect("corpus terms encode");
            Case { name, kind, term, etf }
        })
        .collect()
}

fn node() -> Atom {
    Atom::new("app@host")
}

/// A pid as OTP 25 sends it: NEW_PID_EXT with a 32-bit creation.
fn pid(id: u32) -> Term {
    Term::Pid(Pid::new(node(), id, 0, 1_700_000_001))
}

/// `{2, '', ToPid}`: SEND.
fn send_ctrl() -> Term {
    Term::tuple(vec![Term::from(2), Term::atom(""), pid(94)])
}

/// `{6, FromPid, '', net_kernel}`: REG_SEND.
fn reg_send_ctrl() -> Term {
    Term::tuple(vec![Term::from(6), pid(94), Term::atom(""), Term::atom("net_kernel")])
}

/// `{'$gen_call', {FromPid, [alias|Ref]}, {is_auth, 'node@host'}}`.
fn gen_call() -> Term {
    let reference = Ref::new(node(), 1_700_000_001, &[153_402, 1_907_097_603, 2_371_813]).expect("3 words");
    let tag = Term::improper(vec![Term::atom("alias")], Term::Ref(reference));
    Term::tuple(vec![
        Term::atom("$gen_call"),
        Term::tuple(vec![pid(94), tag]),
        Term::tuple(vec![Term::atom("is_auth"), Term::atom("node@host")]),
    ])
}

fn map(entries: Vec<(&str, Term)>) -> Term {
    Term::Map(entries.into_iter().map(|(k, v)| (Term::atom(k), v)).collect::<Map>())
}

fn bin(text: &str) -> Term {
    Term::from(text)
}

fn item(n: i64, name: &str, qty: i64, price: i64, tags: &[&str]) -> Term {
    map(vec![
        ("sku", bin(&format!("SKU-{n:05}"))),
        ("name", bin(name)),
        ("qty", Term::from(qty)),
        ("unit_price", Term::from(price)),
        ("discount", Term::from(0.1)),
        ("tags", Term::list(tags.iter().map(|t| bin(t)).collect::<Vec<_>>())),
    ])
}

/// An "order created" event of about 1 KB.
fn map_message() -> Term {
    map(vec![
        ("event", Term::atom("order_created")),
        ("id", Term::from(184_467_301)),
        ("ts", Term::from(1_700_000_000_123i64)),
        ("version", Term::from(3)),
        (
            "user",
            map(vec![
                ("id", Term::from(42)),
                ("name", bin("Ada Lovelace")),
                ("email", bin("ada@example.com")),
                ("roles", Term::list(vec![Term::atom("admin"), Term::atom("billing")])),
                ("active", Term::from(true)),
                ("locale", bin("en-GB")),
            ]),
        ),
        (
            "items",
            Term::list(vec![
                item(17, "Widget, blue", 2, 1999, &["hardware", "sale"]),
                item(230, "Gadget Pro 3000", 1, 14_900, &["electronics"]),
                item(4711, "Cable, USB-C, 2 m", 3, 899, &["accessories", "cables"]),
                item(9, "Gift wrap", 1, 250, &[]),
            ]),
        ),
        (
            "shipping",
            map(vec![
                ("method", Term::atom("express")),
                ("cost", Term::from(499)),
                (
                    "address",
                    map(vec![
                        ("street", bin("12 Analytical Engine Way")),
                        ("city", bin("London")),
                        ("postcode", bin("NW1 6XE")),
                        ("country", bin("GB")),
                    ]),
                ),
            ]),
        ),
        (
            "totals",
            map(vec![
                ("subtotal", Term::from(22_545)),
                ("tax", Term::from(4_509)),
                ("total", Term::from(27_553)),
                ("currency", bin("EUR")),
            ]),
        ),
        (
            "meta",
            map(vec![
                ("source", bin("web")),
                ("trace_id", bin("4bf92f3577b34da6a3ce929d0e0e4736")),
                ("span_id", bin("00f067aa0ba902b7")),
                ("retries", Term::from(0)),
                ("sampled", Term::from(false)),
            ]),
        ),
    ])
}

/// 1 MiB of pseudo-random bytes (xorshift, so nothing can special-case the content).
fn binary_1m() -> Term {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut data = Vec::with_capacity(BINARY_LEN);
    while data.len() < BINARY_LEN {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(BINARY_LEN);
    Term::binary(data)
}

/// `lists:seq(1, 100000)`.
fn list_ints() -> Term {
    Term::list((1..=LIST_LEN).map(Term::from).collect::<Vec<_>>())
}

/// 100,000 `{Id, Status, <<"user-Id">>}` rows.
fn list_tuples() -> Term {
    let statuses = [Term::atom("active"), Term::atom("idle"), Term::atom("suspended")];
    Term::list(
        (1..=LIST_LEN)
            .map(|i| {
                let status = statuses[(i % 3) as usize].clone();
                Term::tuple(vec![Term::from(i), status, bin(&format!("user-{i}"))])
            })
            .collect::<Vec<_>>(),
    )
}
