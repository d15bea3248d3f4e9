//! The knowledge base as a `Diagnoser` over a real store: learned patterns,
//! hit counts, feedback, and the chain in front of an LLM.

use std::sync::Arc;

use flow_doctor_core::testing::ScriptedDiagnoser;
use flow_doctor_core::{
    Category, Claim, DiagnoseContext, DiagnoseOutcome, Diagnoser, Diagnosis, DiagnosisSource,
    Error, MemoryStore, PatternOrigin, Report, ReportKind, Scrubber, Severity, Store, SystemClock,
    Verdict,
};
use flow_doctor_diagnosis::feedback::{LEARNED_CONFIDENCE, learned_pattern_name};
use flow_doctor_diagnosis::{ChainDiagnoser, KnowledgeBase, apply_feedback};

fn ctx(store: Arc<MemoryStore>) -> DiagnoseContext {
    DiagnoseContext {
        store,
        clock: Arc::new(SystemClock),
        scrubber: Arc::new(Scrubber::new()),
    }
}

fn report(signature: &str, error_type: &str, message: &str) -> Report {
    let mut r = Report::new("billing", Severity::Error, ReportKind::Error, message);
    r.error_type = Some(error_type.into());
    r.signature = signature.into();
    r
}

async fn stored(store: &MemoryStore, r: &Report) {
    let claim = store.claim(r, std::time::Duration::ZERO).await.unwrap();
    assert_eq!(claim, Claim::New);
}

#[tokio::test]
async fn builtin_hits_are_counted_in_the_store() {
    let store = Arc::new(MemoryStore::new());
    let kb = KnowledgeBase::new().unwrap();
    let r = report("sig-a", "OSError", "[Errno 28] No space left on device");
    for _ in 0..2 {
        let out = kb.diagnose(&r, &ctx(store.clone())).await.unwrap();
        let DiagnoseOutcome::Diagnosed(d) = out else {
            panic!("{out:?}")
        };
        assert_eq!(d.category, Category::Infra);
        assert_eq!(d.pattern.as_deref(), Some("disk-full-typed"));
    }
    let rows = store.patterns().await.unwrap();
    let row = rows.iter().find(|p| p.name == "disk-full-typed").unwrap();
    assert_eq!(row.origin, PatternOrigin::Builtin);
    assert_eq!(row.hit_count, 2);
    assert!(row.last_seen.is_some());
    assert!(row.signature.is_none(), "mirrors never match by signature");
}

#[tokio::test]
async fn confirmed_feedback_teaches_the_knowledge_base() {
    let store = Arc::new(MemoryStore::new());
    let kb = KnowledgeBase::new().unwrap();
    // A failure no built-in pattern knows.
    let r = report(
        "3fa2c1d9e8b7a6f5",
        "finance.errors.ReconciliationError",
        "ledger GL-4410 off by 1250.00",
    );
    stored(&store, &r).await;
    assert_eq!(
        kb.diagnose(&r, &ctx(store.clone())).await.unwrap(),
        DiagnoseOutcome::NoMatch
    );

    // An LLM diagnosed it; a person confirms.
    let mut d = Diagnosis::new(Category::Data, "The bank feed missed a refund.", 0.8);
    d.source = DiagnosisSource::Llm;
    d.remediation = "Re-pull the feed.".into();
    store.save_diagnosis(&r.id, &d).await.unwrap();
    let fb = apply_feedback(
        store.as_ref(),
        &r.id,
        Verdict::Confirmed,
        Some("right".into()),
    )
    .await
    .unwrap();
    assert_eq!(fb.signature, r.signature);
    assert_eq!(store.feedback_for(&r.id).await.unwrap(), vec![fb]);

    let learned = store
        .pattern_for_signature(&r.signature)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(learned.name, learned_pattern_name(&r.signature));
    assert_eq!(learned.origin, PatternOrigin::Feedback);

    // The next occurrence is diagnosed offline from the learned pattern.
    let next = report(
        &r.signature,
        "finance.errors.ReconciliationError",
        "ledger GL-9 off by 3.00",
    );
    let DiagnoseOutcome::Diagnosed(d) = kb.diagnose(&next, &ctx(store.clone())).await.unwrap()
    else {
        panic!("learned pattern did not match");
    };
    assert_eq!(d.category, Category::Data);
    assert_eq!(d.root_cause, "The bank feed missed a refund.");
    assert_eq!(d.remediation, "Re-pull the feed.");
    assert_eq!(d.confidence, LEARNED_CONFIDENCE);
    assert_eq!(d.source, DiagnosisSource::KnowledgeBase);
    assert_eq!(d.pattern.as_deref(), Some(learned.name.as_str()));
    let after = store
        .pattern_for_signature(&r.signature)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.hit_count, 1);
}

#[tokio::test]
async fn corrected_feedback_overrides_even_a_builtin_match() {
    let store = Arc::new(MemoryStore::new());
    let kb = KnowledgeBase::new().unwrap();
    let r = report(
        "feedcafe0001",
        "TypeError",
        "can only concatenate str (not \"int\") to str",
    );
    stored(&store, &r).await;
    let out = kb.diagnose(&r, &ctx(store.clone())).await.unwrap();
    assert!(matches!(out, DiagnoseOutcome::Diagnosed(ref d) if d.category == Category::Code));

    apply_feedback(
        store.as_ref(),
        &r.id,
        Verdict::Corrected {
            category: Category::Data,
            root_cause: "The partner now sends `amount` as a number.".into(),
        },
        None,
    )
    .await
    .unwrap();
    let saved = store.get_diagnosis(&r.id).await.unwrap().unwrap();
    assert_eq!(saved.source, DiagnosisSource::Human);
    let DiagnoseOutcome::Diagnosed(d) = kb.diagnose(&r, &ctx(store.clone())).await.unwrap() else {
        panic!()
    };
    assert_eq!(d.category, Category::Data);
    assert!(d.root_cause.contains("partner now sends"));
}

#[tokio::test]
async fn feedback_errors_say_why() {
    let store = Arc::new(MemoryStore::new());
    let missing = flow_doctor_core::Id::new();
    let err = apply_feedback(store.as_ref(), &missing, Verdict::Confirmed, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Permanent { .. }));
    assert!(
        err.chain_string().contains("no incident with id"),
        "{}",
        err.chain_string()
    );

    let r = report("abc", "Boom", "boom");
    stored(&store, &r).await;
    let err = apply_feedback(store.as_ref(), &r.id, Verdict::Confirmed, None)
        .await
        .unwrap_err();
    assert!(err.chain_string().contains("has no diagnosis to confirm"));
    // A rejection is recorded and teaches nothing.
    apply_feedback(
        store.as_ref(),
        &r.id,
        Verdict::Rejected,
        Some("wrong".into()),
    )
    .await
    .unwrap();
    assert_eq!(store.feedback_for(&r.id).await.unwrap().len(), 1);
    assert!(store.pattern_for_signature("abc").await.unwrap().is_none());
}

#[tokio::test]
async fn a_knowledge_base_hit_never_reaches_the_llm() {
    let store = Arc::new(MemoryStore::new());
    let llm = ScriptedDiagnoser::answer(Diagnosis::new(Category::Code, "llm says", 0.5));
    let chain = ChainDiagnoser::new(vec![
        Arc::new(KnowledgeBase::new().unwrap()),
        Arc::new(llm.clone()),
    ]);
    assert_eq!(chain.name(), "knowledge_base+scripted");
    let hit = report(
        "s1",
        "ConnectionRefusedError",
        "[Errno 111] Connection refused",
    );
    let DiagnoseOutcome::Diagnosed(d) = chain.diagnose(&hit, &ctx(store.clone())).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(d.source, DiagnosisSource::KnowledgeBase);
    assert!(llm.calls().is_empty());

    let miss = report("s2", "InvoiceTotalMismatch", "totals differ");
    let DiagnoseOutcome::Diagnosed(d) = chain.diagnose(&miss, &ctx(store.clone())).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(d.root_cause, "llm says");
    assert_eq!(llm.calls().len(), 1);
}

#[tokio::test]
async fn skipped_passes_on_and_is_reported_when_nothing_answers() {
    let store = Arc::new(MemoryStore::new());
    let skip = ScriptedDiagnoser::outcomes([Ok(DiagnoseOutcome::Skipped {
        reason: "daily LLM diagnosis cap reached: 3/3".into(),
    })]);
    let chain = ChainDiagnoser::new(vec![
        Arc::new(KnowledgeBase::new().unwrap()),
        Arc::new(skip),
    ]);
    let miss = report("s3", "InvoiceTotalMismatch", "totals differ");
    let out = chain.diagnose(&miss, &ctx(store)).await.unwrap();
    assert_eq!(
        out,
        DiagnoseOutcome::Skipped {
            reason: "daily LLM diagnosis cap reached: 3/3".into()
        }
    );
}

#[test]
fn from_config_follows_enabled_and_provider() {
    let mut cfg = flow_doctor_core::Config::new("etl");
    assert_eq!(
        flow_doctor_diagnosis::from_config(&cfg)
            .unwrap()
            .unwrap()
            .name(),
        "knowledge_base"
    );
    cfg.diagnosis.enabled = false;
    assert!(flow_doctor_diagnosis::from_config(&cfg).unwrap().is_none());
    cfg.diagnosis.enabled = true;
    cfg.diagnosis.provider = flow_doctor_core::config::LlmProvider::Anthropic;
    // No key: a configuration error at start-up, not at the first failure.
    let err = flow_doctor_diagnosis::from_config(&cfg).err().unwrap();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    cfg.diagnosis.api_key = Some(flow_doctor_core::config::Secret::new("k"));
    #[cfg(feature = "anthropic")]
    assert_eq!(
        flow_doctor_diagnosis::from_config(&cfg)
            .unwrap()
            .unwrap()
            .name(),
        "knowledge_base+anthropic"
    );
}
