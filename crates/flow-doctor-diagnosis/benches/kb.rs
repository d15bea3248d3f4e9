//! Knowledge-base throughput on the labelled corpus: parsing failure text
//! into a report, and matching a parsed report against every pattern.
//!
//! `cargo bench -p flow-doctor-diagnosis --bench kb`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use flow_doctor_diagnosis::input::report_from_text;
use flow_doctor_diagnosis::kb::KnowledgeBase;

fn corpus() -> Vec<String> {
    let mut out = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).expect("corpus dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "txt") {
                let raw = std::fs::read_to_string(&path).expect("corpus file");
                if let Some((_, text)) = raw.split_once("\n---\n") {
                    out.push(text.to_string());
                }
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let texts = corpus();
    let kb = KnowledgeBase::new().expect("built-in library");
    let reports: Vec<_> = texts.iter().map(|t| report_from_text("bench", t)).collect();
    let mut group = c.benchmark_group("knowledge_base");
    group.bench_function("match_report/corpus", |b| {
        b.iter(|| {
            for r in &reports {
                black_box(kb.match_report(black_box(r)));
            }
        })
    });
    group.bench_function("parse_and_match/corpus", |b| {
        b.iter(|| {
            for t in &texts {
                let r = report_from_text("bench", black_box(t));
                black_box(kb.match_report(&r));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
