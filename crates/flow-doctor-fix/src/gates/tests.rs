//! Unit tests: every gate refuses, and a good request passes them all.

use flow_doctor_core::model::{Diagnosis, Report, ReportKind, Severity};

use super::*;

fn meta(category: Category, confidence: f64, root: &str, files: &[&str]) -> IssueMetadata {
    let mut r = Report::new("etl", Severity::Error, ReportKind::Error, "boom");
    r.signature = "sig1".into();
    let mut d = Diagnosis::new(category, root, confidence);
    d.affected_files = files.iter().map(|s| s.to_string()).collect();
    IssueMetadata::new(&r, Some(&d))
}

fn good() -> IssueMetadata {
    meta(Category::Code, 0.93, "add() subtracts", &["calc.py"])
}

fn cfg() -> AutoFixConfig {
    let mut c = AutoFixConfig::default();
    c.enabled = true;
    c.test_command = Some("python3 -m unittest".into());
    c
}

fn step(r: Result<(), Refusal>) -> &'static str {
    r.map(|()| "passed").unwrap_or_else(|r| r.step)
}

#[test]
fn a_good_request_passes_at_the_default_threshold() {
    assert_eq!(step(check(&good(), &cfg(), &[], false)), "passed");
    // Exactly at the threshold passes: the 0.90 gate is reachable.
    let at = meta(Category::Code, 0.90, "x", &["a.py"]);
    assert_eq!(step(check(&at, &cfg(), &[], false)), "passed");
}

#[test]
fn disabled_and_missing_test_command() {
    let mut c = cfg();
    c.enabled = false;
    assert_eq!(step(check(&good(), &c, &[], false)), "enabled");
    let mut c = cfg();
    c.test_command = Some("  ".into());
    assert_eq!(step(check(&good(), &c, &[], false)), "test_command");
    c.test_command = None;
    assert_eq!(step(check(&good(), &c, &[], false)), "test_command");
}

#[test]
fn categories() {
    for c in [Category::External, Category::Infra] {
        let r = check(&meta(c, 0.99, "x", &["a.py"]), &cfg(), &[], false).unwrap_err();
        assert_eq!(r.step, "category");
        assert!(r.reason.contains(c.as_str()), "{}", r.reason);
    }
    let mut m = good();
    m.category = None;
    assert_eq!(step(check(&m, &cfg(), &[], false)), "category");
    for c in [Category::Code, Category::Data, Category::Transient] {
        assert_eq!(
            step(check(&meta(c, 0.99, "x", &["a.py"]), &cfg(), &[], false)),
            "passed"
        );
    }
}

#[test]
fn confidence_below_threshold_or_missing() {
    let r = check(
        &meta(Category::Code, 0.62, "x", &["a.py"]),
        &cfg(),
        &[],
        false,
    )
    .unwrap_err();
    assert_eq!(r.step, "confidence");
    assert!(
        r.reason.contains("0.62") && r.reason.contains("0.90"),
        "{}",
        r.reason
    );
    let mut m = good();
    m.confidence = None;
    assert_eq!(step(check(&m, &cfg(), &[], false)), "confidence");
    let mut c = cfg();
    c.confidence_threshold = 0.5;
    assert_eq!(
        step(check(
            &meta(Category::Code, 0.62, "x", &["a.py"]),
            &c,
            &[],
            false
        )),
        "passed"
    );
}

#[test]
fn config_failures_about_credentials() {
    for (root, files) in [
        ("The database password is wrong", vec!["settings.py"]),
        ("GITHUB token expired", vec!["settings.py"]),
        ("Missing API key for the vendor", vec!["settings.py"]),
        ("reads secrets from the vault", vec!["settings.py"]),
        ("the .env file lacks DB_URL", vec!["settings.py"]),
        ("wrong setting", vec![".env"]),
        (
            "wrong setting",
            vec!["deploy/prod.env.local", "config/.env.prod"],
        ),
        ("wrong setting", vec!["certs/client.pem"]),
        ("wrong setting", vec!["config/credentials.yaml"]),
        ("DB_PASSWORD is not set", vec!["settings.py"]),
        ("GITHUB_TOKEN expired", vec!["settings.py"]),
        ("OPENAI_API_KEY is missing", vec!["settings.py"]),
        ("AWS_SECRET_ACCESS_KEY is invalid", vec!["settings.py"]),
        ("settings.dbPassword is empty", vec!["settings.py"]),
        ("the vendor apiKey was revoked", vec!["settings.py"]),
        ("SLACK_WEBHOOK_SECRET2 rotated", vec!["settings.py"]),
    ] {
        let r = check(
            &meta(Category::Config, 0.95, root, &files),
            &cfg(),
            &[],
            false,
        );
        assert_eq!(step(r), "credentials", "{root} {files:?}");
    }
    // Not about credentials, or not CONFIG.
    for (cat, root, file) in [
        (
            Category::Config,
            "batch_size must be positive",
            "settings.py",
        ),
        (
            Category::Config,
            "the environment name is wrong",
            "environment.py",
        ),
        (Category::Code, "token parser fails on a comma", "lexer.py"),
        (
            Category::Config,
            "TOKENIZER_THREADS must be positive",
            "settings.py",
        ),
        (Category::Config, "the keyboard layout is unset", "ui.py"),
        (Category::Config, "primaryKey is not a column", "schema.py"),
    ] {
        let r = check(&meta(cat, 0.95, root, &[file]), &cfg(), &[], false);
        assert_eq!(step(r), "passed", "{root}");
    }
}

#[test]
fn previous_failed_or_successful_attempts_block_refused_and_dry_runs_do_not() {
    let prior = |status, sig: &str| PriorAttempt {
        signature: sig.into(),
        status,
        step: "tests".into(),
        at: None,
        pr_url: Some("https://example.test/pr/1".into()),
    };
    let r = check(&good(), &cfg(), &[prior(FixStatus::Failed, "sig1")], false).unwrap_err();
    assert_eq!(r.step, "previous_attempt");
    assert!(
        r.reason.contains("`tests`") && r.reason.contains("--retry-failed"),
        "{}",
        r.reason
    );
    let r = check(
        &good(),
        &cfg(),
        &[prior(FixStatus::Succeeded, "sig1")],
        true,
    )
    .unwrap_err();
    assert!(
        r.reason.contains("https://example.test/pr/1"),
        "{}",
        r.reason
    );
    for ok in [
        vec![
            prior(FixStatus::Refused, "sig1"),
            prior(FixStatus::DryRun, "sig1"),
        ],
        vec![prior(FixStatus::Failed, "other")],
    ] {
        assert_eq!(step(check(&good(), &cfg(), &ok, false)), "passed");
    }
    // An explicit retry lets a failed attempt through, once a person asks.
    assert_eq!(
        step(check(
            &good(),
            &cfg(),
            &[prior(FixStatus::Failed, "sig1")],
            true
        )),
        "passed"
    );
}

#[test]
fn no_affected_files() {
    let m = meta(Category::Code, 0.95, "x", &[]);
    assert_eq!(step(check(&m, &cfg(), &[], false)), "affected_files");
    let m = meta(Category::Code, 0.95, "x", &[" "]);
    assert_eq!(step(check(&m, &cfg(), &[], false)), "affected_files");
}

#[test]
fn a_title_naming_a_secret_refuses_a_config_fix_whatever_the_root_cause_says() {
    let generic = meta(
        Category::Config,
        0.95,
        "A required environment variable is not set",
        &["settings.py"],
    );
    assert!(
        check(&generic, &cfg(), &[], false).is_ok(),
        "the root cause alone passes"
    );
    let r = check_title(&generic, "[etl] KeyError: 'DB_PASSWORD'").unwrap_err();
    assert_eq!(r.step, "credentials");
    assert!(r.reason.contains("`PASSWORD`"), "{}", r.reason);
    assert!(check_title(&generic, "[etl] KeyError: 'BATCH_SIZE'").is_ok());
    let code = meta(Category::Code, 0.95, "off by one", &["calc.py"]);
    assert!(
        check_title(&code, "[etl] TokenError: bad token").is_ok(),
        "only CONFIG failures"
    );
}
