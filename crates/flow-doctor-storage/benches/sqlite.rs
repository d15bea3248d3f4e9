//! `SqliteStore` throughput: claim of a new signature (the distinct path),
//! claim of a repeat (the duplicate path) and `record_decision`, each a
//! full async call through `Arc<dyn Store>` (spawn_blocking included) on a
//! real file in WAL mode.
//!
//! `cargo bench -p flow-doctor-storage --bench sqlite`

use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use flow_doctor_core::model::{Decision, DecisionKind, Id, Report, ReportKind, Severity};
use flow_doctor_core::{Claim, Store};
use flow_doctor_storage::SqliteStore;

const COOLDOWN: Duration = Duration::from_secs(3600);

fn report(signature: String) -> Report {
    let mut r = Report::new("bench", Severity::Error, ReportKind::Error, "boom");
    r.error_type = Some("KeyError".into());
    r.signature = signature;
    r
}

fn sqlite(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(dir.path().join("bench.db"), Duration::from_secs(10)).expect("open"),
    );

    let mut group = c.benchmark_group("sqlite");
    group.throughput(Throughput::Elements(1));

    let mut n = 0u64;
    group.bench_function("claim_new_signature", |b| {
        b.iter_batched(
            || {
                n += 1;
                report(format!("distinct-{n}"))
            },
            |r| {
                let claim = rt.block_on(store.claim(&r, COOLDOWN)).expect("claim");
                assert_eq!(claim, Claim::New);
            },
            BatchSize::SmallInput,
        )
    });

    let first = report("duplicate".into());
    rt.block_on(store.claim(&first, COOLDOWN)).expect("claim");
    group.bench_function("claim_duplicate", |b| {
        b.iter_batched(
            || report("duplicate".into()),
            |r| {
                let claim = rt.block_on(store.claim(&r, COOLDOWN)).expect("claim");
                assert!(matches!(claim, Claim::Duplicate { .. }));
            },
            BatchSize::SmallInput,
        )
    });

    group.bench_function("record_decision", |b| {
        b.iter_batched(
            || Decision {
                id: Id::new(),
                report_id: Id::new(),
                incident_id: first.id.clone(),
                flow: "bench".into(),
                signature: "duplicate".into(),
                kind: DecisionKind::Deduped,
                reason: "repeat within the cooldown".into(),
                channels: Vec::new(),
                at: chrono::Utc::now(),
            },
            |d| rt.block_on(store.record_decision(&d)).expect("record"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, sqlite);
criterion_main!(benches);
