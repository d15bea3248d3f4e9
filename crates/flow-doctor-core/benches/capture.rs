//! Capture-path benchmarks: the tracing layer's emit (enqueue) cost and the
//! cost of `report()` on the calling thread, plus the full pipeline latency
//! for a duplicate and a distinct failure on the in-memory store.
//!
//! `cargo bench -p flow-doctor-core --bench capture --features tracing`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use flow_doctor_core::{FlowDoctor, MemoryStore, Severity};
use tracing_subscriber::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("orders.csv has no column `amount` (row {0})")]
struct MissingColumn(u64);

fn engine(capacity: usize) -> FlowDoctor {
    FlowDoctor::builder("bench")
        .store(Arc::new(MemoryStore::new()))
        .queue_capacity(capacity)
        .build()
        .expect("engine")
}

fn layer_emit(c: &mut Criterion) {
    // Steady state: bursts of up to 1,000 events, each into a queue with
    // room (the worker drains it between bursts, untimed). A storm deeper
    // than the inline event slots is `emit_latency storm`.
    const BURST: u64 = 1_000;
    c.bench_function("layer_emit_enqueue", |b| {
        let fd = engine(BURST as usize * 2);
        let subscriber =
            tracing_subscriber::registry().with(flow_doctor_core::tracing_layer::layer(&fd));
        tracing::subscriber::with_default(subscriber, || {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let burst = left.min(BURST);
                    let start = Instant::now();
                    for i in 0..burst {
                        tracing::error!(target: "etl::load", table = "orders", row = i, "load failed");
                    }
                    elapsed += start.elapsed();
                    left -= burst;
                    fd.flush(Duration::from_secs(600));
                }
                elapsed
            })
        });
        assert_eq!(fd.stats().dropped, 0, "every event was enqueued");
    });
}

fn report_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("report_call");
    group.bench_function("duplicate", |b| {
        b.iter_custom(|iters| {
            let fd = engine(iters as usize + 16);
            let start = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(fd.report(&MissingColumn(7)));
            }
            let elapsed = start.elapsed();
            fd.flush(Duration::from_secs(600));
            elapsed
        })
    });
    group.bench_function("distinct", |b| {
        b.iter_custom(|iters| {
            let fd = engine(iters as usize + 16);
            let start = Instant::now();
            for i in 0..iters {
                std::hint::black_box(fd.report_message(
                    Severity::Error,
                    format!("failure kind {}", i.wrapping_mul(2654435761)),
                ));
            }
            let elapsed = start.elapsed();
            fd.flush(Duration::from_secs(600));
            elapsed
        })
    });
    group.finish();
}

fn pipeline_latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline_memory");
    let fd = engine(1 << 16);
    group.bench_function("duplicate", |b| {
        b.iter(|| fd.report(&MissingColumn(7)).wait(Duration::from_secs(10)))
    });
    let mut n = 0u64;
    group.bench_function("distinct", |b| {
        b.iter(|| {
            n += 1;
            fd.report_message(Severity::Error, format!("distinct failure {}", hex(n)))
                .wait(Duration::from_secs(10))
        })
    });
    group.finish();
}

/// Letters only, so message normalisation does not fold the numbers away.
fn hex(n: u64) -> String {
    format!("{n:x}")
        .chars()
        .map(|c| (b'g' + c.to_digit(16).unwrap_or(0) as u8) as char)
        .collect()
}

criterion_group!(benches, layer_emit, report_call, pipeline_latency);
criterion_main!(benches);
