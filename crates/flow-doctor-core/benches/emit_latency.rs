//! Per-call latency distribution of the tracing layer's emit when
//! enqueuing (median, p99, p99.9), which criterion's per-sample means do not
//! show. Each call is timed on its own; the clock read (measured and printed)
//! is included in the figures.
//!
//! `cargo bench -p flow-doctor-core --bench emit_latency --features tracing`
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use flow_doctor_core::{FlowDoctor, MemoryStore};
use tracing_subscriber::prelude::*;

const CALLS: usize = 1_000_000;

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn main() {
    let fd = FlowDoctor::builder("bench")
        .store(Arc::new(MemoryStore::new()))
        .queue_capacity(CALLS + 16)
        .build()
        .expect("engine");
    let subscriber =
        tracing_subscriber::registry().with(flow_doctor_core::tracing_layer::layer(&fd));
    let mut samples = Vec::with_capacity(CALLS);
    let mut clock_cost = Vec::with_capacity(10_000);
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..10_000 {
            let t = Instant::now();
            clock_cost.push(t.elapsed().as_nanos() as u64);
        }
        for i in 0..CALLS {
            let t = Instant::now();
            tracing::error!(target: "etl::load", table = "orders", row = i, "load failed");
            samples.push(t.elapsed().as_nanos() as u64);
        }
    });
    let stats = fd.stats();
    fd.flush(Duration::from_secs(600));
    samples.sort_unstable();
    clock_cost.sort_unstable();
    println!(
        "tracing layer emit, {CALLS} calls, every event enqueued (dropped: {})",
        stats.dropped
    );
    println!("  median  {:>6} ns", percentile(&samples, 0.5));
    println!("  p90     {:>6} ns", percentile(&samples, 0.9));
    println!("  p99     {:>6} ns", percentile(&samples, 0.99));
    println!("  p99.9   {:>6} ns", percentile(&samples, 0.999));
    println!(
        "  (clock read alone: median {} ns)",
        percentile(&clock_cost, 0.5)
    );
}
