//! Criterion benchmarks of the ETF codec on a realistic corpus (see `corpus/mod.rs`): distribution control
//! messages, a ~1 KB map-heavy message, a 1 MiB binary and two 100,000-element lists.
//!
//! For every case it measures [`Term::encode`], [`Term::decode`] (from `&[u8]`, binaries copied out) and
//! [`Term::decode_bytes`] (from [`Bytes`], binaries share the input), each reported as throughput over the
//! encoded size. Times include dropping the result, as a real consumer pays for it. The `binary_1m` group
//! adds two reference points to judge "memcpy speed" by: `memcpy` (a 1 MiB `copy_from_slice` into a warm
//! buffer) and `alloc_copy` (`to_vec` of 1 MiB: allocation plus copy, what a copying decode must do).
//!
//! Run with `cargo bench -p erlnode-etf --bench codec` (about three minutes; add `-- binary_1m` to select a
//! group, or `-- --quick` for a fast pass). Benchmark ids are `<case>/<op>`, e.g. `map_1k/decode_bytes`.
//! For the side-by-side comparison with OTP's `term_to_binary/1` and `binary_to_term/1`, see the
//! `vs_erlang` bench.

mod corpus;

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use erlnode_etf::Term;

use corpus::{BINARY_LEN, Kind};

fn codec(c: &mut Criterion) {
    for case in corpus::corpus() {
        let mut group = c.benchmark_group(case.name);
        group.throughput(Throughput::Bytes(case.etf.len() as u64));
        match case.kind {
            Kind::Small | Kind::MapHeavy => {
                group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
            }
            Kind::Binary | Kind::LargeList => {
                group.measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1)).sample_size(30);
            }
        }

        let term = &case.term;
        let etf = case.etf.as_slice();
        let shared = Bytes::from(case.etf.clone());
        group.bench_function("encode", |b| b.iter(|| black_box(term).encode().expect("encodes")));
        group.bench_function("decode", |b| b.iter(|| Term::decode(black_box(etf)).expect("decodes")));
        group.bench_function("decode_bytes", |b| b.iter(|| Term::decode_bytes(black_box(&shared)).expect("decodes")));

        if case.kind == Kind::Binary {
            // The reference points, with the payload size as throughput.
            group.throughput(Throughput::Bytes(BINARY_LEN as u64));
            let src = vec![0x5Au8; BINARY_LEN];
            let mut dst = vec![0u8; BINARY_LEN];
            group.bench_function("memcpy", |b| {
                b.iter(|| {
                    dst.copy_from_slice(black_box(&src));
                    black_box(&mut dst);
                })
            });
            group.bench_function("alloc_copy", |b| b.iter(|| black_box(&src).to_vec()));
        }
        group.finish();
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
