//! Rust vs Erlang, side by side: the ETF codec against OTP's own `term_to_binary/1` and `binary_to_term/1`
//! on the same corpus (see `corpus/mod.rs`).
//!
//! Run with `cargo bench -p erlnode-etf --bench vs_erlang` (about a minute). It builds the corpus, writes each
//! term's encoding to a temporary directory as `<case>.etf`, compiles `benches/erlang/etf_bench.erl` there
//! with `erlc` and starts it with `erl`, so Erlang measures the identical term (and reports whether its own
//! `term_to_binary/1` reproduces the Rust encoding byte for byte). The Erlang node then serves measurement
//! requests over stdin, so the two sides take turns: for each case and operation, a Rust measurement and
//! the matching Erlang one run back to back (Erlang first in every other round), in `ROUNDS` rounds, and
//! each side keeps its best round. Load from elsewhere on a shared machine thus falls on both sides alike.
//!
//! Both sides measure the same way: a batch size calibrated to take at least 1% of the run, a warm-up of a
//! third of it, then whole batches for `ETF_BENCH_SECS` seconds (default 0.15; seven rounds give each
//! operation a second of timed running per side). Results are kept alive (`black_box` in Rust, carried
//! through the loop in Erlang) and the cost of freeing them is included (drop in Rust, garbage collection
//! in Erlang).
//!
//! The table gives, per case and operation, Rust and Erlang operations per second (best rounds), their
//! ratio, the range of the ratios within single rounds (how much the noise moves it), and throughput over
//! the encoded size. Rust has two decodes, `Term::decode` (from `&[u8]`, binaries copied out) and
//! `Term::decode_bytes` (from `Bytes`, binaries share the input); both are set against Erlang's one
//! `binary_to_term/1`. The 1 MiB binary is also set against a measured 1 MiB memcpy. Then come the targets
//! from the issue, each marked met or missed. Without `erl` on the `PATH` the Erlang column reads n/a and
//! the Rust figures still print.
//!
//! Under `cargo test --benches` (no `--bench` argument) it only checks, quickly, that the corpus
//! round-trips.

mod corpus;

use std::fmt::Write as _;
use std::fs;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use erlnode_erltest::TempDir;
use erlnode_erltest::serve::{Reply, Serve, Server};
use erlnode_etf::Term;

use corpus::{BINARY_LEN, Case, Kind};

/// Seconds per timed run unless `ETF_BENCH_SECS` says otherwise.
const DEFAULT_SECS: f64 = 0.15;

/// Measurement rounds; each side keeps its best.
const ROUNDS: usize = 7;

/// How long the Erlang side may take to start or to answer one request.
const ERLANG_TIMEOUT: Duration = Duration::from_secs(30);

/// The ratio target for small and map-heavy terms.
const TARGET_RATIO: f64 = 2.0;

const ERLANG_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/erlang/etf_bench.erl");

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Encode,
    Decode,
    DecodeBytes,
}

impl Op {
    const ALL: [Op; 3] = [Op::Encode, Op::Decode, Op::DecodeBytes];

    fn label(self) -> &'static str {
        match self {
            Op::Encode => "encode",
            Op::Decode => "decode(&[u8])",
            Op::DecodeBytes => "decode_bytes",
        }
    }

    /// The Erlang operation it is compared with.
    fn erlang(self) -> &'static str {
        match self {
            Op::Encode => "encode",
            Op::Decode | Op::DecodeBytes => "decode",
        }
    }
}

/// Operations per second, one figure per round, per (case, operation).
#[derive(Default)]
struct Samples(Vec<(String, &'static str, Vec<f64>)>);

impl Samples {
    fn record(&mut self, case: &str, op: &'static str, ops: f64) {
        match self.0.iter_mut().find(|r| r.0 == case && r.1 == op) {
            Some(rounds) => rounds.2.push(ops),
            None => self.0.push((case.to_string(), op, vec![ops])),
        }
    }

    fn rounds(&self, case: &str, op: &str) -> &[f64] {
        self.0.iter().find(|r| r.0 == case && r.1 == op).map_or(&[], |r| &r.2)
    }

    /// The best round.
    fn best(&self, case: &str, op: &str) -> Option<f64> {
        self.rounds(case, op).iter().copied().reduce(f64::max)
    }
}

fn main() {
    let cases = corpus::corpus();
    if !std::env::args().any(|a| a == "--bench") {
        smoke(&cases);
        return;
    }
    let secs = std::env::var("ETF_BENCH_SECS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(DEFAULT_SECS);
    let budget = Duration::from_secs_f64(secs);
    let started = Instant::now();

    let mut erlang = ErlangNode::start(&cases);
    let mut rust = Samples::default();
    let mut erl = Samples::default();

    for round in 0..ROUNDS {
        eprintln!("vs_erlang: round {}/{ROUNDS} ({secs} s per run)", round + 1);
        let erlang_first = round % 2 == 1;
        for case in &cases {
            for op in Op::ALL {
                // Erlang has one decode; it runs beside the first of Rust's two.
                let with_erlang = op != Op::DecodeBytes;
                if erlang_first && with_erlang {
                    erlang_turn(&mut erlang, &mut erl, case.name, op.erlang(), secs);
                }
                rust.record(case.name, op.label(), measure_rust(case, op, budget));
                if !erlang_first && with_erlang {
                    erlang_turn(&mut erlang, &mut erl, case.name, op.erlang(), secs);
                }
            }
        }
        let (memcpy, alloc_copy) = measure_memcpy(budget);
        rust.record("memcpy", "", memcpy);
        rust.record("alloc_copy", "", alloc_copy);
    }
    let erlang = erlang.map(ErlangNode::stop);

    print_report(&cases, &rust, erlang.as_ref().map(|facts| (facts, &erl)));
    println!("\n(total time {:.1} s)", started.elapsed().as_secs_f64());
}

/// One Erlang measurement, or the end of the Erlang column if the node fails.
fn erlang_turn(node: &mut Result<ErlangNode, String>, samples: &mut Samples, case: &str, op: &'static str, secs: f64) {
    if let Ok(n) = node {
        match n.measure(case, op, secs) {
            Ok(ops) => samples.record(case, op, ops),
            Err(why) => {
                eprintln!("vs_erlang: Erlang side failed: {why}");
                *node = Err(why);
            }
        }
    }
}

/// Without `--bench` (as under `cargo test --benches`): check that every case round-trips and that the
/// binary decodes zero-copy from `Bytes`.
fn smoke(cases: &[Case]) {
    for case in cases {
        let shared = Bytes::from(case.etf.clone());
        assert_eq!(Term::decode(&case.etf).expect("decodes"), case.term, "{}", case.name);
        let shared_term = Term::decode_bytes(&shared).expect("decodes");
        assert_eq!(shared_term, case.term, "{}", case.name);
        if let Term::Binary(b) = &shared_term {
            assert_eq!(b.as_ptr(), shared[6..].as_ptr(), "binary decoded from Bytes shares the input");
        }
    }
    println!("vs_erlang: corpus round-trips; run `cargo bench -p erlnode-etf --bench vs_erlang` to measure");
}

/// Operations per second of `op`: a batch size calibrated to take at least 1% of `budget` (1 ms at least),
/// a warm-up of a third of `budget`, then one run of whole batches lasting `budget`. `erlang/etf_bench.erl`
/// does exactly the same.
fn measure(budget: Duration, mut op: impl FnMut()) -> f64 {
    let min_batch = (budget / 100).max(Duration::from_millis(1));
    let mut batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            op();
        }
        if start.elapsed() >= min_batch {
            break;
        }
        batch *= 2;
    }
    run_for(&mut op, batch, budget / 3);
    run_for(&mut op, batch, budget)
}

fn run_for(op: &mut impl FnMut(), batch: u64, budget: Duration) -> f64 {
    let start = Instant::now();
    let mut done = 0u64;
    loop {
        for _ in 0..batch {
            op();
        }
        done += batch;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return done as f64 / elapsed.as_secs_f64();
        }
    }
}

fn measure_rust(case: &Case, op: Op, budget: Duration) -> f64 {
    let term = &case.term;
    let etf = case.etf.as_slice();
    let shared = Bytes::from(case.etf.clone());
    match op {
        Op::Encode => measure(budget, || {
            black_box(black_box(term).encode().expect("encodes"));
        }),
        Op::Decode => measure(budget, || {
            black_box(Term::decode(black_box(etf)).expect("decodes"));
        }),
        Op::DecodeBytes => measure(budget, || {
            black_box(Term::decode_bytes(black_box(&shared)).expect("decodes"));
        }),
    }
}

/// The reference points for the 1 MiB binary: a plain copy into a warm buffer, and allocation plus copy
/// (what any decode that does not share its input has to do).
fn measure_memcpy(budget: Duration) -> (f64, f64) {
    let src = vec![0x5Au8; BINARY_LEN];
    let mut dst = vec![0u8; BINARY_LEN];
    let memcpy = measure(budget, || {
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
    });
    let alloc_copy = measure(budget, || {
        black_box(black_box(&src).to_vec());
    });
    (memcpy, alloc_copy)
}

/// What the Erlang node reported about itself and the corpus.
struct ErlangFacts {
    info: Vec<(String, String)>,
    /// (case, etf size, whether term_to_binary reproduced the bytes)
    cases: Vec<(String, usize, bool)>,
}

/// A running `etf_bench` node, answering measurement requests.
struct ErlangNode {
    server: Server,
    facts: ErlangFacts,
}

impl ErlangNode {
    /// Writes the corpus into a temporary directory, compiles `etf_bench` there and starts it; an error
    /// says why there is no Erlang column.
    fn start(cases: &[Case]) -> Result<ErlangNode, String> {
        let dir = TempDir::try_new("erlnode-etf-vs-erlang").map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let mut index = String::new();
        for case in cases {
            let path = dir.join(format!("{}.etf", case.name));
            fs::write(&path, &case.etf).map_err(|e| format!("writing {}: {e}", path.display()))?;
            index.push_str(case.name);
            index.push('\n');
        }
        fs::write(dir.join("cases.txt"), index).map_err(|e| format!("writing the corpus index: {e}"))?;
        let server = Serve::new(ERLANG_SOURCE).arg(dir.path()).timeout(ERLANG_TIMEOUT).start(dir)?;
        let mut facts = ErlangFacts { info: Vec::new(), cases: Vec::new() };
        server.read_reply(|fields, _| {
            Ok(match fields {
                ["ETF_BENCH_INFO", key, value] => {
                    facts.info.push((key.to_string(), value.trim_matches('"').to_string()));
                    Reply::More
                }
                ["ETF_BENCH_CASE", name, size, same] => {
                    facts.cases.push((name.to_string(), size.parse().unwrap_or(0), *same == "same"));
                    Reply::More
                }
                ["ETF_BENCH_READY"] => Reply::Done(()),
                _ => Reply::Other,
            })
        })?;
        Ok(ErlangNode { server, facts })
    }

    /// One Erlang measurement of `op` (`encode` or `decode`) on `case`: operations per second.
    fn measure(&mut self, case: &str, op: &str, secs: f64) -> Result<f64, String> {
        self.server.request(&format!("run {case} {op} {secs}"), |fields, line| match fields {
            ["ETF_BENCH_RESULT", c, o, ops] if *c == case && *o == op => {
                ops.parse().map(Reply::Done).map_err(|_| format!("bad result line: {line}"))
            }
            ["ETF_BENCH_ERROR", ..] => Err(line.to_string()),
            _ => Ok(Reply::Other),
        })
    }

    /// Stops the node (killing it if it does not quit) and keeps what it reported.
    fn stop(self) -> ErlangFacts {
        self.server.stop();
        self.facts
    }
}

fn print_report(cases: &[Case], rust: &Samples, erlang: Result<(&ErlangFacts, &Samples), &String>) {
    let rust_ops = |case: &str, op: Op| rust.best(case, op.label()).unwrap_or(0.0);
    let erl_ops = |case: &str, op: Op| erlang.ok().and_then(|(_, erl)| erl.best(case, op.erlang()));
    // The ratio within each round (the two sides ran back to back), as a measure of the noise.
    let spread = |case: &str, op: Op| {
        let erl = erlang.ok().map_or(&[][..], |(_, erl)| erl.rounds(case, op.erlang()));
        let ratios = rust.rounds(case, op.label()).iter().zip(erl).map(|(r, e)| r / e);
        match (ratios.clone().reduce(f64::min), ratios.reduce(f64::max)) {
            (Some(lo), Some(hi)) => format!("{lo:.2}-{hi:.2}"),
            _ => "n/a".to_string(),
        }
    };
    let memcpy = rust.best("memcpy", "").unwrap_or(0.0);
    let alloc_copy = rust.best("alloc_copy", "").unwrap_or(0.0);

    println!();
    println!("erlnode-etf vs Erlang/OTP: ETF codec operations per second (best of {ROUNDS} interleaved rounds)");
    println!("size_of::<Term>() = {} bytes", std::mem::size_of::<Term>());
    match erlang {
        Ok((facts, _)) => {
            let info: Vec<String> = facts.info.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("Erlang: {}", info.join(" "));
            for case in cases {
                match facts.cases.iter().find(|c| c.0 == case.name) {
                    Some((_, _, true)) => {}
                    Some((_, size, false)) => println!(
                        "WARNING: OTP's term_to_binary of {} differs from Term::encode ({size} vs {} bytes)",
                        case.name,
                        case.etf.len()
                    ),
                    None => println!("WARNING: Erlang did not report {}", case.name),
                }
            }
            if facts.cases.len() == cases.len() && facts.cases.iter().all(|c| c.2) {
                println!("Check: OTP's term_to_binary/1 reproduces Term::encode byte for byte on every case.");
            }
        }
        Err(why) => println!("Erlang column unavailable: {why}"),
    }

    println!();
    println!("Rust/Erl is best against best; \"per round\" is the range of the ratios within each round.");
    let header = format!(
        "{:<18} {:<14} {:>9} {:>12} {:>12} {:>8} {:>13} {:>14} {:>14}  {}",
        "case",
        "op",
        "ETF bytes",
        "Rust ops/s",
        "Erlang ops/s",
        "Rust/Erl",
        "per round",
        "Rust MB/s",
        "Erlang MB/s",
        "target"
    );
    println!("{header}");
    println!("{}", "-".repeat(header.len() + 24));
    let na = || "n/a".to_string();
    for case in cases {
        let size = case.etf.len() as f64;
        for op in Op::ALL {
            let r = rust_ops(case.name, op);
            let e = erl_ops(case.name, op);
            let ratio = e.map(|e| r / e);
            let mbs = |ops: f64| if case.kind == Kind::Small { "-".to_string() } else { mb_text(ops * size) };
            let target = match (case.kind, op) {
                (Kind::Small | Kind::MapHeavy, _) => {
                    format!(">= {TARGET_RATIO}x Erlang: {}", ratio.map_or("n/a", |x| verdict(x >= TARGET_RATIO)))
                }
                (Kind::Binary, Op::DecodeBytes) => {
                    format!(">= memcpy (zero-copy): {}", verdict(r * size >= memcpy * BINARY_LEN as f64))
                }
                _ => String::new(),
            };
            println!(
                "{:<18} {:<14} {:>9} {:>12} {:>12} {:>8} {:>13} {:>14} {:>14}  {}",
                case.name,
                op.label(),
                case.etf.len(),
                ops_text(r),
                e.map_or_else(na, ops_text),
                ratio.map_or_else(na, |x| format!("{x:.2}x")),
                spread(case.name, op),
                mbs(r),
                e.map_or_else(na, mbs),
                target
            );
        }
    }
    for (label, ops) in [("memcpy 1 MiB", memcpy), ("alloc+copy 1 MiB", alloc_copy)] {
        println!(
            "{:<18} {:<14} {:>9} {:>12} {:>12} {:>8} {:>13} {:>14} {:>14}  reference",
            label,
            "(Rust)",
            BINARY_LEN,
            ops_text(ops),
            "",
            "",
            "",
            mb_text(ops * BINARY_LEN as f64),
            ""
        );
    }

    println!();
    println!("Targets from the issue:");
    println!(
        "  \"at least 2x Erlang's throughput on decode and encode of the small and map-heavy terms, and memcpy \
         speed on the 1 MB binary (zero-copy)\""
    );
    let mut met = 0;
    let mut total = 0;
    for case in cases.iter().filter(|c| matches!(c.kind, Kind::Small | Kind::MapHeavy)) {
        for op in Op::ALL {
            let r = rust_ops(case.name, op);
            let line = match erl_ops(case.name, op) {
                Some(e) => {
                    total += 1;
                    let ok = r / e >= TARGET_RATIO;
                    met += usize::from(ok);
                    let rounds = spread(case.name, op);
                    format!(
                        "{:>6.2}x Erlang  (per round {rounds})  (target >= {TARGET_RATIO}x)  {}",
                        r / e,
                        verdict(ok)
                    )
                }
                None => "Erlang n/a".to_string(),
            };
            println!("  {:<18} {:<14} {line}", case.name, op.label());
        }
    }
    if let Some(bin) = cases.iter().find(|c| c.kind == Kind::Binary) {
        let memcpy_bps = memcpy * BINARY_LEN as f64;
        println!("  1 MiB binary against a memcpy of 1 MiB ({} MB/s):", mb_text(memcpy_bps));
        for op in Op::ALL {
            let bps = rust_ops(bin.name, op) * bin.etf.len() as f64;
            let note = match op {
                Op::DecodeBytes => {
                    total += 1;
                    met += usize::from(bps >= memcpy_bps);
                    format!("(target >= 1x: zero-copy)  {}", verdict(bps >= memcpy_bps))
                }
                Op::Decode => "(copies out of &[u8] by contract: alloc+copy is its ceiling)".to_string(),
                Op::Encode => "(copies into a fresh Vec: alloc+copy is its ceiling)".to_string(),
            };
            println!("  {:<18} {:<14} {:>9.2}x memcpy  {note}", bin.name, op.label(), bps / memcpy_bps);
        }
        println!("  {:<18} {:<14} {:>9.2}x memcpy  (reference)", "alloc+copy 1 MiB", "", alloc_copy / memcpy);
    }
    println!("  => {met} of {total} targets met");
}

fn verdict(ok: bool) -> &'static str {
    if ok { "MET" } else { "MISSED" }
}

fn ops_text(ops: f64) -> String {
    if ops >= 1e6 {
        format!("{:.2}M", ops / 1e6)
    } else if ops >= 1e3 {
        format!("{:.1}k", ops / 1e3)
    } else {
        format!("{ops:.1}")
    }
}

/// Megabytes (10^6 bytes) per second, grouped in thousands.
fn mb_text(bytes_per_sec: f64) -> String {
    let mb = (bytes_per_sec / 1e6).round() as u64;
    let digits = mb.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        let _ = out.write_char(ch);
    }
    out
}
