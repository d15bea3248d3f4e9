//! `flow-doctor run`, `report`, `history`, `show` and `status` against a
//! real SQLite file in a temporary directory, with real child processes.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flow-doctor"));
    cmd.env_remove("FLOW_DOCTOR_CONFIG")
        .env_remove("FLOW_DOCTOR_FLOW")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs the binary in `dir` with `args`.
fn fd(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn history(dir: &Path) -> Vec<Value> {
    let out = fd(dir, &["history", "--json", "--limit", "100"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn exit_codes_pass_through_and_failures_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let ok = fd(
        dir.path(),
        &["run", "--flow", "job", "--", "sh", "-c", "echo fine"],
    );
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout),
        "fine\n",
        "stdout passes through"
    );
    let one = fd(
        dir.path(),
        &[
            "run",
            "--flow",
            "job",
            "--",
            "sh",
            "-c",
            "echo broken >&2; exit 1",
        ],
    );
    assert_eq!(one.status.code(), Some(1));
    assert!(
        stderr(&one).starts_with("broken\n"),
        "stderr passes through: {}",
        stderr(&one)
    );
    assert!(
        stderr(&one).contains("flow-doctor: incident "),
        "{}",
        stderr(&one)
    );
    let answer = fd(
        dir.path(),
        &["run", "--flow", "job2", "--", "sh", "-c", "exit 42"],
    );
    assert_eq!(answer.status.code(), Some(42));
    let killed = fd(
        dir.path(),
        &["run", "--flow", "job3", "--", "sh", "-c", "kill -KILL $$"],
    );
    assert_eq!(killed.status.code(), Some(128 + 9));
    let missing = fd(
        dir.path(),
        &["run", "--flow", "job4", "--", "no-such-command-xyz"],
    );
    assert_eq!(missing.status.code(), Some(127));

    let incidents = history(dir.path());
    let by_flow = |flow: &str| -> Vec<&Value> {
        incidents
            .iter()
            .filter(|v| v["report"]["flow"] == flow)
            .collect()
    };
    assert_eq!(by_flow("job").len(), 1, "the success is not an incident");
    let job = &by_flow("job")[0]["report"];
    assert_eq!(job["kind"], "process_exit");
    assert_eq!(job["exit"]["code"], 1);
    assert_eq!(job["message"], "broken");
    assert_eq!(by_flow("job2")[0]["report"]["exit"]["code"], 42);
    let killed = &by_flow("job3")[0]["report"];
    assert_eq!(killed["exit"]["signal"], 9);
    assert!(
        killed["message"]
            .as_str()
            .unwrap()
            .contains("was killed by signal 9"),
        "{killed}"
    );
    assert_eq!(by_flow("job4")[0]["report"]["exit"]["code"], 127);
}

#[test]
fn a_timeout_stops_the_command_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = fd(
        dir.path(),
        &[
            "run",
            "--flow",
            "slow",
            "--timeout",
            "1s",
            "--",
            "sleep",
            "30",
        ],
    );
    assert_eq!(out.status.code(), Some(128 + 15), "{}", stderr(&out));
    let incidents = history(dir.path());
    let exit = &incidents[0]["report"]["exit"];
    assert_eq!(exit["timed_out"], true);
    assert_eq!(exit["signal"], 15);
    assert!(exit["duration_ms"].as_u64().unwrap() < 20_000);
}

#[test]
fn python_tracebacks_on_stderr_are_parsed_and_repeats_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("etl.py");
    std::fs::write(
        &script,
        "import uuid\n\ndef load(row):\n    return row['amount']\n\ndef main():\n    print('run', uuid.uuid4())\n    load({'id': 1})\n\nmain()\n",
    )
    .unwrap();
    let script = script.to_str().unwrap();
    for _ in 0..2 {
        let out = fd(
            dir.path(),
            &["run", "--flow", "etl", "--", "python3", script],
        );
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    }
    let incidents = history(dir.path());
    assert_eq!(
        incidents.len(),
        1,
        "the second run is a repeat: {incidents:#?}"
    );
    let r = &incidents[0]["report"];
    assert_eq!(r["error_type"], "KeyError");
    assert_eq!(r["language"], "python");
    assert_eq!(r["dedup_count"], 2);
    assert_eq!(r["frames"][0]["function"], "load");
    assert_eq!(incidents[0]["decision"]["kind"], "fired");
    let id = r["id"].as_str().unwrap();
    let show = fd(dir.path(), &["show", &id[..13], "--json"]);
    assert!(show.status.success(), "{}", stderr(&show));
    let detail: Value = serde_json::from_slice(&show.stdout).unwrap();
    let kinds: Vec<&str> = detail["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(
        kinds.contains(&"fired") && kinds.contains(&"deduped"),
        "{kinds:?}"
    );
    let status = fd(dir.path(), &["status", "--json"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["flows"]["etl"]["seen"], 2);
    assert_eq!(status["flows"]["etl"]["fired"], 1);
    assert_eq!(status["flows"]["etl"]["suppressed"]["deduped"], 1);
}

#[test]
fn rust_panics_are_parsed_from_a_real_program() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("job.rs");
    std::fs::write(
        &src,
        "fn parse(v: &[u32]) -> u32 { v[7] }\nfn main() { let v = vec![1, 2, 3]; println!(\"{}\", parse(&v)); }\n",
    )
    .unwrap();
    let exe = dir.path().join("job");
    let built = Command::new("rustc")
        .args(["-g", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("rustc runs");
    assert!(built.status.success(), "{}", stderr(&built));
    let out = bin()
        .current_dir(dir.path())
        .env("RUST_BACKTRACE", "1")
        .args(["run", "--flow", "rusty", "--"])
        .arg(&exe)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(101), "{}", stderr(&out));
    let incidents = history(dir.path());
    let r = &incidents[0]["report"];
    assert_eq!(r["language"], "rust");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("index out of bounds"),
        "{r}"
    );
    let functions: Vec<&str> = r["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["in_app"] == true)
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert!(
        functions.iter().any(|f| f.ends_with("parse")),
        "{functions:?}"
    );
}

#[test]
fn node_errors_are_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("worker.js");
    std::fs::write(
        &script,
        "function parseEvent(raw) {\n  const e = JSON.parse(raw);\n  return e.payload.customer.id;\n}\nparseEvent('{\"payload\": {}}');\n",
    )
    .unwrap();
    let out = fd(
        dir.path(),
        &[
            "run",
            "--flow",
            "node",
            "--",
            "node",
            script.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = &history(dir.path())[0]["report"];
    assert_eq!(r["language"], "node");
    assert_eq!(r["error_type"], "TypeError");
    assert_eq!(r["frames"][0]["function"], "parseEvent");
}

#[test]
fn secrets_on_stderr_never_reach_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = fd(
        dir.path(),
        &[
            "run",
            "--flow",
            "leaky",
            "--",
            "sh",
            "-c",
            "echo 'connect postgresql://etl:hunter2secret@db:5432/x failed; token ghp_abcdefghijklmnopqrstuvwxyz0123456789AB' >&2; exit 3",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let db = std::fs::read(dir.path().join("flow_doctor.db")).unwrap();
    let wal = std::fs::read(dir.path().join("flow_doctor.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("hunter2secret"), "password in the store");
        assert!(
            !text.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789AB"),
            "token in the store"
        );
    }
    let r = &history(dir.path())[0]["report"];
    assert!(r["traceback"].as_str().unwrap().contains("REDACTED"), "{r}");
}

/// Issue 3, acceptance 1: eight processes report the same failure into one
/// SQLite file at the same moment: exactly one is fired, seven are deduped,
/// and the incident counts eight occurrences.
#[test]
fn eight_processes_reporting_at_once_fire_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = "Traceback (most recent call last):\n  File \"/app/etl.py\", line 12, in load\n    rows = fetch()\nConnectionRefusedError: [Errno 111] Connection refused\n";
    let file = dir.path().join("failure.txt");
    std::fs::write(&file, text).unwrap();
    // Spawned back to back, the eight processes open the store and claim
    // the signature within a few milliseconds of each other.
    let children: Vec<_> = (0..8)
        .map(|_| {
            bin()
                .current_dir(dir.path())
                .args(["report", "--flow", "cron", "--json"])
                .arg(&file)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut decisions = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let o: Value = serde_json::from_slice(&out.stdout).unwrap();
        decisions.push(o["decision"].as_str().unwrap().to_string());
    }
    assert_eq!(
        decisions.iter().filter(|d| *d == "fired").count(),
        1,
        "{decisions:?}"
    );
    assert_eq!(
        decisions.iter().filter(|d| *d == "deduped").count(),
        7,
        "{decisions:?}"
    );
    let incidents = history(dir.path());
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["report"]["dedup_count"], 8);
}

#[test]
fn a_bad_flow_override_fails_before_running_anything() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let out = fd(
        dir.path(),
        &[
            "run",
            "--flow",
            "nightly etl!",
            "--",
            "sh",
            "-c",
            &format!("touch {}", marker.display()),
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("--flow: `nightly etl!` has characters"),
        "{err}"
    );
    assert!(
        err.contains("fix: pass a name such as `nightly-etl`"),
        "{err}"
    );
    assert!(!marker.exists(), "the command did not run");

    std::fs::write(
        dir.path().join("flow-doctor.yaml"),
        "flow_name: load\ndependencies: [extract]\nstore:\n  type: memory\n",
    )
    .unwrap();
    let out = fd(dir.path(), &["run", "--flow", "extract", "--", "true"]);
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("--flow: `extract` is listed in `dependencies[0]`"),
        "{err}"
    );
}

#[test]
fn a_flow_named_after_a_command_with_spaces_is_made_valid() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("nightly load.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'orders.csv is empty' >&2\nexit 3\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    let out = fd(dir.path(), &["run", "--", script.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let reports = history(dir.path());
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        reports[0]["report"]["flow"], "nightly-load.sh",
        "{:?}",
        reports[0]
    );
}

/// A configuration in `dir` with a JSON-lines channel `pings.jsonl`:
/// `capture.success_pings` set to `pings`, the channel's `notify_success`
/// to `opt_in`.
fn ping_config(dir: &Path, pings: bool, opt_in: bool) -> std::path::PathBuf {
    let path = dir.join("flow-doctor.yaml");
    std::fs::write(
        &path,
        format!(
            "flow_name: nightly\nstore:\n  path: {db}\ncapture:\n  success_pings: {pings}\n\
             notify:\n  - type: jsonl\n    path: {jsonl}\n    notify_success: {opt_in}\n",
            db = dir.join("fd.db").display(),
            jsonl = dir.join("pings.jsonl").display(),
        ),
    )
    .unwrap();
    path
}

/// The documents of a JSON-lines file (none when it does not exist).
fn jsonl_docs(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `history --all --json --config CONFIG`: incidents and success pings.
fn history_all(dir: &Path, config: &str) -> Vec<Value> {
    let out = fd(
        dir,
        &[
            "history", "--all", "--json", "--limit", "100", "--config", config,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_success_is_pinged_to_an_opted_in_jsonl_channel_when_pings_are_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = ping_config(dir.path(), true, true);
    let config = config.to_str().unwrap();
    let pings = dir.path().join("pings.jsonl");
    let out = fd(
        dir.path(),
        &["run", "--config", config, "--", "sh", "-c", "echo done"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
    let docs = jsonl_docs(&pings);
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let ping = &docs[0];
    assert_eq!(ping["type"], "success");
    assert_eq!(ping["kind"], "success");
    assert_eq!(ping["flow"], "nightly");
    assert_eq!(ping["severity"], "info");
    assert_eq!(ping["message"], "`sh -c 'echo done'` succeeded");

    // A success is not an incident, but it is recorded, and fired.
    let out = fd(dir.path(), &["history", "--json", "--config", config]);
    assert!(out.status.success(), "{}", stderr(&out));
    let incidents: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(incidents, serde_json::json!([]), "a success is no incident");
    let all = history_all(dir.path(), config);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["report"]["id"], ping["id"]);
    assert_eq!(all[0]["decision"]["kind"], "fired");
    assert_eq!(all[0]["decision"]["channels"], serde_json::json!(["jsonl"]));

    // A failure goes to the same channel as an incident, not as a success.
    let out = fd(
        dir.path(),
        &["run", "--config", config, "--", "sh", "-c", "exit 3"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let docs = jsonl_docs(&pings);
    let types: Vec<&str> = docs.iter().map(|d| d["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["success", "incident"], "{docs:#?}");
}

#[test]
fn no_success_ping_is_written_when_pings_are_off_or_the_channel_does_not_opt_in() {
    for (pings, opt_in, reason) in [
        (
            false,
            true,
            "success recorded; success pings are off (capture.success_pings)",
        ),
        (
            true,
            false,
            "success recorded; no channel opts in to success pings",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = ping_config(dir.path(), pings, opt_in);
        let config = config.to_str().unwrap();
        let out = fd(dir.path(), &["run", "--config", config, "--", "true"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let file = dir.path().join("pings.jsonl");
        assert!(
            !file.exists(),
            "success_pings {pings}, notify_success {opt_in}: {:#?}",
            jsonl_docs(&file)
        );
        let all = history_all(dir.path(), config);
        assert_eq!(all.len(), 1, "the success is still recorded: {all:#?}");
        assert_eq!(all[0]["report"]["kind"], "success");
        assert_eq!(all[0]["decision"]["kind"], "no_notifiers");
        assert_eq!(all[0]["decision"]["reason"], reason);
    }
}

#[test]
fn without_config_a_failure_is_printed_by_the_console_channel_plain_when_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    // No NO_COLOR here: stderr is a pipe, which alone must turn colour off.
    let out = Command::new(env!("CARGO_BIN_EXE_flow-doctor"))
        .env_remove("FLOW_DOCTOR_CONFIG")
        .env_remove("FLOW_DOCTOR_FLOW")
        .env_remove("NO_COLOR")
        .current_dir(dir.path())
        .args([
            "run",
            "--flow",
            "nightly",
            "--",
            "sh",
            "-c",
            "echo 'disk full' >&2; exit 4",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(err.starts_with("disk full\n"), "{err}");
    let block = err
        .find("flow-doctor ERROR [nightly]")
        .map(|at| &err[at..])
        .unwrap_or_else(|| panic!("no console block in {err}"));
    assert!(block.contains("\n  flow: nightly"), "{block}");
    assert!(!err.contains('\x1b'), "no colour on a pipe: {err:?}");
    assert!(
        dir.path().join("flow_doctor.db").exists(),
        "the default store"
    );
}

/// `flow-doctor run` on a pseudo-terminal (util-linux `script`, essential
/// on Debian), with `vars` set; what the terminal showed.
fn on_a_terminal(dir: &std::path::Path, vars: &[(&str, &str)]) -> String {
    let command = format!(
        "'{}' run --flow nightly -- sh -c \"echo 'disk full' >&2; exit 4\"",
        env!("CARGO_BIN_EXE_flow-doctor")
    );
    let mut cmd = Command::new("script");
    cmd.env_remove("FLOW_DOCTOR_CONFIG")
        .env_remove("FLOW_DOCTOR_FLOW")
        .env_remove("NO_COLOR")
        .envs(vars.iter().copied())
        .current_dir(dir)
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null());
    let out = cmd.output().expect("util-linux `script`");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn on_a_terminal_the_console_block_is_coloured_unless_no_color_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let shown = on_a_terminal(dir.path(), &[]);
    assert!(shown.contains("disk full"), "{shown:?}");
    assert!(
        shown.contains("\x1b[31mflow-doctor ERROR\x1b[0m \x1b[1m[nightly]"),
        "an error is red with a bold title on a terminal: {shown:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let shown = on_a_terminal(dir.path(), &[("NO_COLOR", "1")]);
    assert!(shown.contains("flow-doctor ERROR [nightly]"), "{shown:?}");
    assert!(
        !shown.contains('\x1b'),
        "NO_COLOR turns colour off: {shown:?}"
    );
}

/// Whether process `pid` is gone (or a zombie), waiting up to 10 s.
fn gone(pid: &str) -> bool {
    for _ in 0..100 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|s| s.trim_start().starts_with('Z')) =>
            {
                return true;
            }
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
    false
}

/// A background process the command leaves behind, holding stderr open,
/// does not hold `run` up: it reports and exits with the command's code.
#[test]
fn a_background_process_left_holding_stderr_does_not_hold_run_up() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = fd(
        dir.path(),
        &[
            "run",
            "--flow",
            "leaves",
            "--",
            "sh",
            "-c",
            // Its stdout goes elsewhere: only the stderr `run` reads stays open.
            "sleep 60 >/dev/null & echo $! > bg.pid; echo 'RuntimeError: boom' >&2; exit 3",
        ],
    );
    let waited = started.elapsed();
    let pid = std::fs::read_to_string(dir.path().join("bg.pid")).unwrap();
    let _ = Command::new("kill").arg(pid.trim()).status();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // A guard against the 60 s hang, not a timing measurement.
    assert!(waited.as_secs() < 30, "run waited {waited:?}");
    let r = &history(dir.path())[0]["report"];
    assert_eq!(r["message"], "boom", "{r}");
    assert!(r["exit"]["duration_ms"].as_u64().unwrap() < 30_000, "{r}");
}

/// Unattended, a timeout stops everything the command started (its
/// process group), and a command that still exits 0 is a failure (124).
#[test]
fn a_timeout_stops_the_whole_process_group_and_exit_0_after_it_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = fd(
        dir.path(),
        &[
            "run",
            "--flow",
            "group",
            "--timeout",
            "1s",
            "--",
            "sh",
            "-c",
            "sleep 60 & echo $! > bg.pid; wait",
        ],
    );
    let pid = std::fs::read_to_string(dir.path().join("bg.pid")).unwrap();
    let killed = gone(pid.trim());
    let _ = Command::new("kill").arg(pid.trim()).status();
    assert!(killed, "the background sleep outlived the timeout");
    assert_eq!(out.status.code(), Some(128 + 15), "{}", stderr(&out));

    let out = fd(
        dir.path(),
        &[
            "run",
            "--flow",
            "polite",
            "--timeout",
            "1s",
            "--",
            "sh",
            "-c",
            "trap 'exit 0' TERM; while :; do sleep 0.1; done",
        ],
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    let all = history(dir.path());
    let polite = all
        .iter()
        .find(|v| v["report"]["flow"] == "polite")
        .expect("the timed-out run is an incident");
    assert_eq!(polite["report"]["kind"], "process_exit");
    assert_eq!(polite["report"]["exit"]["timed_out"], true);
}

/// Unattended, SIGINT and SIGHUP sent to `run` are passed to the command
/// (which decides what to do), and its exit is reported.
#[test]
fn sigint_and_sighup_are_passed_on_when_unattended() {
    for (signal, code) in [("INT", 7), ("HUP", 8)] {
        let dir = tempfile::tempdir().unwrap();
        let script =
            format!("trap 'exit {code}' {signal}; touch ready; while :; do sleep 0.1; done");
        let child = bin()
            .current_dir(dir.path())
            .args(["run", "--flow", "trapper", "--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if dir.path().join("ready").exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(dir.path().join("ready").exists(), "the command started");
        let _ = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status();
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "SIG{signal}: {}",
            stderr(&out)
        );
        let r = &history(dir.path())[0]["report"];
        assert_eq!(r["exit"]["code"], code, "{r}");
    }
}

/// A script without `#!` runs through `/bin/sh`, as a shell runs it; and
/// a last stderr line longer than the tail keeps its end.
#[test]
fn a_script_without_a_shebang_runs_and_a_long_last_line_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("job.sh");
    std::fs::write(&script, "echo 'ValueError: bad row' >&2\nexit 4\n").unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    let out = fd(
        dir.path(),
        &["run", "--flow", "noshebang", "--", "./job.sh"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(history(dir.path())[0]["report"]["message"], "bad row");

    let out = fd(
        dir.path(),
        &[
            "run",
            "--flow",
            "longline",
            "--tail-bytes",
            "1024",
            "--",
            "sh",
            "-c",
            "printf 'RuntimeError: ' >&2; head -c 5000 /dev/zero | tr '\\0' x >&2; echo >&2; exit 1",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let all = history(dir.path());
    let long = all
        .iter()
        .find(|v| v["report"]["flow"] == "longline")
        .unwrap();
    let tb = long["report"]["traceback"].as_str().unwrap_or_default();
    assert!(tb.len() >= 1000 && tb.trim_end().ends_with("xxx"), "{tb:?}");
}

/// Arguments that are not UTF-8 (a Latin-1 file name) reach the command
/// byte for byte; the report shows them lossily.
#[test]
fn arguments_that_are_not_utf8_are_passed_on_as_they_are() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = tempfile::tempdir().unwrap();
    let arg = std::ffi::OsStr::from_bytes(b"caf\xe9.csv");
    let out = bin()
        .current_dir(dir.path())
        .args([
            "run",
            "--flow",
            "latin1",
            "--",
            "sh",
            "-c",
            "printf '%s' \"$1\"; exit 2",
            "sh",
        ])
        .arg(arg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(out.stdout, b"caf\xe9.csv");
    let r = &history(dir.path())[0]["report"];
    assert!(
        r["exit"]["command"]
            .as_str()
            .unwrap()
            .contains("caf\u{fffd}.csv"),
        "{r}"
    );
}
