//! Unit tests of the knowledge base: the built-in library, matching and pattern files.

use flow_doctor_core::{ExitInfo, ReportKind, Severity};

use super::pattern::type_regex_ok;
use super::*;

fn report(error_type: Option<&str>, message: &str) -> Report {
    let mut r = Report::new("etl", Severity::Error, ReportKind::Error, message);
    r.error_type = error_type.map(str::to_string);
    r
}

#[test]
fn builtin_library_compiles_and_confidences_follow_specificity() {
    let patterns = builtin_patterns().expect("built-in library is valid");
    assert!(
        patterns.len() >= 60,
        "only {} built-in patterns",
        patterns.len()
    );
    for p in patterns {
        let band = p.specificity().band();
        assert!(
            band.contains(&p.confidence),
            "pattern `{}` ({:?}) has confidence {} outside {:?}",
            p.spec.name,
            p.specificity(),
            p.confidence,
            band
        );
        assert!(
            !p.spec.remediation.is_empty(),
            "`{}` has no remediation",
            p.spec.name
        );
    }
    for c in Category::ALL {
        assert!(
            patterns.iter().any(|p| p.spec.category == c),
            "no built-in pattern for {c}"
        );
    }
}

#[test]
fn type_regex_compiles() {
    assert!(type_regex_ok());
}

#[test]
fn qualified_types_match_by_last_segment() {
    let kb = KnowledgeBase::new().unwrap();
    let r = report(
        Some("requests.exceptions.ConnectionError"),
        "HTTPConnectionPool(host='db', port=5432): Max retries exceeded (Caused by NewConnectionError('[Errno 111] Connection refused'))",
    );
    let hit = kb.match_report(&r).unwrap();
    assert_eq!(hit.pattern, "connection-refused-typed");
    assert_eq!(hit.diagnosis.category, Category::Infra);
    assert!(hit.diagnosis.confidence >= 0.8);
    assert_eq!(hit.origin, PatternOrigin::Builtin);
}

#[test]
fn types_are_found_in_the_chain_and_ruby_suffix() {
    let kb = KnowledgeBase::new().unwrap();
    let mut r = report(
        Some("org.springframework.jdbc.CannotGetJdbcConnectionException"),
        "Failed to obtain JDBC Connection",
    );
    r.source_chain = vec!["java.net.ConnectException: Connection refused".into()];
    assert_eq!(
        kb.match_report(&r).unwrap().pattern,
        "connection-refused-typed"
    );

    let r = report(
        None,
        "app/jobs/sync.rb:12:in `call': undefined method `strip' for nil (NoMethodError)",
    );
    let hit = kb.match_report(&r).unwrap();
    assert_eq!(hit.pattern, "ruby-nil");
    assert_eq!(hit.diagnosis.category, Category::Code);
}

#[test]
fn exit_status_patterns_use_report_exit() {
    let kb = KnowledgeBase::new().unwrap();
    let mut r = report(None, "process exited");
    assert!(kb.match_report(&r).is_none());
    r.exit = Some(ExitInfo {
        command: "python etl.py".into(),
        code: None,
        signal: Some(9),
        timed_out: false,
        duration_ms: 10,
    });
    let hit = kb.match_report(&r).unwrap();
    assert_eq!(hit.pattern, "killed-sigkill");
    assert_eq!(hit.diagnosis.category, Category::Infra);
}

#[test]
fn env_var_keyerror_beats_generic_keyerror() {
    let kb = KnowledgeBase::new().unwrap();
    let mut r = report(Some("KeyError"), "'WAREHOUSE_DSN'");
    r.traceback = Some(
        "Traceback (most recent call last):\n  File \"etl/load.py\", line 8, in <module>\n    dsn = os.environ[\"WAREHOUSE_DSN\"]\nKeyError: 'WAREHOUSE_DSN'".into(),
    );
    let hit = kb.match_report(&r).unwrap();
    assert_eq!(hit.pattern, "missing-env-var-python-environ");
    assert_eq!(hit.diagnosis.category, Category::Config);
    // Found only in the traceback: a little less sure.
    assert!((hit.diagnosis.confidence - (0.9 - TRACEBACK_ONLY_PENALTY)).abs() < 1e-9);
}

#[test]
fn code_diagnoses_name_relative_in_app_files() {
    let kb = KnowledgeBase::new().unwrap();
    let mut r = report(
        Some("AttributeError"),
        "'NoneType' object has no attribute 'id'",
    );
    r.frames = vec![
        flow_doctor_core::Frame {
            file: "/usr/lib/python3.12/json/__init__.py".into(),
            function: "loads".into(),
            line: Some(3),
            module: None,
            in_app: false,
        },
        flow_doctor_core::Frame {
            file: "etl/transform.py".into(),
            function: "enrich".into(),
            line: Some(41),
            module: None,
            in_app: true,
        },
    ];
    let d = kb.match_report(&r).unwrap().diagnosis;
    assert_eq!(d.category, Category::Code);
    assert_eq!(d.affected_files, vec!["etl/transform.py".to_string()]);
    assert!(d.auto_fixable);
}

#[test]
fn user_patterns_win_over_builtin_and_expand_captures() {
    let yaml = r#"
patterns:
  - name: vendor-feed-late
    message_regex: 'feed (?P<feed>\w+) not delivered'
    category: EXTERNAL
    root_cause: "Vendor feed ${feed} was not delivered"
    remediation: Call the vendor.
"#;
    let user = parse_patterns(yaml, false, "ops.yaml").unwrap();
    assert_eq!(
        user[0].confidence, 0.65,
        "default confidence by specificity"
    );
    let kb = KnowledgeBase::new().unwrap().with_patterns(user).unwrap();
    let r = report(None, "feed prices not delivered: connection refused");
    let hit = kb.match_report(&r).unwrap();
    assert_eq!(hit.origin, PatternOrigin::User);
    assert_eq!(
        hit.diagnosis.root_cause,
        "Vendor feed prices was not delivered"
    );
}

#[test]
fn toml_and_bare_list_files_are_accepted() {
    let toml = r#"
[[patterns]]
name = "exit-3"
exit_code = 3
category = "DATA"
root_cause = "validation step rejected the batch"
confidence = 0.7
"#;
    let p = parse_patterns(toml, true, "p.toml").unwrap();
    assert_eq!(p[0].spec.exit_code, Some(OneOrMany::One(3)));
    let yaml = "- name: a\n  error_type: [Foo, Bar]\n  category: CODE\n  root_cause: x\n";
    let p = parse_patterns(yaml, false, "p.yaml").unwrap();
    assert_eq!(p[0].specificity(), Specificity::TypeOnly);
}

#[test]
fn invalid_user_patterns_name_file_pattern_and_reason() {
    let cases = [
        (
            "- name: bad-re\n  message_regex: '(unclosed'\n  category: CODE\n  root_cause: x\n",
            "bad-re",
            "invalid `message_regex`",
        ),
        (
            "- name: no-matcher\n  category: CODE\n  root_cause: x\n",
            "no-matcher",
            "no matcher",
        ),
        (
            "- name: too-sure\n  error_type: X\n  category: CODE\n  root_cause: x\n  confidence: 1.5\n",
            "too-sure",
            "outside 0.0..=1.0",
        ),
        (
            "- name: twice\n  error_type: FooError\n  category: CODE\n  root_cause: x\n- name: twice\n  error_type: BarError\n  category: CODE\n  root_cause: other\n",
            "twice",
            "duplicate name",
        ),
    ];
    for (text, name, reason) in cases {
        let err = parse_patterns(text, false, "team/patterns.yaml").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Config { .. }), "{msg}");
        assert!(msg.contains("team/patterns.yaml"), "{msg}");
        assert!(msg.contains(name), "{msg}");
        assert!(msg.contains(reason), "{msg}");
    }
    let err = parse_patterns(
        "- name: x\n  category: SOMETIMES\n  root_cause: other\n  error_type: Z\n",
        false,
        "f.yaml",
    )
    .unwrap_err();
    assert!(err.to_string().contains("f.yaml"), "{err}");
}

#[test]
fn unreadable_pattern_file_is_a_config_error_naming_it() {
    let err = KnowledgeBase::new()
        .unwrap()
        .with_pattern_file("/nonexistent/flow-doctor-patterns.yaml")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("/nonexistent/flow-doctor-patterns.yaml")
    );
}

#[test]
fn unknown_failures_do_not_match() {
    let kb = KnowledgeBase::new().unwrap();
    let r = report(
        Some("InvoiceTotalMismatch"),
        "invoice 2024-118 totals 1180.00 but lines sum to 1179.99",
    );
    assert!(kb.match_report(&r).is_none());
}

#[test]
fn missing_files_are_data_or_config_by_path() {
    let kb = KnowledgeBase::new().unwrap();
    let cases = [
        (
            "open /data/incoming/2026-03-01/orders.csv: no such file or directory",
            Category::Data,
        ),
        (
            "open /etc/exporter/config.yaml: no such file or directory",
            Category::Config,
        ),
        ("open state.db: no such file or directory", Category::Config),
    ];
    for (message, want) in cases {
        let hit = kb.match_report(&report(None, message)).unwrap();
        assert_eq!(
            hit.diagnosis.category, want,
            "{message}: via {}",
            hit.pattern
        );
    }
}

/// Asserts that `error_type: message` matches `pattern` with `category`.
fn assert_match(
    kb: &KnowledgeBase,
    error_type: &str,
    message: &str,
    pattern: &str,
    category: Category,
) {
    let hit = kb
        .match_report(&report(Some(error_type), message))
        .unwrap_or_else(|| panic!("no match for {message}"));
    assert_eq!(
        (hit.pattern.as_str(), hit.diagnosis.category),
        (pattern, category),
        "{message}"
    );
}

#[test]
fn python_eof_errors_are_not_network_drops() {
    let kb = KnowledgeBase::new().unwrap();
    for (message, pattern, category) in [
        (
            "EOF when reading a line",
            "stdin-eof-python",
            Category::Config,
        ),
        ("Ran out of input", "pickle-empty-python", Category::Data),
    ] {
        assert_match(&kb, "EOFError", message, pattern, category);
    }
    // A TLS connection cut short is still a transient drop.
    let hit = kb
        .match_report(&report(
            Some("ssl.SSLEOFError"),
            "EOF occurred in violation of protocol (_ssl.c:2427)",
        ))
        .unwrap();
    assert_eq!(
        hit.diagnosis.category,
        Category::Transient,
        "{}",
        hit.pattern
    );
}

#[test]
fn http_statuses_follow_the_documented_categories() {
    let kb = KnowledgeBase::new().unwrap();
    for (error_type, message, pattern, category) in [
        (
            "requests.exceptions.HTTPError",
            "401 Client Error: Unauthorized for url: https://api.example.com/v1/rates",
            "http-401",
            Category::Config,
        ),
        (
            "requests.exceptions.HTTPError",
            "404 Client Error: Not Found for url: https://api.example.com/v1/rates/2026-11-25",
            "http-404-named-service",
            Category::External,
        ),
        (
            "Error",
            "GET https://files.vendor.io/export.csv returned status 404",
            "http-404-named-service",
            Category::External,
        ),
        (
            "AxiosError",
            "Request failed with status code 404",
            "http-404",
            Category::Config,
        ),
        (
            "requests.exceptions.HTTPError",
            "429 Client Error: Too Many Requests for url: https://api.example.com/v1/rates",
            "http-429",
            Category::External,
        ),
        (
            "requests.exceptions.HTTPError",
            "500 Server Error: Internal Server Error for url: https://api.example.com/v1/rates",
            "http-500",
            Category::External,
        ),
        (
            "requests.exceptions.HTTPError",
            "502 Server Error: Bad Gateway for url: https://api.example.com/v1/rates",
            "http-502-504",
            Category::External,
        ),
        (
            "AxiosError",
            "Request failed with status code 504",
            "http-502-504",
            Category::External,
        ),
        (
            "requests.exceptions.HTTPError",
            "503 Server Error: Service Unavailable for url: https://api.example.com/v1/rates",
            "http-503",
            Category::Transient,
        ),
    ] {
        assert_match(&kb, error_type, message, pattern, category);
    }
    let hit = kb
        .match_report(&report(
            Some("requests.exceptions.HTTPError"),
            "404 Client Error: Not Found for url: https://api.example.com/v1/rates",
        ))
        .unwrap();
    assert!(
        hit.diagnosis
            .root_cause
            .contains("(https://api.example.com)"),
        "the service is named: {}",
        hit.diagnosis.root_cause
    );
}
