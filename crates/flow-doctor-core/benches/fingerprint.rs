//! Parse + signature of typical tracebacks.
//!
//! Run with `cargo bench -p flow-doctor-core --bench fingerprint`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flow_doctor_core::fingerprint::{fingerprint, parse};

const PYTHON: &str = include_str!("../tests/fixtures/tracebacks/python_chained.txt");
const RUST: &str = include_str!("../tests/fixtures/tracebacks/rust_backtrace.txt");

fn parse_and_sign(text: &str) -> String {
    let failure = parse(text);
    fingerprint(
        failure.error_type.as_deref(),
        &failure.frames,
        &failure.message,
    )
    .signature
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("fingerprint");
    for (name, text) in [("python_traceback", PYTHON), ("rust_backtrace", RUST)] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| b.iter(|| parse_and_sign(black_box(text))));
    }
    // A 1 MB log whose failure is at the end, as `flow-doctor run` sees stderr.
    let noise = "2024-05-02T03:00:01Z INFO etl.load: processed batch 17 of 9000 in 35ms\n";
    let log = format!("{}{PYTHON}", noise.repeat((1 << 20) / noise.len()));
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.bench_function("python_in_1mb_log", |b| {
        b.iter(|| parse_and_sign(black_box(&log)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
