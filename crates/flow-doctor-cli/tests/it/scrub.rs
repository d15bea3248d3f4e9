//! `flow-doctor scrub`: the real binary on real files and pipes.

use std::path::Path;
use std::process::Output;

use crate::text;

const GITHUB_TOKEN: &str = "ghp_aB3daB3daB3daB3daB3daB3daB3daB3daB3d";

const LOG: &str = "2024-05-01T10:00:00Z INFO start commit=9fceb02d0ae598e95dc970b74767f19372d61af8\n\
2024-05-01T10:00:01Z DEBUG connecting to postgres://etl:Sup3r-S3cret@db:5432/dw\n\
2024-05-01T10:00:02Z ERROR push failed token=ghp_aB3daB3daB3daB3daB3daB3daB3daB3daB3d\n\
2024-05-01T10:00:03Z INFO id ACME-DEADBEEF and tenant_code=42 done\n";

const SCRUBBED: &str = "2024-05-01T10:00:00Z INFO start commit=9fceb02d0ae598e95dc970b74767f19372d61af8\n\
2024-05-01T10:00:01Z DEBUG connecting to postgres://etl:[REDACTED:url_password]@db:5432/dw\n\
2024-05-01T10:00:02Z ERROR push failed token=[REDACTED:github_token]\n\
2024-05-01T10:00:03Z INFO id ACME-DEADBEEF and tenant_code=42 done\n";

const CONFIG: &str = "flow_name: etl\nscrub:\n  patterns:\n    - name: acme_key\n      regex: 'ACME-[0-9A-F]{8}'\n  keys: [tenant_code]\n";

/// Runs the binary in `dir` with a clean environment, feeding `stdin`.
fn flow_doctor(dir: &Path, args: &[&str], stdin: &str) -> Output {
    crate::run_bin(dir, args, &[], stdin)
}

#[test]
fn stdin_is_scrubbed_to_stdout_with_the_builtin_rules() {
    let dir = tempfile::tempdir().unwrap();
    let out = flow_doctor(dir.path(), &["scrub"], LOG);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), SCRUBBED);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn a_file_argument_is_scrubbed_and_left_unchanged_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.log");
    std::fs::write(&file, LOG).unwrap();
    let out = flow_doctor(dir.path(), &["scrub", "job.log"], "");
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), SCRUBBED);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), LOG);
}

#[test]
fn an_unreadable_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = flow_doctor(dir.path(), &["scrub", "missing.log"], LOG);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("flow-doctor: error: cannot read missing.log"),
        "{stderr}"
    );
}

#[test]
fn config_patterns_and_keys_apply_with_config_flag_and_when_discovered() {
    let dir = tempfile::tempdir().unwrap();
    let expected = SCRUBBED.replace(
        "id ACME-DEADBEEF and tenant_code=42",
        "id [REDACTED:acme_key] and tenant_code=[REDACTED:tenant_code]",
    );

    std::fs::write(dir.path().join("custom.yaml"), CONFIG).unwrap();
    let out = flow_doctor(dir.path(), &["scrub", "--config", "custom.yaml"], LOG);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expected);

    std::fs::write(dir.path().join("flow-doctor.yaml"), CONFIG).unwrap();
    let out = flow_doctor(dir.path(), &["scrub"], LOG);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn an_invalid_scrub_pattern_fails_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flow-doctor.yaml"),
        "flow_name: etl\nscrub:\n  patterns:\n    - name: broken\n      regex: 'ACME-[0-9'\n",
    )
    .unwrap();
    let out = flow_doctor(dir.path(), &["scrub"], LOG);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("scrub.patterns[0].regex"), "{stderr}");
    assert!(!stderr.contains(GITHUB_TOKEN), "{stderr}");
}
