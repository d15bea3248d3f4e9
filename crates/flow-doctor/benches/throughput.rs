//! End-to-end throughput into SQLite: reports submitted to an engine over a
//! real WAL SQLite file (with the JSON-lines sink as the notifier, so every
//! fired report is also delivered) until the worker has finished all of them.
//!
//! `cargo bench -p flow-doctor --bench throughput`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flow_doctor::storage::SqliteStore;
use flow_doctor::{FlowDoctor, Severity, Store};

/// Reports per measured batch.
const BATCH: u64 = 500;

struct Bench {
    _dir: tempfile::TempDir,
    fd: FlowDoctor,
}

fn engine() -> Bench {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(dir.path().join("bench.db"), Duration::from_secs(30)).expect("sqlite"),
    );
    let sink = flow_doctor::notifiers::JsonlNotifier::new(dir.path().join("reports.jsonl"));
    let fd = FlowDoctor::builder("bench")
        .store(store)
        .notifier(Arc::new(sink))
        .queue_capacity(BATCH as usize * 4)
        .build()
        .expect("engine");
    Bench { _dir: dir, fd }
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_end_to_end");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    group.bench_function("distinct", |b| {
        let bench = engine();
        let mut seq = 0u64;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                for _ in 0..BATCH {
                    seq += 1;
                    bench.fd.report_message(
                        Severity::Error,
                        format!("loader failed on table t_{} ({})", hex(seq), seq),
                    );
                }
                assert!(bench.fd.flush(Duration::from_secs(600)), "drained");
                total += start.elapsed();
            }
            total
        })
    });
    group.bench_function("duplicate", |b| {
        let bench = engine();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                for _ in 0..BATCH {
                    bench
                        .fd
                        .report_message(Severity::Error, "loader failed on table orders");
                }
                assert!(bench.fd.flush(Duration::from_secs(600)), "drained");
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

/// Letters, so that the fingerprint's number masking keeps reports distinct.
fn hex(n: u64) -> String {
    let mut s = String::new();
    let mut n = n;
    loop {
        s.push(char::from(b'g' + (n % 16) as u8));
        n /= 16;
        if n == 0 {
            return s;
        }
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
