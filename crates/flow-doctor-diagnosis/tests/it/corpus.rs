//! The labelled corpus under `tests/corpus/`: offline accuracy and coverage
//! of the knowledge base on realistic failures.
#![allow(clippy::print_stdout)] // the figures are the point of this test

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flow_doctor_core::Category;
use flow_doctor_diagnosis::input::{report_from_text, with_exit};
use flow_doctor_diagnosis::kb::KnowledgeBase;

struct Case {
    path: PathBuf,
    expect: Category,
    exit: Option<i32>,
    signal: Option<i32>,
    text: String,
}

fn load(dir: &Path, out: &mut Vec<Case>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            load(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let raw = std::fs::read_to_string(&path).unwrap();
        let (header, text) = raw
            .split_once("\n---\n")
            .unwrap_or_else(|| panic!("{}: no `---` after the header", path.display()));
        let mut expect = None;
        let (mut exit, mut signal) = (None, None);
        for line in header.lines() {
            let (k, v) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("{}: bad header line {line:?}", path.display()));
            let v = v.trim();
            match k.trim() {
                "expect" => expect = Some(v.parse::<Category>().unwrap()),
                "exit" => exit = Some(v.parse().unwrap()),
                "signal" => signal = Some(v.parse().unwrap()),
                "note" => {}
                other => panic!("{}: unknown header key {other}", path.display()),
            }
        }
        out.push(Case {
            expect: expect.unwrap_or_else(|| panic!("{}: no `expect:`", path.display())),
            path,
            exit,
            signal,
            text: text.to_string(),
        });
    }
}

#[test]
fn knowledge_base_accuracy_and_coverage_on_the_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut cases = Vec::new();
    load(&root, &mut cases);
    assert!(cases.len() >= 60, "corpus has only {} cases", cases.len());

    let kb = KnowledgeBase::new().unwrap();
    let (mut matched, mut correct) = (0usize, 0usize);
    let mut per_language: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for case in &cases {
        let report = with_exit(
            report_from_text("corpus", &case.text),
            case.exit,
            case.signal,
        );
        let lang = case
            .path
            .parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entry = per_language.entry(lang).or_default();
        entry.0 += 1;
        let rel = case.path.strip_prefix(&root).unwrap().display().to_string();
        match kb.match_report(&report) {
            Some(hit) => {
                matched += 1;
                entry.1 += 1;
                if hit.diagnosis.category == case.expect {
                    correct += 1;
                    entry.2 += 1;
                } else {
                    misses.push(format!(
                        "WRONG     {rel}: expected {}, got {} via `{}`",
                        case.expect, hit.diagnosis.category, hit.pattern
                    ));
                }
            }
            None => misses.push(format!("UNMATCHED {rel}: expected {}", case.expect)),
        }
    }
    let total = cases.len();
    let accuracy = correct as f64 / matched.max(1) as f64;
    let coverage = matched as f64 / total as f64;
    println!("corpus: {total} cases, {matched} matched, {correct} correct");
    println!(
        "accuracy (correct/matched) = {:.1}%, coverage (matched/total) = {:.1}%",
        accuracy * 100.0,
        coverage * 100.0
    );
    for (lang, (n, m, c)) in &per_language {
        println!("  {lang:<8} {n:>3} cases, {m:>3} matched, {c:>3} correct");
    }
    for m in &misses {
        println!("  {m}");
    }
    assert!(accuracy >= 0.85, "accuracy {accuracy:.3} < 0.85");
    assert!(coverage >= 0.90, "coverage {coverage:.3} < 0.90");
}
