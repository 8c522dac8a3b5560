//! The codec against a real Erlang node, in both directions.
//!
//! For each term set, `erl` runs `etf_interop` (tests/erlang/etf_interop.erl, compiled into a temporary
//! directory) twice:
//!
//! 1. Erlang → Rust: Erlang writes `term_to_binary(T)`, with `[{minor_version, 2}]`, `[compressed]` and
//!    `[{compressed, 9}]` (and the hand-crafted bytes a term came from); Rust decodes every one and compares
//!    it with the term it expects: parsed from `tests/erlang/corpus.terms`, built the same way in Rust, or
//!    (for pids, references, ports and funs) checked for its known parts.
//! 2. Rust → Erlang: Rust writes `Term::encode`, `Encoder::new().utf8_atoms(true)` and
//!    `Encoder::new().compressed(6)` of every term; Erlang `binary_to_term`s each and checks `=:=` against its
//!    own term, and checks byte identity with its own `term_to_binary` (default and `minor_version` 2) for
//!    every term without a map of more than 32 keys. Rust asserts on the report Erlang writes.
//!
//! Without Erlang/OTP (`erl`, `erlc`, `epmd`) on `PATH` the tests print "skipped" and pass, unless `CI=true`.

mod support;

use std::fmt::Write as _;
use std::path::Path;

use bytes::Bytes;
use erlnode_erltest::{Erlang, TempDir};
use erlnode_etf::{Atom, BigInt, BitString, Encoder, Export, Map, Pid, Port, Ref, Term};

const MODULE_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/erlang/etf_interop.erl");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/erlang/corpus.terms");

// ---------------------------------------------------------------------------------------------------------
// The tests.

#[test]
fn corpus_round_trips_through_erlang() {
    with_erlang("corpus_round_trips_through_erlang", |erlang, dir| {
        let text = std::fs::read_to_string(CORPUS).expect("read tests/erlang/corpus.terms");
        let corpus = Term::parse_all(&text).unwrap_or_else(|e| panic!("Term::parse_all(corpus.terms): {e}"));
        assert!(corpus.len() >= 200, "the corpus should hold at least 200 terms, has {}", corpus.len());
        let outcome = round_trip(erlang, dir, "corpus", &[CORPUS], |record, _| {
            let index: usize = record.name.strip_prefix("corpus/")?.parse().ok()?;
            corpus.get(index.checked_sub(1)?).cloned()
        });
        assert_eq!(outcome.records, corpus.len(), "file:consult and Term::parse_all disagree on the term count");
        outcome.assert_clean();
    });
}

#[test]
fn generated_terms_round_trip_through_erlang() {
    with_erlang("generated_terms_round_trip_through_erlang", |erlang, dir| {
        let outcome = round_trip(erlang, dir, "generated", &[], |record, failures| {
            let built = generated(&record.name);
            if built.is_none() {
                failures.push(format!("{}: Erlang generated a term the Rust side cannot build", record.name));
            }
            built
        });
        let mut names: Vec<&str> = outcome.names.iter().map(String::as_str).collect();
        names.sort_unstable();
        let mut ours = GENERATED.to_vec();
        ours.sort_unstable();
        assert_eq!(names, ours, "Erlang's and Rust's lists of generated terms differ");
        outcome.assert_clean();
    });
}

#[test]
fn erlang_only_and_legacy_terms_round_trip() {
    with_erlang("erlang_only_and_legacy_terms_round_trip", |erlang, dir| {
        let outcome = round_trip(erlang, dir, "special", &[], |record, failures| {
            // Rust cannot make these terms itself: the expectation is what Erlang's term_to_binary decodes
            // to, checked for its known parts, and (for hand-crafted inputs) equal to what they decode to.
            let term = match Term::decode(&record.default) {
                Ok(term) => term,
                Err(e) => {
                    failures.push(format!(
                        "{}: cannot decode term_to_binary output: {e}\n    erlang: {}",
                        record.name,
                        bytes_text(&record.default)
                    ));
                    return None;
                }
            };
            if let Err(why) = special_parts(&record.name, &term) {
                failures.push(format!("{}: decoded to {}: {why}", record.name, show(&term)));
            }
            Some(term)
        });
        assert!(outcome.records >= 60, "expected the whole special set, got {} records", outcome.records);
        outcome.assert_clean();
    });
}

#[test]
fn odd_and_malformed_inputs_get_erlangs_verdict() {
    with_erlang("odd_and_malformed_inputs_get_erlangs_verdict", |erlang, dir| {
        erlang
            .run(dir, "verdicts", "etf_interop", "main", &["verdicts", "odd", path_str(dir.path())])
            .assert_success("erl verdicts");
        let frames = support::read_frames(&dir.join("from_erlang.bin"));
        assert_eq!(frames.len() % 3, 0, "from_erlang.bin: expected records of 3 frames");
        let mut failures = Vec::new();
        let (mut rejected, mut accepted) = (0, 0);
        for record in frames.chunks(3) {
            let (name, input, verdict) = (String::from_utf8_lossy(&record[0]), &record[1], &record[2]);
            match (verdict.is_empty(), Term::decode(input)) {
                (true, Err(_)) => rejected += 1,
                (true, Ok(t)) => failures.push(format!(
                    "{name}: Erlang's binary_to_term rejects {}, ours accepts it as {}",
                    bytes_text(input),
                    show(&t)
                )),
                (false, Err(e)) => failures.push(format!(
                    "{name}: Erlang accepts {} (re-encoded: {}), ours rejects it: {e}",
                    bytes_text(input),
                    bytes_text(verdict)
                )),
                (false, Ok(t)) => match Term::decode(verdict) {
                    Ok(canonical) if canonical == t => accepted += 1,
                    other => failures.push(format!(
                        "{name}: {} decodes to {}, but Erlang's re-encoding {} decodes to {other:?}",
                        bytes_text(input),
                        show(&t),
                        bytes_text(verdict)
                    )),
                },
            }
        }
        eprintln!("odd inputs: {rejected} rejected and {accepted} accepted by both Erlang and Rust");
        assert!(failures.is_empty(), "{} disagreements with Erlang:\n{}", failures.len(), failures.join("\n"));
        assert!(rejected >= 25, "expected Erlang to reject most of the odd inputs, it rejected {rejected}");
    });
}

// ---------------------------------------------------------------------------------------------------------
// The round trip.

/// Finds Erlang (or skips), makes a temp dir, compiles the helper module there, and runs `body`. It runs on
/// the ordinary test thread (2 MiB of stack in Rust's test harness), which the deepest terms must fit in.
fn with_erlang(test: &'static str, body: impl FnOnce(&Erlang, &TempDir)) {
    let Some(erlang) = Erlang::find(test) else { return };
    let dir = TempDir::new(&format!("erlnode-etf-{test}"));
    erlang.compile(Path::new(MODULE_SOURCE), &dir);
    body(&erlang, &dir);
}

/// One term as Erlang encoded it.
struct FromErlang {
    name: String,
    /// `term_to_binary(T)`.
    default: Vec<u8>,
    /// `term_to_binary(T, [{minor_version, 2}])`.
    minor2: Vec<u8>,
    /// `term_to_binary(T, [compressed])`.
    compressed: Vec<u8>,
    /// `term_to_binary(T, [{compressed, 9}])`.
    compressed9: Vec<u8>,
    /// The hand-crafted bytes the term was decoded from, or empty.
    crafted: Vec<u8>,
}

/// What a round trip found.
struct Outcome {
    set: &'static str,
    /// Terms Erlang exported.
    records: usize,
    /// Their names.
    names: Vec<String>,
    /// Everything that went wrong, on either side.
    failures: Vec<String>,
    /// Erlang's report on what Rust sent.
    report: Report,
    /// Terms Rust sent.
    sent: usize,
}

impl Outcome {
    fn assert_clean(&self) {
        let r = &self.report;
        eprintln!(
            "{}: {} terms. Rust-side failures: {}. Rust -> Erlang: {} records, {} checks ok, \
             {} compared by decoding only (maps over 32 keys), {} mismatches",
            self.set,
            self.records,
            self.failures.len() - r.mismatches.len(),
            r.records,
            r.ok,
            r.decode_only,
            r.mismatches.len()
        );
        assert!(
            self.failures.is_empty(),
            "{}: {} failures:\n{}",
            self.set,
            self.failures.len(),
            self.failures.join("\n")
        );
        assert_eq!(r.records, self.sent, "{}: Erlang checked another number of records than Rust sent", self.set);
        // Per record: three decodes, and two byte comparisons unless it is compared by decoding only.
        assert_eq!(r.ok, 5 * r.records - 2 * r.decode_only, "{}: Erlang's check count is off", self.set);
    }
}

/// Runs one term set through Erlang → Rust → Erlang. `expect` gives the term Rust expects for a record (or
/// `None`, having recorded why, to leave it out).
fn round_trip(
    erlang: &Erlang,
    dir: &TempDir,
    set: &'static str,
    extra: &[&str],
    mut expect: impl FnMut(&FromErlang, &mut Vec<String>) -> Option<Term>,
) -> Outcome {
    let dir_arg = path_str(dir.path());
    let mut args = vec!["export", set, dir_arg];
    args.extend_from_slice(extra);
    erlang.run(dir, "export", "etf_interop", "main", &args).assert_success("erl export");
    let frames = support::read_frames(&dir.join("from_erlang.bin"));
    assert_eq!(frames.len() % 6, 0, "from_erlang.bin: expected records of 6 frames");
    let records: Vec<FromErlang> = frames
        .chunks(6)
        .map(|f| FromErlang {
            name: String::from_utf8(f[0].clone()).expect("record names are UTF-8"),
            default: f[1].clone(),
            minor2: f[2].clone(),
            compressed: f[3].clone(),
            compressed9: f[4].clone(),
            crafted: f[5].clone(),
        })
        .collect();

    // Erlang -> Rust.
    let mut failures = Vec::new();
    let mut to_send = Vec::new();
    for record in &records {
        let Some(expected) = expect(record, &mut failures) else {
            failures.push(format!("{}: no expected term on the Rust side, so it is not sent back", record.name));
            continue;
        };
        check_decodes(record, &expected, &mut failures);
        to_send.push((record.name.as_str(), expected));
    }

    // Rust -> Erlang.
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(4 * to_send.len());
    let mut sent = 0;
    for (name, term) in &to_send {
        let encoded =
            [term.encode(), Encoder::new().utf8_atoms(true).encode(term), Encoder::new().compressed(6).encode(term)];
        match encoded {
            [Ok(default), Ok(utf8), Ok(compressed)] => {
                out.extend([name.as_bytes().to_vec(), default, utf8, compressed]);
                sent += 1;
            }
            errors => failures.push(format!("{name}: Rust cannot encode {}: {errors:?}", show(term))),
        }
    }
    support::write_frames(&dir.join("from_rust.bin"), &out);
    erlang.run(dir, "check", "etf_interop", "main", &args_for_check(&args)).assert_success("erl check");
    let report = Report::read(&dir.join("report.txt"));
    failures.extend(report.mismatches.iter().map(|m| format!("Erlang judged Rust's encoding: {m}")));
    Outcome {
        set,
        records: records.len(),
        names: records.iter().map(|r| r.name.clone()).collect(),
        failures,
        report,
        sent,
    }
}

fn args_for_check<'a>(export_args: &[&'a str]) -> Vec<&'a str> {
    let mut args = export_args.to_vec();
    args[0] = "check";
    args
}

/// Decodes every encoding Erlang made of one term and compares each with `expected`.
fn check_decodes(record: &FromErlang, expected: &Term, failures: &mut Vec<String>) {
    let mut variants = vec![
        ("term_to_binary", &record.default),
        ("minor_version_2", &record.minor2),
        ("compressed", &record.compressed),
        ("compressed_9", &record.compressed9),
    ];
    if !record.crafted.is_empty() {
        variants.push(("hand_crafted", &record.crafted));
    }
    for (variant, bytes) in variants {
        match Term::decode(bytes) {
            Ok(t) if t == *expected => {}
            Ok(t) => failures.push(format!(
                "{} [{variant}]: decodes to {}, expected {}\n    erlang: {}",
                record.name,
                show(&t),
                show(expected),
                bytes_text(bytes)
            )),
            Err(e) => failures.push(format!(
                "{} [{variant}]: decode failed: {e}\n    erlang: {}",
                record.name,
                bytes_around(bytes, e.offset)
            )),
        }
    }
    // The zero-copy path must agree.
    match Term::decode_bytes(&Bytes::from(record.default.clone())) {
        Ok(t) if t == *expected => {}
        other => failures.push(format!("{} [decode_bytes]: {}", record.name, show_result(&other))),
    }
}

/// Erlang's verdict on what Rust sent (report.txt).
#[derive(Debug, Default)]
struct Report {
    records: usize,
    ok: usize,
    decode_only: usize,
    mismatches: Vec<String>,
}

impl Report {
    fn read(path: &Path) -> Report {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let mut report = Report::default();
        let mut declared = None;
        for line in text.lines() {
            let (key, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
            let number = || rest.trim().parse::<usize>().unwrap_or_else(|_| panic!("report line {line:?}"));
            match key {
                "records" => report.records = number(),
                "ok" => report.ok = number(),
                "decode_only" => report.decode_only = number(),
                "mismatches" => declared = Some(number()),
                "mismatch" => report.mismatches.push(rest.replace('\t', " | ")),
                _ => panic!("unexpected report line {line:?}"),
            }
        }
        assert_eq!(declared, Some(report.mismatches.len()), "report.txt is incomplete:\n{text}");
        report
    }
}

// ---------------------------------------------------------------------------------------------------------
// Terms built the same way on both sides (see generated/0 in etf_interop.erl).

const GENERATED: &[&str] = &[
    "deep_tuple_100",
    "deep_tuple_400",
    "deep_tuple_500",
    "deep_list_400",
    "deep_improper_300",
    "deep_map_200",
    "deep_mixed_450",
    "string_65535",
    "list_65536",
    "list_0_to_2000",
    "list_negative",
    "binary_256",
    "binary_1mib",
    "bitstring_8003_bits",
    "tuple_255",
    "tuple_256",
    "tuple_70000",
    "map_32",
    "map_33",
    "map_100_atoms",
    "map_10000_mixed",
    "map_of_maps_50",
    "map_with_map_keys_40",
    "big_2040_bits_minus_1",
    "big_2040_bits",
    "big_neg_2040_bits",
    "big_4000_bits_plus_1",
    "big_neg_4000_bits_minus_1",
    "powers_of_two_0_to_300",
    "neg_powers_of_two_0_to_300",
    "powers_of_two_minus_1_to_300",
    "floats_tenths",
    "floats_reciprocals",
    "atoms_latin1_1_to_255",
    "atoms_euro_1_to_255",
    "atoms_emoji_1_to_255",
    "atoms_2000",
    "compressible_binaries",
    "compressible_string",
    "records_1000",
];

fn generated(name: &str) -> Option<Term> {
    let int = |i: i64| Term::Int(i);
    let ints = |range: std::ops::RangeInclusive<i64>| Term::list(range.map(Term::Int).collect::<Vec<_>>());
    Some(match name {
        "deep_tuple_100" => nest(100, |t, _| Term::tuple(vec![t])),
        "deep_tuple_400" => nest(400, |t, _| Term::tuple(vec![t])),
        "deep_tuple_500" => nest(500, |t, _| Term::tuple(vec![t])),
        "deep_list_400" => nest(400, |t, _| Term::list(vec![t])),
        "deep_improper_300" => nest(300, |t, i| Term::improper(vec![t], int(i))),
        "deep_map_200" => nest(200, |t, i| map([(int(i), t)])),
        "deep_mixed_450" => (1..=450).fold(Term::from("bottom"), |t, i| match i % 4 {
            0 => Term::tuple(vec![int(i), t]),
            1 => Term::list(vec![t, int(i)]),
            2 => map([(Term::atom("key"), t)]),
            _ => Term::improper(vec![int(i)], t),
        }),
        "string_65535" => Term::list((1..=65535).map(|i| int(i % 256)).collect::<Vec<_>>()),
        // Held as bytes, so the encoder's charlist path must switch to LIST_EXT past 65535 elements.
        "list_65536" => Term::Charlist((1..=65536).map(|i| (i % 256) as u8).collect::<Vec<u8>>().into()),
        "list_0_to_2000" => ints(0..=2000),
        "list_negative" => ints(-300..=-1),
        "binary_256" => Term::binary(pattern(256)),
        "binary_1mib" => Term::binary(pattern(1 << 20)),
        "bitstring_8003_bits" => {
            let mut data = pattern(1000);
            data.push(5 << 5);
            Term::Bits(BitString::new(data.into(), 3).expect("valid bitstring"))
        }
        "tuple_255" => Term::tuple((1..=255).map(int).collect::<Vec<_>>()),
        "tuple_256" => Term::tuple((1..=256).map(int).collect::<Vec<_>>()),
        "tuple_70000" => Term::tuple((1..=70000).map(int).collect::<Vec<_>>()),
        "map_32" => map((1..=32).map(|i| (plain_key(i), int(i)))),
        "map_33" => map((1..=33).map(|i| (plain_key(i), int(i)))),
        "map_100_atoms" => map((1..=100).map(|i| (Term::atom(&format!("key{i}")), int(i)))),
        "map_10000_mixed" => map((1..=10000).map(|i| (mixed_key(i), Term::tuple(vec![Term::atom("v"), int(i)])))),
        "map_of_maps_50" => map((1..=50).map(|i| (int(i), map((1..=5).map(|j| (int(j), int(i * j))))))),
        "map_with_map_keys_40" => map((1..=40).map(|i| (map([(int(i), Term::list(vec![int(i)]))]), int(i)))),
        "big_2040_bits_minus_1" => big(false, &[0xff; 255]),
        "big_2040_bits" => power_of_two(false, 2040),
        "big_neg_2040_bits" => power_of_two(true, 2040),
        "big_4000_bits_plus_1" => power_of_two_plus_one(false, 4000),
        "big_neg_4000_bits_minus_1" => power_of_two_plus_one(true, 4000),
        "powers_of_two_0_to_300" => Term::list((0..=300).map(|i| power_of_two(false, i)).collect::<Vec<_>>()),
        "neg_powers_of_two_0_to_300" => Term::list((0..=300).map(|i| power_of_two(true, i)).collect::<Vec<_>>()),
        "powers_of_two_minus_1_to_300" => Term::list((1..=300).map(power_of_two_minus_one).collect::<Vec<_>>()),
        "floats_tenths" => Term::list((-100..=100).map(|i| Term::Float(i as f64 * 0.1)).collect::<Vec<_>>()),
        "floats_reciprocals" => Term::list((1..=100).map(|i| Term::Float(1.0 / f64::from(i))).collect::<Vec<_>>()),
        "atoms_latin1_1_to_255" => repeated_atoms('é'),
        "atoms_euro_1_to_255" => repeated_atoms('€'),
        "atoms_emoji_1_to_255" => repeated_atoms('😀'),
        "atoms_2000" => Term::list((1..=2000).map(|i| Term::atom(&format!("atom_{i}"))).collect::<Vec<_>>()),
        "compressible_binaries" => Term::list(vec![Term::from("hello world"); 2000]),
        "compressible_string" => Term::charlist(&"a".repeat(20000)),
        "records_1000" => Term::list(
            (1..=1000)
                .map(|i| Term::tuple(vec![int(i), Term::charlist(&i.to_string()), Term::from(i.to_string())]))
                .collect::<Vec<_>>(),
        ),
        _ => return None,
    })
}

/// `leaf` wrapped `n` times; `wrap` gets the inner term and the level (1 innermost).
fn nest(n: i64, wrap: impl Fn(Term, i64) -> Term) -> Term {
    (1..=n).fold(Term::atom("leaf"), wrap)
}

fn map(entries: impl IntoIterator<Item = (Term, Term)>) -> Term {
    Term::Map(entries.into_iter().collect::<Map>())
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + 7) & 255) as u8).collect()
}

fn plain_key(i: i64) -> Term {
    match i % 3 {
        0 => Term::Int(i),
        1 => Term::atom(&format!("k{i}")),
        _ => Term::from(i.to_string()),
    }
}

fn mixed_key(i: i64) -> Term {
    match i % 6 {
        0 => Term::Int(i),
        1 => Term::atom(&format!("k{i}")),
        2 => Term::from(i.to_string()),
        3 => Term::tuple(vec![Term::Int(i)]),
        4 => Term::Float(i as f64 + 0.5),
        _ => Term::list(vec![Term::Int(i), Term::Int(i)]),
    }
}

fn big(negative: bool, magnitude_le: &[u8]) -> Term {
    Term::integer(BigInt::from_le_bytes(negative, magnitude_le))
}

fn power_of_two(negative: bool, bits: usize) -> Term {
    let mut m = vec![0u8; bits / 8 + 1];
    m[bits / 8] = 1 << (bits % 8);
    big(negative, &m)
}

/// `±(2^bits + 1)`.
fn power_of_two_plus_one(negative: bool, bits: usize) -> Term {
    let mut m = vec![0u8; bits / 8 + 1];
    m[bits / 8] = 1 << (bits % 8);
    m[0] |= 1;
    big(negative, &m)
}

fn power_of_two_minus_one(bits: usize) -> Term {
    let mut m = vec![0xffu8; bits / 8];
    if bits % 8 != 0 {
        m.push((1u8 << (bits % 8)) - 1);
    }
    big(false, &m)
}

fn repeated_atoms(c: char) -> Term {
    Term::list((1..=255).map(|n| Term::atom(&c.to_string().repeat(n))).collect::<Vec<_>>())
}

// ---------------------------------------------------------------------------------------------------------
// What the Erlang-only terms must contain (see special/0 and crafted/0 in etf_interop.erl).

fn special_parts(name: &str, t: &Term) -> Result<(), String> {
    let local = Atom::new("nonode@nohost");
    let other = Atom::new("other@host");
    let is = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("expected {what}")) };
    let equals = |expected: Term| is(*t == expected, &show(&expected));
    match name {
        "pid_self" => is(matches!(t, Term::Pid(p) if p.node == local && p.creation == 0), "a local pid"),
        "pid_list_to_pid" => equals(Term::Pid(Pid::new(local, 4, 1, 0))),
        "pid_max_local" => equals(Term::Pid(Pid::new(local, 32767, 8191, 0))),
        "port_first" | "port_last" => is(matches!(t, Term::Port(p) if p.node == local), "a local port"),
        "port_list_to_port" => equals(Term::Port(Port::new(local, 1234, 0))),
        "ref_make_ref" | "ref_monitor" | "ref_alias" => {
            is(matches!(t, Term::Ref(r) if r.node == local && r.ids().len() == 3), "a local 3-word reference")
        }
        "fun_closure_1_free_var" => is(
            matches!(t, Term::Fun(f) if f.module == "etf_interop" && f.arity == 1 && f.free_vars == [Term::Int(42)]),
            "an etf_interop closure of arity 1 over 42",
        ),
        "fun_closure_4_free_vars" => is(
            matches!(t, Term::Fun(f) if f.arity == 2 && f.free_vars.len() == 4
                && f.free_vars.contains(&Term::from("env")) && f.free_vars.contains(&Term::Int(42))
                && f.free_vars.iter().any(|v| matches!(v, Term::Pid(_)))
                && f.free_vars.iter().any(|v| matches!(v, Term::Ref(_)))),
            "a closure of arity 2 over a pid, a ref, <<\"env\">> and 42",
        ),
        "fun_closure_no_free_vars" => {
            is(matches!(t, Term::Fun(f) if f.arity == 0 && f.free_vars.is_empty()), "a closure without free vars")
        }
        "fun_closure_in_closure" => is(
            matches!(t, Term::Fun(f) if f.free_vars.len() == 1 && matches!(&f.free_vars[0], Term::Fun(_))),
            "a closure over a closure",
        ),
        "fun_export_lists_map_2" => equals(export("lists", "map", 2)),
        "fun_export_erlang_plus_2" => equals(export("erlang", "+", 2)),
        "fun_export_own_module" => equals(export("etf_interop", "main", 1)),
        "fun_export_utf8_names" => equals(export("módulo€", "función😀", 0)),
        "mixed_container" => is(matches!(t, Term::Tuple(e) if e.len() == 6), "a 6-tuple"),
        "legacy_pid_103_local" => equals(Term::Pid(Pid::new(local, 77, 2, 0))),
        "legacy_pid_103_remote" => equals(Term::Pid(Pid::new(other, 5, 1, 3))),
        "new_pid_88_remote" => equals(Term::Pid(Pid::new(other, 256, 3, 0x1234_5678))),
        "new_pid_88_remote_creation_0" => equals(Term::Pid(Pid::new(other, 1, 0, 0))),
        "new_pid_88_utf8_node" => equals(Term::Pid(Pid::new(Atom::new("nöde@höst"), 7, 0, 1))),
        "legacy_port_102_remote" => equals(Term::Port(Port::new(other, 9, 2))),
        "new_port_89_remote" => equals(Term::Port(Port::new(other, 9, 256))),
        "v4_port_120_remote_big_id" => equals(Term::Port(Port::new(other, (1 << 32) + 5, 9))),
        "v4_port_120_remote_small_id" => equals(Term::Port(Port::new(other, 77, 9))),
        "legacy_reference_101_remote" => equals(reference(other, 1, &[7])),
        "legacy_new_reference_114_remote" => equals(reference(other, 2, &[1, 2, 3])),
        "newer_reference_90_1_word" => equals(reference(other, 7, &[1])),
        "newer_reference_90_3_words_local" => equals(reference(local, 0, &[1, 2, 3])),
        "newer_reference_90_5_words" => equals(reference(other, 7, &[1, 2, 3, 4, 5])),
        "legacy_float_99_1.5" => equals(Term::Float(1.5)),
        "legacy_float_99_0.1" => equals(Term::Float(0.1)),
        "legacy_float_99_neg_tiny" => equals(Term::Float(-2.5e-300)),
        "legacy_float_99_max" => equals(Term::Float(f64::MAX)),
        "legacy_float_99_min_denormal" => equals(Term::Float(5e-324)),
        "legacy_float_99_zero" => equals(Term::Float(0.0)),
        "new_float_70_neg_zero" => is(matches!(t, Term::Float(f) if f.to_bits() == (-0.0f64).to_bits()), "-0.0"),
        "legacy_atom_100_ascii" | "legacy_small_atom_115" => equals(Term::atom("hello")),
        "legacy_atom_100_latin1" | "legacy_small_atom_115_latin1" => equals(Term::atom("éÿ")),
        "legacy_atom_100_empty" | "small_atom_utf8_119_empty" => equals(Term::atom("")),
        "atom_utf8_118_short" => equals(Term::atom("abc")),
        "small_atom_utf8_119_latin1_char" => equals(Term::atom("é")),
        "small_big_110_noncanonical_5" | "integer_98_small_value" => equals(Term::Int(5)),
        "small_big_110_noncanonical_neg_256" => equals(Term::Int(-256)),
        "small_big_110_zero_padded" => equals(Term::Int(1)),
        "small_big_110_no_digits" => equals(Term::Int(0)),
        "large_big_111_neg_7" => equals(Term::Int(-7)),
        "large_tuple_105_arity_2" => equals(Term::tuple(vec![Term::Int(1), Term::Int(2)])),
        "list_108_with_string_tail" => equals(Term::list(vec![Term::Int(1), Term::Int(2), Term::Int(3)])),
        "list_108_of_bytes" => equals(Term::list(vec![Term::Int(1)])),
        "string_107_empty" | "compressed_80_tiny" => equals(Term::NIL),
        "bit_binary_77_8_bits" => equals(Term::binary(&[1u8, 2][..])),
        "bit_binary_77_dirty_unused_bits" => {
            equals(Term::Bits(BitString::new(Bytes::from_static(&[0b1110_0000]), 3).expect("valid bitstring")))
        }
        "map_116_unsorted" => equals(map([(Term::atom("a"), Term::Int(1)), (Term::atom("b"), Term::Int(2))])),
        "export_113_utf8_atoms" => equals(export("lists", "map", 2)),
        other => Err(format!("no expectation for {other:?} on the Rust side")),
    }
}

fn export(module: &str, function: &str, arity: u8) -> Term {
    Term::Export(Export::new(Atom::new(module), Atom::new(function), arity))
}

fn reference(node: Atom, creation: u32, ids: &[u32]) -> Term {
    Term::Ref(Ref::new(node, creation, ids).expect("1 to 5 words"))
}

// ---------------------------------------------------------------------------------------------------------
// Printing.

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp dir paths are UTF-8")
}

/// A term in Erlang syntax, cut short for messages.
fn show(t: &Term) -> String {
    const LIMIT: usize = 300;
    struct Capped(String);
    impl std::fmt::Write for Capped {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            if self.0.len() + s.len() > LIMIT {
                let room = s.char_indices().map(|(i, _)| i).take_while(|&i| self.0.len() + i <= LIMIT).last();
                self.0.push_str(&s[..room.unwrap_or(0)]);
                return Err(std::fmt::Error);
            }
            self.0.push_str(s);
            Ok(())
        }
    }
    let mut out = Capped(String::new());
    if write!(out, "{t}").is_err() {
        out.0.push_str("...");
    }
    out.0
}

fn show_result(r: &Result<Term, erlnode_etf::DecodeError>) -> String {
    match r {
        Ok(t) => format!("decodes to {}", show(t)),
        Err(e) => format!("fails: {e}"),
    }
}

/// Bytes as Erlang prints them (`<<131,97,1>>`), abbreviated past 200.
fn bytes_text(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(200)];
    let mut s = String::from("<<");
    for (i, b) in shown.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{b}");
    }
    s.push_str(">>");
    if bytes.len() > shown.len() {
        let _ = write!(s, "... ({} bytes)", bytes.len());
    }
    s
}

/// The bytes around `offset` of a long input (the whole input when short).
fn bytes_around(bytes: &[u8], offset: usize) -> String {
    if bytes.len() <= 200 {
        return bytes_text(bytes);
    }
    let from = offset.saturating_sub(16).min(bytes.len());
    let to = (offset + 32).min(bytes.len());
    format!("({} bytes) bytes {from}..{to}: {}", bytes.len(), bytes_text(&bytes[from..to]))
}
