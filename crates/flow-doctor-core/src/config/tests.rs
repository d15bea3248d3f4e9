//! Unit tests of configuration loading: one per error kind, interpolation,
//! `.env`, fallbacks, validation, redaction and the example file.

use std::path::Path;

use super::interpolate::{InterpolateError, interpolate};
use super::*;
use crate::model::{Category, Severity};

const SLACK_URL: &str = "https://hooks.slack.com/services/T000/B000/slacksecretvalue1";

fn env(vars: &[(&str, &str)]) -> Env {
    Env::from_map(vars.iter().copied())
}

fn yaml_with(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Loader::new().env(env(vars)).load_str(text, Format::Yaml)
}

fn toml_with(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Loader::new().env(env(vars)).load_str(text, Format::Toml)
}

fn yaml(text: &str) -> Result<Config, ConfigError> {
    yaml_with(text, &[])
}

fn yaml_err(text: &str) -> ConfigError {
    match yaml(text) {
        Ok(cfg) => panic!("expected an error, loaded {cfg:?}"),
        Err(e) => e,
    }
}

/// The problem reported for `key`.
fn problem<'a>(err: &'a ConfigError, key: &str) -> &'a ConfigError {
    err.problems()
        .find(|p| p.key.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("no problem at `{key}` in:\n{err}"))
}

fn fix(p: &ConfigError) -> &str {
    p.fix.as_deref().unwrap_or_default()
}

// ---------------------------------------------------------------- basics

#[test]
fn minimal_yaml_gets_every_default() {
    let cfg = yaml("flow_name: etl\n").unwrap();
    assert_eq!(cfg.flow_name, "etl");
    assert_eq!(cfg.dedup.cooldown, HumanDuration::from_mins(60));
    assert_eq!(cfg.store.kind, StoreKind::Sqlite);
    assert_eq!(cfg.capture.queue_capacity, 65_536);
    assert_eq!(cfg.rate_limits.exempt, vec![Severity::Critical]);
    assert!(cfg.notify.is_empty());
    assert_eq!(cfg.remediation.lockouts.len(), 0);
}

#[test]
fn empty_sections_mean_defaults() {
    let cfg = yaml("flow_name: etl\nstore:\ndependencies:\nnotify:\n").unwrap();
    assert_eq!(cfg.store.path, Path::new("flow_doctor.db"));
    assert!(cfg.dependencies.is_empty());
}

#[test]
fn empty_file_misses_flow_name() {
    let err = yaml_err("# nothing here\n");
    assert_eq!(err.key.as_deref(), Some("flow_name"));
    assert!(
        err.message.contains("missing required key `flow_name`"),
        "{err}"
    );
    assert_eq!(err.line, Some(1));
}

#[test]
fn error_display_is_file_line_key_message_fix() {
    let err = ConfigError::new("bad value")
        .in_file("/etc/flow-doctor.yaml")
        .at_line(7)
        .at_key("notify[1].webhook_url")
        .with_fix("set it");
    assert_eq!(
        err.to_string(),
        "/etc/flow-doctor.yaml:7: notify[1].webhook_url: bad value (fix: set it)"
    );
}

// ---------------------------------------------------------- unknown keys

#[test]
fn unknown_top_level_key_suggests_the_right_one() {
    let err = yaml_err("flow_name: etl\nnotfy: []\n");
    let p = problem(&err, "notfy");
    assert_eq!(p.line, Some(2));
    assert!(p.message.contains("unknown key `notfy`"), "{p}");
    assert!(fix(p).contains("did you mean `notify`?"), "{p}");
}

#[test]
fn unknown_nested_key_has_its_path_and_line() {
    let err = yaml_err("flow_name: etl\ndedup:\n  cooldwn: 5m\n");
    let p = problem(&err, "dedup.cooldwn");
    assert_eq!(p.line, Some(3));
    assert!(fix(p).contains("`cooldown`"), "{p}");
}

#[test]
fn unknown_key_inside_a_channel_is_rejected() {
    let text = format!(
        "flow_name: etl\nnotify:\n  - type: slack\n    webhook_url: {SLACK_URL}\n    notify_onn: [error]\n"
    );
    let err = yaml_err(&text);
    let p = problem(&err, "notify[0].notify_onn");
    assert_eq!(p.line, Some(5));
    assert!(fix(p).contains("did you mean `notify_on`?"), "{p}");
}

#[test]
fn key_of_another_channel_type_is_rejected_with_this_types_keys() {
    let text = format!(
        "flow_name: etl\nnotify:\n  - type: slack\n    webhook_url: {SLACK_URL}\n    chat_id: '42'\n"
    );
    let err = yaml_err(&text);
    let p = problem(&err, "notify[0].chat_id");
    assert_eq!(p.line, Some(5));
    assert!(fix(p).contains("webhook_url"), "{p}");
    assert!(!fix(p).contains("smtp_host"), "lists only slack keys: {p}");
}

#[test]
fn every_unknown_key_is_reported_at_once_in_line_order() {
    let err =
        yaml_err("flow_name: etl\nfoo: 1\ncapture:\n  bar: 2\nauto_fix:\n  scope:\n    baz: [x]\n");
    let keys: Vec<_> = err
        .problems()
        .map(|p| p.key.clone().unwrap_or_default())
        .collect();
    assert_eq!(keys, ["foo", "capture.bar", "auto_fix.scope.baz"]);
    let lines: Vec<_> = err.problems().map(|p| p.line.unwrap_or(0)).collect();
    assert_eq!(lines, [2, 4, 7]);
    assert_eq!(err.to_string().lines().count(), 3);
}

#[test]
fn unknown_key_inside_a_channel_is_rejected_by_other_deserializers_too() {
    // serde's flatten + deny_unknown_fields would accept or mis-report this;
    // the channel impls reject it with any deserializer.
    let json = r#"{"type": "slack", "webhook_url": "https://x.example", "bogus": 1}"#;
    let err = serde_json::from_str::<ChannelConfig>(json).unwrap_err();
    assert!(err.to_string().contains("unknown field `bogus`"), "{err}");
    // `type` after other keys takes the buffered path and still works.
    let json =
        r#"{"notify_on": ["critical"], "webhook_url": "https://x.example", "type": "slack"}"#;
    let ch = serde_json::from_str::<ChannelConfig>(json).unwrap();
    assert_eq!(ch.kind(), "slack");
    assert_eq!(ch.route().notify_on, Some(vec![Severity::Critical]));
    let json = r#"{"digest": false, "bogus": 1, "type": "console"}"#;
    assert!(serde_json::from_str::<ChannelConfig>(json).is_err());
}

// ------------------------------------------------- wrong types and values

#[test]
fn wrong_type_names_what_was_expected_and_found() {
    let err = yaml_err("flow_name: etl\ncapture:\n  queue_capacity: lots\n");
    let p = problem(&err, "capture.queue_capacity");
    assert_eq!(p.line, Some(3));
    assert!(p.message.contains("expected a non-negative integer"), "{p}");
    assert!(p.message.contains("`lots`"), "{p}");
}

#[test]
fn a_scalar_where_a_list_belongs_says_how_to_write_a_list() {
    let err = yaml_err("flow_name: etl\nnotify:\n  - type: console\n    notify_on: error\n");
    let p = problem(&err, "notify[0].notify_on");
    assert_eq!(p.line, Some(4));
    assert!(p.message.contains("expected a list"), "{p}");
    assert!(fix(p).contains("[a, b]"), "{p}");
}

#[test]
fn negative_count_is_an_invalid_value() {
    let err = yaml_err("flow_name: etl\nrate_limits:\n  max_alerts_per_day: -1\n");
    let p = problem(&err, "rate_limits.max_alerts_per_day");
    assert!(p.message.contains("invalid value `-1`"), "{p}");
    assert_eq!(p.line, Some(3));
}

#[test]
fn unknown_channel_type_lists_the_valid_ones() {
    let err = yaml_err("flow_name: etl\nnotify:\n  - type: slak\n    webhook_url: x\n");
    let p = problem(&err, "notify[0].type");
    assert_eq!(p.line, Some(3));
    assert!(p.message.contains("unknown value `slak`"), "{p}");
    assert!(fix(p).contains("did you mean `slack`?"), "{p}");
    for kind in CHANNEL_TYPES {
        assert!(fix(p).contains(kind), "{kind} missing from {p}");
    }
}

#[test]
fn channel_without_type_is_an_error() {
    let err = yaml_err("flow_name: etl\nnotify:\n  - webhook_url: x\n");
    assert!(
        err.problems().any(|p| p.message.contains("needs `type`")),
        "{err}"
    );
}

#[test]
fn unknown_severity_and_category_are_errors_with_suggestions() {
    let err = yaml_err(
        "flow_name: etl\nnotify:\n  - type: console\n    notify_on: [eror]\n    notify_on_category: [bug]\n",
    );
    let p = problem(&err, "notify[0].notify_on[0]");
    assert_eq!(p.line, Some(4));
    assert!(fix(p).contains("did you mean `error`?"), "{p}");
    let err =
        yaml_err("flow_name: etl\nnotify:\n  - type: console\n    notify_on_category: [bug]\n");
    let p = problem(&err, "notify[0].notify_on_category[0]");
    assert!(fix(p).contains("TRANSIENT"), "{p}");
}

#[test]
fn enum_values_match_case_insensitively() {
    let cfg = yaml(
        "flow_name: etl\nnotify:\n  - type: Console\n    notify_on: [ERROR, Critical]\n    notify_on_category: [code]\n",
    )
    .unwrap();
    let route = cfg.notify[0].route();
    assert_eq!(
        route.notify_on,
        Some(vec![Severity::Error, Severity::Critical])
    );
    assert_eq!(route.notify_on_category, Some(vec![Category::Code]));
}

#[test]
fn numbers_are_accepted_where_strings_belong_but_floats_must_be_quoted() {
    let cfg = yaml_with(
        "flow_name: etl\nnotify:\n  - type: telegram\n    chat_id: -1001234567890\n",
        &[("TELEGRAM_BOT_TOKEN", "123:abc")],
    )
    .unwrap();
    let ChannelConfig::Telegram(t) = &cfg.notify[0] else {
        panic!("not telegram")
    };
    assert_eq!(t.chat_id, "-1001234567890");
    let err = yaml_err("flow_name: 1.10\n");
    assert!(fix(problem(&err, "flow_name")).contains("quote"), "{err}");
}

// ---------------------------------------------------------- interpolation

#[test]
fn unresolved_variable_names_file_line_variable_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow-doctor.yaml");
    std::fs::write(&path, "flow_name: etl\nrepo: ${REPO_SLUG}\n").unwrap();
    let err = Loader::new()
        .env(Env::empty())
        .load_file(&path)
        .unwrap_err();
    assert_eq!(err.file.as_deref(), Some(path.as_path()));
    assert_eq!(err.line, Some(2));
    assert_eq!(err.key.as_deref(), Some("repo"));
    assert!(err.message.contains("`REPO_SLUG` is not set"), "{err}");
    assert!(fix(&err).contains("export REPO_SLUG"), "{err}");
    assert!(fix(&err).contains("${REPO_SLUG:-default}"), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2: repo: ", path.display()))
    );
}

#[test]
fn every_unresolved_variable_is_reported() {
    let err = yaml_err("flow_name: ${A}\nrepo: ${B}/${C}\n");
    let vars: Vec<_> = err.problems().map(|p| p.message.clone()).collect();
    assert_eq!(vars.len(), 3, "{err}");
    assert!(vars[2].contains("`C`"));
}

#[test]
fn defaults_apply_when_unset_or_empty() {
    let text = "flow_name: ${FLOW:-etl}\nrepo: ${OWNER:-acme}/${NAME-pipes}\n";
    let cfg = yaml(text).unwrap();
    assert_eq!(cfg.flow_name, "etl");
    assert_eq!(cfg.repo.as_deref(), Some("acme/pipes"));
    let cfg = yaml_with(text, &[("FLOW", "ingest"), ("OWNER", ""), ("NAME", "x")]).unwrap();
    assert_eq!(cfg.flow_name, "ingest");
    assert_eq!(cfg.repo.as_deref(), Some("acme/x"));
    // `-` (without `:`) keeps a set-but-empty value.
    assert_eq!(
        interpolate("a${E-b}c", &env(&[("E", "")])).unwrap().text,
        "ac"
    );
    // Defaults may nest.
    assert_eq!(
        interpolate("${A:-${B:-z}}", &env(&[("B", "y")]))
            .unwrap()
            .text,
        "y"
    );
}

#[test]
fn double_dollar_is_a_literal_dollar() {
    let cfg =
        yaml("flow_name: etl\nauto_fix:\n  test_command: echo $${HOME} $$5 and $PATH\n").unwrap();
    assert_eq!(
        cfg.auto_fix.test_command.as_deref(),
        Some("echo ${HOME} $5 and $PATH")
    );
}

#[test]
fn interpolation_syntax_errors_are_reported() {
    assert_eq!(
        interpolate("${NOPE", &Env::empty()).unwrap_err(),
        vec![InterpolateError::Syntax(
            "`${` is not closed with `}`".into()
        )]
    );
    let err = yaml_err("flow_name: ${1BAD}\n");
    assert!(err.message.contains("not a variable reference"), "{err}");
    assert!(fix(&err).contains("$$"), "{err}");
}

#[test]
fn interpolated_values_cannot_break_quoting() {
    let tricky = r#"a: b # not a comment "double" 'single' [x] {y}"#;
    let vars = [("PREFIX", tricky)];
    let text = "flow_name: etl\nnotify:\n  - type: email\n    smtp_host: mail\n    from: a@b.c\n    to: [c@d.e]\n    subject_prefix: ${PREFIX}\n  - type: email\n    name: email-2\n    smtp_host: mail\n    from: a@b.c\n    to: [c@d.e]\n    subject_prefix: \"${PREFIX}\"\n";
    let cfg = yaml_with(text, &vars).unwrap();
    for ch in &cfg.notify {
        let ChannelConfig::Email(e) = ch else {
            panic!()
        };
        assert_eq!(e.subject_prefix.as_deref(), Some(tricky));
    }
    let toml_text = "flow_name = 'etl'\n[[notify]]\ntype = 'email'\nsmtp_host = 'mail'\nfrom = 'a@b.c'\nto = ['c@d.e']\nsubject_prefix = \"${PREFIX}\"\n";
    let cfg = toml_with(toml_text, &vars).unwrap();
    let ChannelConfig::Email(e) = &cfg.notify[0] else {
        panic!()
    };
    assert_eq!(e.subject_prefix.as_deref(), Some(tricky));
}

#[test]
fn interpolated_text_is_read_as_numbers_and_booleans() {
    let text = "flow_name: etl\nrate_limits:\n  max_alerts_per_day: ${ALERTS:-7}\ncapture:\n  success_pings: ${PINGS}\nremediation:\n  auto_remediate_threshold: ${T}\n";
    let cfg = yaml_with(text, &[("PINGS", "true"), ("T", "0.75")]).unwrap();
    assert_eq!(cfg.rate_limits.max_alerts_per_day, 7);
    assert!(cfg.capture.success_pings);
    assert_eq!(cfg.remediation.auto_remediate_threshold, 0.75);
    // TOML strings work the same way.
    let cfg = toml_with(
        "flow_name = 'etl'\n[capture]\nring_size = \"${RING}\"\n",
        &[("RING", "9")],
    )
    .unwrap();
    assert_eq!(cfg.capture.ring_size, 9);
}

#[test]
fn a_wrong_interpolated_value_is_not_echoed() {
    let token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
    let err = yaml_with(
        "flow_name: etl\nrate_limits:\n  max_alerts_per_day: ${GITHUB_TOKEN}\n",
        &[("GITHUB_TOKEN", token)],
    )
    .unwrap_err();
    assert_eq!(err.key.as_deref(), Some("rate_limits.max_alerts_per_day"));
    assert!(!err.to_string().contains("ghp_"), "{err}");
    assert!(err.message.contains("from the environment"), "{err}");
}

#[test]
fn an_empty_interpolated_optional_is_unset_and_falls_back() {
    let cfg = yaml_with(
        "flow_name: etl\ngithub:\n  token: ${MY_TOKEN:-}\n",
        &[("GH_TOKEN", "gh-fallback")],
    )
    .unwrap();
    assert_eq!(
        cfg.github.token.as_ref().map(Secret::expose),
        Some("gh-fallback")
    );
}

#[test]
fn comments_and_keys_are_not_interpolated() {
    let cfg = yaml("flow_name: etl # ${NOT_A_VAR}\n# ${ALSO_NOT}\n").unwrap();
    assert_eq!(cfg.flow_name, "etl");
}

// ------------------------------------------------------------------- .env

#[test]
fn dotenv_next_to_the_file_fills_unset_variables_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flow-doctor.yaml"),
        "flow_name: ${FLOW}\nrepo: ${REPO}\nnotify:\n  - type: slack\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "# comment\n\nexport FLOW=from-dotenv\nREPO='acme/dotenv'  \nSLACK_WEBHOOK_URL=\"{SLACK_URL}\" # inline comment\n"
        ),
    )
    .unwrap();
    let loader = Loader::new().current_dir(dir.path());
    let cfg = loader
        .clone()
        .env(env(&[("REPO", "acme/from-env")]))
        .load(None)
        .unwrap();
    assert_eq!(cfg.flow_name, "from-dotenv");
    assert_eq!(
        cfg.repo.as_deref(),
        Some("acme/from-env"),
        "environment wins"
    );
    let ChannelConfig::Slack(s) = &cfg.notify[0] else {
        panic!()
    };
    assert_eq!(s.webhook_url.as_ref().map(Secret::expose), Some(SLACK_URL));
}

#[test]
fn dotenv_syntax() {
    let vars = parse_dotenv(
        "A=1\nexport B = two words \nC='lit $X \\n'\nD=\"esc\\tq\\\"\\n\"\nE=\"multi\nline\"\nF=\nG=x#not-comment\nH=y # comment\n",
    )
    .unwrap();
    assert_eq!(vars["A"], "1");
    assert_eq!(vars["B"], "two words");
    assert_eq!(vars["C"], "lit $X \\n");
    assert_eq!(vars["D"], "esc\tq\"\n");
    assert_eq!(vars["E"], "multi\nline");
    assert_eq!(vars["F"], "");
    assert_eq!(vars["G"], "x#not-comment");
    assert_eq!(vars["H"], "y");
}

#[test]
fn dotenv_errors_name_the_file_and_line_without_the_value() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow-doctor.yaml"), "flow_name: etl\n").unwrap();
    std::fs::write(dir.path().join(".env"), "OK=1\nsecret-token-value\n").unwrap();
    let err = Loader::new()
        .env(Env::empty())
        .load_file(&dir.path().join("flow-doctor.yaml"))
        .unwrap_err();
    assert_eq!(err.file.as_deref(), Some(dir.path().join(".env").as_path()));
    assert_eq!(err.line, Some(2));
    assert!(!err.to_string().contains("secret-token-value"), "{err}");
    let err = parse_dotenv("A=\"open\n").unwrap_err();
    assert!(err.message.contains("no closing"), "{err}");
}

// ------------------------------------------------------------ credentials

#[test]
fn missing_channel_credentials_name_the_key_and_the_variables() {
    let err = yaml_err(
        "flow_name: etl\nnotify:\n  - type: slack\n  - type: telegram\n    chat_id: '@ops'\n  - type: email\n    smtp_host: mail\n    username: me\n    from: a@b.c\n    to: [d@e.f]\n  - type: github\n",
    );
    let p = problem(&err, "notify[0].webhook_url");
    assert_eq!(p.line, Some(3), "the channel's line");
    assert!(
        fix(p).contains("FLOW_DOCTOR_SLACK_WEBHOOK_URL or SLACK_WEBHOOK_URL"),
        "{p}"
    );
    let p = problem(&err, "notify[1].bot_token");
    assert!(fix(p).contains("TELEGRAM_BOT_TOKEN"), "{p}");
    let p = problem(&err, "notify[2].password");
    assert!(
        fix(p).contains("FLOW_DOCTOR_SMTP_PASSWORD, SMTP_PASSWORD")
            || fix(p).contains("FLOW_DOCTOR_SMTP_PASSWORD or SMTP_PASSWORD"),
        "{p}"
    );
    let p = problem(&err, "notify[3].token");
    assert!(
        fix(p).contains("GITHUB_TOKEN") && fix(p).contains("GH_TOKEN"),
        "{p}"
    );
    let p = problem(&err, "notify[3].repo");
    assert!(fix(p).contains("owner/name"), "{p}");
}

#[test]
fn email_without_username_needs_no_password() {
    yaml("flow_name: etl\nnotify:\n  - type: email\n    smtp_host: localhost\n    security: none\n    from: a@b.c\n    to: [d@e.f]\n").unwrap();
}

#[test]
fn fallback_precedence_file_then_flow_doctor_then_common_names() {
    let all = [
        ("FLOW_DOCTOR_GITHUB_TOKEN", "t-fd"),
        ("GITHUB_TOKEN", "t-gh"),
        ("GH_TOKEN", "t-cli"),
    ];
    let text = "flow_name: etl\nrepo: acme/app\nnotify:\n  - type: github\n";
    let token = |cfg: &Config| match &cfg.notify[0] {
        ChannelConfig::Github(g) => g.token.as_ref().map(|t| t.expose().to_owned()),
        _ => None,
    };
    let cfg = yaml_with(text, &all).unwrap();
    assert_eq!(token(&cfg).as_deref(), Some("t-fd"));
    assert_eq!(cfg.github.token.as_ref().map(Secret::expose), Some("t-fd"));
    assert_eq!(
        token(&yaml_with(text, &all[1..]).unwrap()).as_deref(),
        Some("t-gh")
    );
    assert_eq!(
        token(&yaml_with(text, &all[2..]).unwrap()).as_deref(),
        Some("t-cli")
    );
    // Empty variables are ignored.
    let cfg = yaml_with(
        text,
        &[("FLOW_DOCTOR_GITHUB_TOKEN", ""), ("GH_TOKEN", "t-cli")],
    )
    .unwrap();
    assert_eq!(token(&cfg).as_deref(), Some("t-cli"));
    // github.token beats the environment; the channel's own beats both.
    let text2 = "flow_name: etl\nrepo: acme/app\ngithub:\n  token: t-file\nnotify:\n  - type: github\n  - type: github\n    name: github-other\n    token: t-own\n    repo: acme/other\n";
    let cfg = yaml_with(text2, &all).unwrap();
    assert_eq!(token(&cfg).as_deref(), Some("t-file"));
    let ChannelConfig::Github(g) = &cfg.notify[1] else {
        panic!()
    };
    assert_eq!(g.token.as_ref().map(Secret::expose), Some("t-own"));
    assert_eq!(g.repo.as_deref(), Some("acme/other"));
    let ChannelConfig::Github(g) = &cfg.notify[0] else {
        panic!()
    };
    assert_eq!(g.repo.as_deref(), Some("acme/app"), "top-level repo");
}

#[test]
fn llm_key_falls_back_by_provider() {
    let text = |p: &str| format!("flow_name: etl\ndiagnosis:\n  provider: {p}\n  model: m\n");
    let key = |cfg: Config| cfg.diagnosis.api_key.map(|k| k.expose().to_owned());
    let vars = [("ANTHROPIC_API_KEY", "k-ant"), ("OPENAI_API_KEY", "k-oai")];
    assert_eq!(
        key(yaml_with(&text("anthropic"), &vars).unwrap()).as_deref(),
        Some("k-ant")
    );
    assert_eq!(
        key(yaml_with(&text("openai"), &vars).unwrap()).as_deref(),
        Some("k-oai")
    );
    let with_fd = [("FLOW_DOCTOR_LLM_API_KEY", "k-fd"), vars[0], vars[1]];
    assert_eq!(
        key(yaml_with(&text("openai"), &with_fd).unwrap()).as_deref(),
        Some("k-fd")
    );
    let err = yaml_with(&text("openai"), &[("ANTHROPIC_API_KEY", "k-ant")]).unwrap_err();
    let p = problem(&err, "diagnosis.api_key");
    assert!(
        fix(p).contains("FLOW_DOCTOR_LLM_API_KEY or OPENAI_API_KEY"),
        "{p}"
    );
    // A local OpenAI-compatible endpoint needs no key.
    let local = "flow_name: etl\ndiagnosis:\n  provider: openai\n  model: llama3\n  base_url: http://localhost:11434/v1\n";
    assert!(yaml(local).unwrap().diagnosis.api_key.is_none());
}

#[test]
fn provider_without_model_is_an_error_with_an_example() {
    let err = yaml_with(
        "flow_name: etl\ndiagnosis:\n  provider: anthropic\n",
        &[("ANTHROPIC_API_KEY", "k")],
    )
    .unwrap_err();
    let p = problem(&err, "diagnosis.model");
    assert_eq!(
        p.line,
        Some(2),
        "the closest key present: the `diagnosis:` section"
    );
    assert!(fix(p).contains("claude"), "{p}");
}

// ------------------------------------------------------------- validation

#[test]
fn bad_regex_is_reported_with_its_line() {
    let err = yaml_err(
        "flow_name: etl\nscrub:\n  patterns:\n    - name: tok\n      regex: 'abc(['\n    - name: all\n      regex: '.*'\n",
    );
    let p = problem(&err, "scrub.patterns[0].regex");
    assert_eq!(p.line, Some(5));
    assert!(p.message.contains("invalid regular expression"), "{p}");
    let p = problem(&err, "scrub.patterns[1].regex");
    assert!(p.message.contains("empty string"), "{p}");
}

#[test]
fn bad_durations_are_reported() {
    let err = yaml_err("flow_name: etl\ndedup:\n  cooldown: 10w\n");
    let p = problem(&err, "dedup.cooldown");
    assert_eq!(p.line, Some(3));
    assert!(p.message.contains("unknown unit `w`"), "{p}");
    let err = yaml_err("flow_name: etl\ndiagnosis:\n  timeout: 0s\nstore:\n  busy_timeout: 0\n");
    assert!(problem(&err, "diagnosis.timeout").message.contains("0"));
    assert_eq!(problem(&err, "store.busy_timeout").line, Some(5));
    // SQLite takes at most ~24 days, and any wait near that is a stuck job.
    let err = yaml_err("flow_name: etl\nstore:\n  busy_timeout: 25d\n");
    let p = problem(&err, "store.busy_timeout");
    assert_eq!(p.line, Some(3));
    assert!(p.message.contains("at most 1h allowed"), "{p}");
    assert!(p.to_string().contains("e.g. `5s`"), "{p}");
    yaml("flow_name: etl\nstore:\n  busy_timeout: 1h\n").unwrap();
    let err = yaml_err("flow_name: etl\ndedup:\n  cooldown: -5\n");
    assert!(problem(&err, "dedup.cooldown").message.contains("negative"));
    // A zero cooldown (no dedup) and cascade window (no cascades) are allowed.
    let cfg = yaml("flow_name: etl\ndedup:\n  cooldown: 0\ncascade_window: 0s\n").unwrap();
    assert!(cfg.dedup.cooldown.get().is_zero());
}

#[test]
fn retention_days_zero_keeps_forever_and_bad_values_are_reported() {
    let cfg = yaml("flow_name: etl\n").unwrap();
    assert_eq!(cfg.store.retention_days, 90);
    assert_eq!(
        cfg.store.retention(),
        Some(std::time::Duration::from_secs(90 * 86_400))
    );
    let cfg = yaml("flow_name: etl\nstore:\n  retention_days: 0\n").unwrap();
    assert_eq!(cfg.store.retention(), None, "0 keeps everything");

    let err = yaml_err("flow_name: etl\nstore:\n  retention_days: 100000\n");
    let p = problem(&err, "store.retention_days");
    assert_eq!(p.line, Some(3));
    assert!(p.message.contains("36500"), "{p}");
    assert!(fix(p).contains("0 to keep everything"), "{p}");

    let err = yaml_err("flow_name: etl\nstore:\n  retention_days: 1\ndedup:\n  cooldown: 2d\n");
    let p = problem(&err, "store.retention_days");
    assert!(p.message.contains("shorter than `dedup.cooldown`"), "{p}");

    let err = yaml_err("flow_name: etl\nstore:\n  retention_days: -1\n");
    assert!(
        problem(&err, "store.retention_days")
            .message
            .contains("negative"),
        "{err}"
    );
}

#[test]
fn thresholds_must_be_between_zero_and_one() {
    let err = yaml_err(
        "flow_name: etl\nremediation:\n  auto_remediate_threshold: 1.5\nauto_fix:\n  confidence_threshold: -0.1\n",
    );
    assert_eq!(err.problems().count(), 2, "{err}");
    assert_eq!(
        problem(&err, "remediation.auto_remediate_threshold").line,
        Some(3)
    );
    assert_eq!(problem(&err, "auto_fix.confidence_threshold").line, Some(5));
}

#[test]
fn every_invalid_value_is_reported_at_once() {
    let text = "\
flow_name: 'my flow'
repo: not-a-repo
dependencies: [my flow]
capture:
  queue_capacity: 0
  ring_size: 1000000
  ring_level: error
diagnosis:
  max_daily_cost_usd: -1
  input_price_per_mtok: -0.5
  base_url: ftp://example.com
github:
  base_url: https://
remediation:
  deny_repos: [acme]
  lockouts:
    - start: '25:00'
      end: '9:3'
      days: [mon-fri, funday]
auto_fix:
  enabled: true
  max_daily_cost_usd: -5
  scope:
    allow: ['']
notify:
  - type: email
    smtp_host: smtp://mail
    from: nobody
    to: []
  - type: webhook
    url: not a url
    headers:
      Bad Header: x
  - type: telegram
    bot_token: t
    chat_id: 'x y'
    timeout: 0s
  - type: console
    notify_on: []
  - type: github
    repo: acme/etl
    token: t
    timeout: 0s
";
    let err = yaml_err(text);
    for key in [
        "flow_name",
        "repo",
        "dependencies[0]",
        "capture.queue_capacity",
        "capture.ring_size",
        "capture.ring_level",
        "diagnosis.max_daily_cost_usd",
        "diagnosis.input_price_per_mtok",
        "diagnosis.base_url",
        "github.base_url",
        "remediation.deny_repos[0]",
        "remediation.lockouts[0].start",
        "remediation.lockouts[0].end",
        "remediation.lockouts[0].days[1]",
        "auto_fix.test_command",
        "auto_fix.scope.allow[0]",
        "auto_fix.max_daily_cost_usd",
        "notify[0].smtp_host",
        "notify[0].from",
        "notify[0].to",
        "notify[1].url",
        "notify[1].headers",
        "notify[2].chat_id",
        "notify[2].timeout",
        "notify[3].notify_on",
        "notify[4].timeout",
    ] {
        let p = problem(&err, key);
        assert!(p.line.is_some(), "no line for {p}");
        assert!(p.fix.is_some(), "no fix for {p}");
    }
    assert_eq!(
        problem(&err, "remediation.lockouts[0].start").line,
        Some(17)
    );
    assert_eq!(problem(&err, "notify[1].url").line, Some(31));
    let lines: Vec<_> = err.problems().map(|p| p.line.unwrap_or(0)).collect();
    assert!(
        lines.windows(2).all(|w| w[0] <= w[1]),
        "sorted by line: {lines:?}"
    );
}

#[test]
fn valid_lockouts_email_forms_and_urls_pass() {
    let cfg = yaml_with(
        "flow_name: etl/daily:v2\nremediation:\n  lockouts:\n    - {start: '9:30', end: '24:00', days: [Monday, sat-sun, weekdays]}\n    - {start: '22:00', end: '06:00'}\n    - {start: '00:00', end: '00:00', days: [daily]}\nnotify:\n  - type: email\n    smtp_host: localhost\n    from: 'Alerts <alerts@example.com>'\n    to: [root@localhost]\n  - type: webhook\n    url: 'http://[::1]:8080/hook?x=1'\n",
        &[],
    )
    .unwrap();
    assert_eq!(cfg.remediation.lockouts.len(), 3);
}

// ------------------------------------------------------------------- TOML

#[test]
fn toml_errors_have_lines_and_paths() {
    let err = toml_with("flow_name = 'etl'\n\n[capture]\nqueue_capacty = 5\n", &[]).unwrap_err();
    let p = problem(&err, "capture.queue_capacty");
    assert_eq!(p.line, Some(4));
    assert!(fix(p).contains("`queue_capacity`"), "{p}");
    let err = toml_with(
        "flow_name = 'etl'\n[[notify]]\ntype = 'slack'\nwebhook_url = 5.5\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(problem(&err, "notify[0].webhook_url").line, Some(4));
    let err = toml_with("flow_name = 'etl'\nrepo = '${NOPE}'\n", &[]).unwrap_err();
    assert_eq!((err.line, err.key.as_deref()), (Some(2), Some("repo")));
    let err = toml_with("flow_name = 'etl'\nrepo = [1,\n", &[]).unwrap_err();
    assert!(err.message.starts_with("invalid TOML"), "{err}");
    assert_eq!(err.line, Some(2));
}

#[test]
fn yaml_syntax_errors_have_lines() {
    let err = yaml_err("flow_name: etl\nnotify: [a, b\ncapture: {}\n");
    assert!(err.message.starts_with("invalid YAML"), "{err}");
    assert!(err.line.is_some_and(|l| l >= 2), "{err}");
    let err = yaml_err("flow_name: etl\nflow_name: again\n");
    assert!(err.message.contains("`flow_name` is set twice"), "{err}");
    assert_eq!(err.line, Some(2));
}

#[test]
fn the_toml_fixture_equals_the_yaml_example() {
    let vars = example_env();
    let from_yaml = yaml_with(EXAMPLE, &vars).unwrap();
    let from_toml = toml_with(FULL_TOML, &vars).unwrap();
    assert_eq!(
        serde_json::to_value(&from_yaml).unwrap(),
        serde_json::to_value(&from_toml).unwrap()
    );
}

// ------------------------------------------------------ example and secrets

const EXAMPLE: &str = include_str!("../../../../docs/flow-doctor.example.yaml");
const FULL_TOML: &str = include_str!("../../tests/fixtures/config/full.toml");

fn example_env() -> [(&'static str, &'static str); 5] {
    [
        ("SLACK_WEBHOOK_URL", SLACK_URL),
        ("SMTP_PASSWORD", "smtp-secret-password-1"),
        ("TELEGRAM_BOT_TOKEN", "123456:telegram-secret-token"),
        ("ANTHROPIC_API_KEY", "sk-ant-api03-secretsecretsecret"),
        ("GITHUB_TOKEN", "ghp_secretsecretsecretsecretsecretsecre"),
    ]
}

#[test]
fn the_example_loads_cleanly_and_covers_every_section() {
    let cfg = yaml_with(EXAMPLE, &example_env()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.flow_name, "nightly-etl");
    let kinds: Vec<_> = cfg.notify.iter().map(ChannelConfig::kind).collect();
    assert_eq!(kinds, CHANNEL_TYPES);
    // Every top-level key of the schema appears in the example.
    let defaults = serde_json::to_value(Config::new("x")).unwrap();
    for key in defaults.as_object().unwrap().keys() {
        assert!(
            EXAMPLE.lines().any(|l| l.starts_with(&format!("{key}:"))),
            "the example lacks `{key}`"
        );
    }
    assert_eq!(cfg.remediation.lockouts[0].days, vec!["mon-fri"]);
    assert_eq!(cfg.remediation.playbooks.len(), 1);
}

#[test]
fn secrets_never_reach_debug_yaml_or_json() {
    let vars = [
        example_env().as_slice(),
        &[("WEBHOOK_SECRET", "whsec-secret-signing-key")],
    ]
    .concat();
    let text = EXAMPLE.replace(
        "      X-Team: data-platform",
        "      X-Team: data-platform\n      Authorization: Bearer header-secret-value",
    );
    let cfg = yaml_with(&text, &vars).unwrap();
    let outputs = [
        format!("{cfg:?}"),
        format!("{cfg:#?}"),
        cfg.to_yaml().unwrap(),
        serde_json::to_string(&cfg).unwrap(),
    ];
    let secrets = [
        "slacksecretvalue1",
        "smtp-secret-password-1",
        "telegram-secret-token",
        "sk-ant-api03",
        "ghp_secret",
        "whsec-secret",
        "header-secret-value",
        "hooks.example.com",
    ];
    for out in &outputs {
        for s in secrets {
            assert!(!out.contains(s), "`{s}` leaked into:\n{out}");
        }
        assert!(out.contains("<redacted>"));
    }
    // Every credential was really set.
    let ChannelConfig::Github(g) = &cfg.notify[2] else {
        panic!()
    };
    assert!(
        g.token
            .as_ref()
            .is_some_and(|t| t.expose().starts_with("ghp_"))
    );
    let ChannelConfig::Webhook(w) = &cfg.notify[6] else {
        panic!()
    };
    assert_eq!(
        w.secret.as_ref().map(Secret::expose),
        Some("whsec-secret-signing-key")
    );
}

#[test]
fn a_bad_secret_url_is_not_echoed() {
    let err = yaml_with(
        "flow_name: etl\nnotify:\n  - type: slack\n    webhook_url: hooks-slack-secret-path\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(err.key.as_deref(), Some("notify[0].webhook_url"));
    assert!(
        !err.to_string().contains("hooks-slack-secret-path"),
        "{err}"
    );
}

#[test]
fn env_debug_shows_no_values() {
    let e = env(&[("TOKEN", "very-secret")]).with_fallback(Env::process());
    let shown = format!("{e:?}");
    assert!(!shown.contains("very-secret"), "{shown}");
    assert!(shown.contains("1 variables"), "{shown}");
}

// -------------------------------------------------------- route and serde

#[test]
fn routes_take_limits_by_channel_kind() {
    let cfg = yaml_with(
        &format!("flow_name: etl\nrepo: a/b\nrate_limits:\n  max_issues_per_day: 4\n  max_alerts_per_day: 9\n  exempt: [critical, error]\nnotify:\n  - type: console\n  - type: github\n  - type: slack\n    webhook_url: {SLACK_URL}\n    notify_on: [warning]\n    notify_on_category: [DATA]\n    notify_success: true\n    digest: false\n"),
        &[("GITHUB_TOKEN", "t")],
    )
    .unwrap();
    let routes: Vec<_> = cfg
        .notify
        .iter()
        .map(|c| c.to_route(&cfg.rate_limits))
        .collect();
    assert_eq!(routes[0].daily_limit, None);
    assert_eq!(routes[1].daily_limit, Some(4));
    assert_eq!(routes[2].daily_limit, Some(9));
    assert_eq!(
        routes[0].notify_on,
        [Severity::Error, Severity::Critical].into_iter().collect()
    );
    assert!(routes[0].digest && !routes[0].success);
    assert_eq!(routes[0].notify_on_category, None);
    assert_eq!(
        routes[2].notify_on,
        [Severity::Warning].into_iter().collect()
    );
    assert_eq!(
        routes[2].notify_on_category,
        Some([Category::Data].into_iter().collect())
    );
    assert!(!routes[2].digest && routes[2].success);
    for r in &routes {
        assert_eq!(
            r.exempt,
            [Severity::Error, Severity::Critical].into_iter().collect()
        );
    }
    let jsonl = RouteConfig::default().to_route("jsonl", &cfg.rate_limits);
    assert_eq!(jsonl.daily_limit, None);
}

#[test]
fn channels_serialize_flat_and_round_trip() {
    let cfg = yaml_with(
        "flow_name: etl\nnotify:\n  - type: jsonl\n    path: out.jsonl\n    notify_on: [info]\n    digest: false\n",
        &[],
    )
    .unwrap();
    let json = serde_json::to_value(&cfg.notify[0]).unwrap();
    assert_eq!(json["type"], "jsonl");
    assert_eq!(json["path"], "out.jsonl");
    assert_eq!(json["notify_on"], serde_json::json!(["info"]));
    assert_eq!(json["digest"], false);
    assert!(json.get("route").is_none());
    let back: ChannelConfig = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), json);
    // A channel struct alone also reads its routing keys.
    let jsonl: JsonlConfig =
        serde_json::from_value(serde_json::json!({"notify_on": ["error"]})).unwrap();
    assert_eq!(jsonl.route.notify_on, Some(vec![Severity::Error]));
}

#[test]
fn durations_deserialize_from_numbers_and_text() {
    let cfg = yaml("flow_name: etl\ndedup:\n  cooldown: 90\ncascade_window: 1h30m\nstore:\n  busy_timeout: 2.5\n").unwrap();
    assert_eq!(cfg.dedup.cooldown, HumanDuration::from_secs(90));
    assert_eq!(cfg.cascade_window, HumanDuration::from_secs(5400));
    assert_eq!(cfg.store.busy_timeout.get().as_millis(), 2500);
    assert!(HumanDuration::parse("99999999999999999999999d").is_err());
}

// ---------------------------------------------------------------- resolve

#[test]
fn load_picks_explicit_then_env_var_then_discovery_then_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flow-doctor.toml"),
        "flow_name = 'discovered'\n",
    )
    .unwrap();
    std::fs::write(other.path().join("custom.yaml"), "flow_name: from-var\n").unwrap();
    std::fs::write(other.path().join("explicit.yml"), "flow_name: explicit\n").unwrap();
    let var = other.path().join("custom.yaml");
    let var = var.to_str().unwrap();
    let loader = |vars: &[(&str, &str)]| Loader::new().current_dir(dir.path()).env(env(vars));

    let explicit = other.path().join("explicit.yml");
    assert_eq!(
        loader(&[("FLOW_DOCTOR_CONFIG", var)])
            .load(Some(&explicit))
            .unwrap()
            .flow_name,
        "explicit"
    );
    assert_eq!(
        loader(&[("FLOW_DOCTOR_CONFIG", var)])
            .load(None)
            .unwrap()
            .flow_name,
        "from-var"
    );
    assert_eq!(loader(&[]).load(None).unwrap().flow_name, "discovered");
    assert!(matches!(
        loader(&[]).resolve(None).unwrap(),
        ConfigSource::Discovered(_)
    ));

    let empty = tempfile::tempdir().unwrap();
    let none = |vars: &[(&str, &str)]| Loader::new().current_dir(empty.path()).env(env(vars));
    assert_eq!(none(&[]).resolve(None).unwrap(), ConfigSource::Defaults);
    assert_eq!(none(&[]).load(None).unwrap().flow_name, DEFAULT_FLOW_NAME);
    let cfg = none(&[("FLOW_DOCTOR_FLOW", "cron-job"), ("GH_TOKEN", "t")])
        .load(None)
        .unwrap();
    assert_eq!(cfg.flow_name, "cron-job");
    assert_eq!(cfg.github.token.as_ref().map(Secret::expose), Some("t"));
    let err = none(&[("FLOW_DOCTOR_FLOW", "bad name")])
        .load(None)
        .unwrap_err();
    assert!(fix(&err).contains("FLOW_DOCTOR_FLOW"), "{err}");

    let err = none(&[("FLOW_DOCTOR_CONFIG", "/nonexistent/flow-doctor.yaml")])
        .load(None)
        .unwrap_err();
    assert!(err.message.contains("FLOW_DOCTOR_CONFIG"), "{err}");
    let err = none(&[]).load(Some(Path::new("missing.yaml"))).unwrap_err();
    assert!(err.message.contains("cannot read"), "{err}");
    let err = none(&[])
        .load(Some(Path::new("flow-doctor.json")))
        .unwrap_err();
    assert!(fix(&err).contains("flow-doctor.toml"), "{err}");
}

#[test]
fn a_list_is_not_a_section() {
    let err = yaml_err("- a\n- b\n");
    assert_eq!(err.problems().count(), 1, "{err}");
    assert!(
        err.message.contains("expected a mapping, found a list"),
        "{err}"
    );
    assert_eq!(err.line, Some(1));
    let err = yaml_err("flow_name: etl\nnotify:\n  - [console]\n");
    assert_eq!(problem(&err, "notify[0]").line, Some(3));
    let err = yaml_err("flow_name:\n");
    assert!(
        fix(problem(&err, "flow_name")).contains("give it a value"),
        "{err}"
    );
}

#[test]
fn relative_paths_are_relative_to_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    let file = conf.join("flow-doctor.yaml");
    std::fs::write(
        &file,
        "flow_name: etl\nstore:\n  path: data/fd.db\nnotify:\n  - type: jsonl\n    path: out.jsonl\nremediation:\n  playbook_files: [/abs/playbooks.yaml, rel.yaml]\n",
    )
    .unwrap();
    let cfg = Config::from_path(&file).unwrap();
    assert_eq!(cfg.store.path, conf.join("data/fd.db"));
    let ChannelConfig::Jsonl(j) = &cfg.notify[0] else {
        panic!("expected a jsonl channel");
    };
    assert_eq!(j.path, conf.join("out.jsonl"));
    assert_eq!(
        cfg.remediation.playbook_files,
        [
            Path::new("/abs/playbooks.yaml").to_path_buf(),
            conf.join("rel.yaml")
        ]
    );
}

#[test]
fn two_channels_of_one_type_need_distinct_names() {
    let two = |names: (&str, &str)| {
        format!(
            "flow_name: etl\nnotify:\n  - type: slack\n    webhook_url: {SLACK_URL}\n{}  - type: slack\n    webhook_url: {SLACK_URL}\n{}",
            names.0, names.1
        )
    };
    let err = yaml_err(&two(("", "")));
    let p = problem(&err, "notify[1]");
    assert!(
        p.message
            .contains("a channel named `slack` is already configured at notify[0]"),
        "{err}"
    );
    assert!(
        fix(p).contains("give this `slack` channel a `name`"),
        "{err}"
    );
    assert_eq!(p.line, Some(5), "{err}");

    let cfg = yaml(&two(("", "    name: slack-data\n"))).unwrap_or_else(|e| panic!("{e}"));
    let route = cfg.notify[1].to_route(&cfg.rate_limits);
    assert_eq!(route.name.as_deref(), Some("slack-data"));
    assert_eq!(cfg.notify[0].to_route(&cfg.rate_limits).name, None);

    let err = yaml_err(&two(("    name: alerts\n", "    name: alerts\n")));
    assert!(
        fix(problem(&err, "notify[1].name")).contains("its own `name`"),
        "{err}"
    );

    let err = yaml_err(&two(("    name: \"data team\"\n", "")));
    let p = problem(&err, "notify[0].name");
    assert!(
        p.message
            .contains("`data team` is not a usable channel name"),
        "{err}"
    );
}

#[test]
fn an_email_ca_file_must_be_readable_pem_and_needs_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    std::fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "not a certificate").unwrap();
    let email = |security: &str, ca: &std::path::Path| {
        format!(
            "flow_name: etl\nnotify:\n  - type: email\n    smtp_host: mail.example.com\n    from: a@example.com\n    to: [b@example.com]\n    security: {security}\n    tls_ca_file: {}\n",
            ca.display()
        )
    };
    let cfg = yaml(&email("starttls", &pem)).unwrap_or_else(|e| panic!("{e}"));
    let ChannelConfig::Email(e) = &cfg.notify[0] else {
        panic!("{:?}", cfg.notify[0]);
    };
    assert_eq!(e.tls_ca_file.as_deref(), Some(pem.as_path()));

    let err = yaml_err(&email("tls", &dir.path().join("missing.pem")));
    let p = problem(&err, "notify[0].tls_ca_file");
    assert!(p.message.contains("cannot read"), "{err}");
    assert!(p.message.contains("missing.pem"), "{err}");

    let err = yaml_err(&email("tls", &junk));
    assert!(
        problem(&err, "notify[0].tls_ca_file")
            .message
            .contains("holds no PEM certificate"),
        "{err}"
    );

    let err = yaml_err(&email("none", &pem));
    assert!(
        fix(problem(&err, "notify[0].tls_ca_file")).contains("security: starttls"),
        "{err}"
    );
}

#[test]
fn a_relative_directory_and_file_resolve_to_the_file_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("repo")).unwrap();
    std::fs::write(dir.path().join("repo/k1.yaml"), "flow_name: from-k1\n").unwrap();
    // `dir/repo` written relative to the process's directory, as a user
    // would pass `--workdir repo`.
    let cwd = std::env::current_dir().unwrap();
    let mut relative = PathBuf::new();
    for _ in cwd.components().skip(1) {
        relative.push("..");
    }
    relative.push(dir.path().join("repo").strip_prefix("/").unwrap());
    assert!(relative.is_relative());
    let loader = Loader::new().current_dir(&relative).env(env(&[]));
    let cfg = loader.load(Some(Path::new("k1.yaml"))).unwrap();
    assert_eq!(cfg.flow_name, "from-k1");
    match loader.resolve(Some(Path::new("k1.yaml"))).unwrap() {
        ConfigSource::Explicit(path) => {
            assert!(path.is_absolute(), "{}", path.display());
            assert_eq!(
                path.canonicalize().unwrap(),
                dir.path().join("repo/k1.yaml").canonicalize().unwrap()
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_port_out_of_range_and_a_duplicate_key_say_what_is_wrong() {
    let err = yaml_err(
        "flow_name: etl\nnotify:\n  - type: email\n    smtp_host: mail.example.com\n    smtp_port: 70000\n    from: a@example.com\n    to: [b@example.com]\n",
    );
    let p = problem(&err, "notify[0].smtp_port");
    assert_eq!(p.line, Some(5));
    assert!(
        p.message.contains("expected an integer from 0 to 65535"),
        "{p}"
    );

    let err = yaml_err("flow_name: etl\nrepo: acme/etl\nflow_name: other\n");
    let text = err.to_string();
    assert!(
        text.contains("`flow_name` is set twice in the same mapping"),
        "{text}"
    );
    assert!(!text.contains("DuplicateKeyPolicy"), "{text}");
    assert!(text.contains("keep one of the two"), "{text}");
}
