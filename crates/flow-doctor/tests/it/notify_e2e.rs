//! Issue 5's acceptance through the real engine: recurrences across the
//! cooldown land on one GitHub issue, an outage loses nothing and every
//! report gets exactly one decision, and no planted secret leaves the
//! process or reaches the database file.

use std::collections::BTreeMap;
use std::path::Path;

use flow_doctor::notifiers::github::parse_occurrences;
use flow_doctor::store::{ActionQuery, DecisionQuery};
use flow_doctor::{
    ActionKind, ActionStatus, DecisionKind, LogLine, Report, ReportId, ReportKind, Severity, Store,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::github::FakeGithub;
use crate::support::smtp::SmtpSink;
use crate::support::{GITHUB_TOKEN, clock, config, decided, engine, github_yaml, python_failure};

const CREATE_ISSUE: &str = "POST /repos/acme/etl/issues";

fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

fn seconds(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// The one decision the store holds for `report`.
async fn only_decision(store: &dyn Store, report: &ReportId) -> flow_doctor::Decision {
    let mut decisions = store
        .decisions(&DecisionQuery {
            report_id: Some(report.clone()),
            ..DecisionQuery::default()
        })
        .await
        .expect("the store answers");
    assert_eq!(
        decisions.len(),
        1,
        "report {report} must have exactly one decision: {decisions:?}"
    );
    decisions.remove(0)
}

/// The notify actions recorded for `report`.
async fn notify_actions(store: &dyn Store, report: &ReportId) -> Vec<flow_doctor::Action> {
    store
        .actions(&ActionQuery {
            report_id: Some(report.clone()),
            kind: Some(ActionKind::Notify),
            ..ActionQuery::default()
        })
        .await
        .expect("the store answers")
}

/// Acceptance 1: the same failure five times, across two cooldown
/// boundaries and an engine restart, files one issue; each later incident
/// comments on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_failure_five_times_across_the_cooldown_files_one_issue_then_comments() {
    let github = FakeGithub::start(GITHUB_TOKEN).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("fd.db");
    let cfg = config(&format!(
        "{}dedup:\n  cooldown: 60m\n",
        github_yaml(&db, &github.uri())
    ));
    let clock = clock();
    let failure = python_failure("KeyError: 'customer_id'", "load_rows", 42);

    let fd = engine(&cfg, &clock);
    let mut outcomes = Vec::new();
    // 10:00 new incident, 10:20 and 10:40 repeats, 11:01 past the cooldown
    for step in [0, 20, 20, 21] {
        clock.advance(minutes(step));
        outcomes.push(decided(&fd.report_text(Severity::Error, failure.clone())).await);
    }
    let store = fd.store();
    drop(fd);
    // A new process (empty in-memory issue cache) sees it again at 12:05:
    // the notifier finds the open issue through the API.
    clock.advance(minutes(64));
    let fd = engine(&cfg, &clock);
    outcomes.push(decided(&fd.report_text(Severity::Error, failure.clone())).await);
    assert!(fd.flush(std::time::Duration::from_secs(60)));

    let kinds: Vec<DecisionKind> = outcomes.iter().map(|o| o.decision).collect();
    assert_eq!(
        kinds,
        [
            DecisionKind::Fired,
            DecisionKind::Deduped,
            DecisionKind::Deduped,
            DecisionKind::Fired,
            DecisionKind::Fired
        ],
        "{outcomes:#?}"
    );
    assert_eq!(outcomes[1].incident_id, outcomes[0].report_id);
    assert_eq!(outcomes[2].incident_id, outcomes[0].report_id);
    assert_eq!(outcomes[2].dedup_count, 3);
    assert!(
        outcomes
            .iter()
            .all(|o| o.signature == outcomes[0].signature)
    );

    // Exactly one issue was created; the two later incidents commented.
    let calls = github.calls().await;
    assert_eq!(
        calls.iter().filter(|c| *c == CREATE_ISSUE).count(),
        1,
        "{calls:#?}"
    );
    let issues = github.real_issues();
    assert_eq!(issues.len(), 1, "{issues:#?}");
    let issue = &issues[0];
    let number = issue["number"].as_u64().expect("an issue number");
    assert_eq!(issue["title"], "[etl] KeyError: 'customer_id'");
    assert_eq!(issue["labels"][0]["name"], "flow-doctor");
    let comment_call = format!("POST /repos/acme/etl/issues/{number}/comments");
    assert_eq!(
        calls.iter().filter(|c| **c == comment_call).count(),
        2,
        "{calls:#?}"
    );
    let comments = github.comments(number);
    assert_eq!(comments.len(), 2);
    for (comment, incident) in comments.iter().zip([&outcomes[3], &outcomes[4]]) {
        assert!(comment.starts_with("**Occurred again**"), "{comment}");
        assert!(comment.contains(incident.report_id.as_str()), "{comment}");
    }
    // The body's occurrence line counts all five occurrences and names the
    // latest incident; the metadata block still names the first.
    let body = issue["body"].as_str().expect("a body");
    let (count, latest) = parse_occurrences(body).expect("an occurrence line");
    assert_eq!(count, 5, "{body}");
    assert_eq!(latest.as_deref(), Some(outcomes[4].report_id.as_str()));
    assert!(body.contains(outcomes[0].report_id.as_str()), "{body}");

    // The store agrees: one decision per report, and every fired one
    // recorded its delivery with the issue's URL.
    let html_url = issue["html_url"].as_str().expect("an html_url");
    for o in &outcomes {
        let decision = only_decision(store.as_ref(), &o.report_id).await;
        assert_eq!(decision.kind, o.decision);
        let actions = notify_actions(store.as_ref(), &o.report_id).await;
        if o.decision == DecisionKind::Fired {
            assert_eq!(actions.len(), 1, "{actions:#?}");
            assert_eq!(actions[0].status, ActionStatus::Succeeded);
            assert_eq!(actions[0].url.as_deref(), Some(html_url));
        } else {
            assert!(actions.is_empty(), "{actions:#?}");
        }
    }
}

/// Acceptance 3: GitHub answers 500 for a minute, then blips once more.
/// Nothing is lost: failed deliveries sit in the digest queue, a repeat is
/// counted on its incident, a delivery interrupted by 500s succeeds on a
/// retry without filing twice, the held-back failure is filed when it comes
/// back after recovery, and every report has exactly one decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_outage_loses_nothing_and_every_report_has_one_decision() {
    let github = FakeGithub::start(GITHUB_TOKEN).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("fd.db");
    let cfg = config(&format!(
        "{}dedup:\n  cooldown: 10m\nrate_limits:\n  max_issues_per_day: 100\n",
        github_yaml(&db, &github.uri())
    ));
    let clock = clock();
    let fd = engine(&cfg, &clock);
    let store = fd.store();
    let key_error = python_failure("KeyError: 'customer_id'", "load_rows", 42);
    let disk_full = python_failure(
        "OSError: [Errno 28] No space left on device",
        "write_parquet",
        88,
    );
    let timeout = python_failure(
        "TimeoutError: warehouse did not answer in 30s",
        "commit",
        130,
    );

    // 10:00:00 – 10:01:00: every request answers 500.
    github.set_down(Some(500));
    let a1 = decided(&fd.report_text(Severity::Error, key_error.clone())).await;
    clock.advance(seconds(20));
    let a2 = decided(&fd.report_text(Severity::Error, key_error.clone())).await;
    clock.advance(seconds(20));
    let b1 = decided(&fd.report_text(Severity::Error, disk_full.clone())).await;
    clock.advance(seconds(20));
    assert!(
        github.real_issues().is_empty(),
        "nothing is filed while GitHub is down"
    );

    // 10:01:00: GitHub is back, but the next two requests still fail.
    github.set_down(None);
    github.fail_next(ResponseTemplate::new(500).set_body_json(json!({
        "message": "Server Error",
        "documentation_url": "https://docs.github.com/rest",
        "status": "500"
    })));
    github.fail_next(ResponseTemplate::new(502).set_body_string("Bad Gateway"));
    clock.advance(seconds(1));
    let c1 = decided(&fd.report_text(Severity::Error, timeout.clone())).await;

    // 10:11: the failure held back during the outage comes back.
    clock.advance(minutes(10));
    let a3 = decided(&fd.report_text(Severity::Error, key_error.clone())).await;
    assert!(fd.flush(std::time::Duration::from_secs(60)));

    assert_eq!(a1.decision, DecisionKind::DeliveryFailed, "{}", a1.reason);
    assert!(a1.reason.contains("HTTP 500"), "{}", a1.reason);
    assert_eq!(a2.decision, DecisionKind::Deduped, "{}", a2.reason);
    assert_eq!(a2.incident_id, a1.report_id);
    assert_eq!(b1.decision, DecisionKind::DeliveryFailed, "{}", b1.reason);
    assert_eq!(c1.decision, DecisionKind::Fired, "{}", c1.reason);
    assert_eq!(a3.decision, DecisionKind::Fired, "{}", a3.reason);

    // Every report has exactly one decision, and the store holds no other.
    let reports = [&a1, &a2, &b1, &c1, &a3];
    let all = store
        .decisions(&DecisionQuery::default())
        .await
        .expect("the store answers");
    assert_eq!(all.len(), reports.len(), "{all:#?}");
    for o in reports {
        assert_eq!(
            only_decision(store.as_ref(), &o.report_id).await.kind,
            o.decision
        );
    }

    // The failed deliveries are recorded with their attempts and queued.
    for o in [&a1, &b1] {
        let actions = notify_actions(store.as_ref(), &o.report_id).await;
        assert_eq!(actions.len(), 1, "{actions:#?}");
        assert_eq!(actions[0].status, ActionStatus::Failed);
        assert_eq!(actions[0].attempts, 3);
    }
    let pending = store.pending_digest(None).await.expect("the store answers");
    let queued: BTreeMap<&str, DecisionKind> = pending
        .iter()
        .map(|e| (e.report_id.as_str(), e.reason))
        .collect();
    assert_eq!(
        queued,
        BTreeMap::from([
            (a1.report_id.as_str(), DecisionKind::DeliveryFailed),
            (b1.report_id.as_str(), DecisionKind::DeliveryFailed),
        ])
    );
    assert!(
        pending
            .iter()
            .all(|e| e.channel.as_deref() == Some("github"))
    );
    let digest = flow_doctor::digest::build_digest(store.as_ref(), None, clock_now(&clock))
        .await
        .expect("a digest");
    let text = flow_doctor::Notification::Digest(digest).text();
    assert!(text.contains("OSError: [Errno 28]"), "{text}");
    assert!(text.contains("KeyError: 'customer_id'"), "{text}");

    // The blip cost two attempts, not a second issue.
    let c1_actions = notify_actions(store.as_ref(), &c1.report_id).await;
    assert_eq!(c1_actions.len(), 1);
    assert_eq!(c1_actions[0].status, ActionStatus::Succeeded);
    assert_eq!(c1_actions[0].attempts, 3);
    let issues = github.real_issues();
    let titles: Vec<&str> = issues.iter().filter_map(|i| i["title"].as_str()).collect();
    assert_eq!(
        titles,
        [
            "[etl] TimeoutError: warehouse did not answer in 30s",
            "[etl] KeyError: 'customer_id'"
        ],
        "one issue each, in delivery order"
    );
    let calls = github.calls().await;
    assert_eq!(calls.iter().filter(|c| *c == CREATE_ISSUE).count(), 2);
    // The failure filed after recovery counts its occurrences from the outage.
    let body = issues[1]["body"].as_str().expect("a body");
    assert_eq!(parse_occurrences(body).map(|(n, _)| n), Some(3), "{body}");

    // Nothing lost: each report was delivered, counted on an incident that
    // was, or sits in the digest queue.
    for o in reports {
        let delivered = notify_actions(store.as_ref(), &o.report_id)
            .await
            .iter()
            .any(|a| a.status == ActionStatus::Succeeded);
        let counted = o.decision == DecisionKind::Deduped;
        let queued = queued.contains_key(o.report_id.as_str());
        assert!(
            delivered || counted || queued,
            "report {} was lost: {o:?}",
            o.report_id
        );
    }
}

fn clock_now(clock: &flow_doctor::clock::ManualClock) -> chrono::DateTime<chrono::Utc> {
    use flow_doctor::Clock as _;
    clock.now()
}

/// Secrets planted in a failure's message, traceback, logs and context.
const PASSWORD: &str = "hunter2-Qx7vR2mZ";
const AWS_KEY: &str = "AKIAZ7QF3XK5EXAMPLE9";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE"; // 40 characters, as AWS issues them
const PLANTED_GITHUB_TOKEN: &str = "ghp_R4nD0mPl4nt3dT0k3nAbCdEfGhIjKlMnOpQr";
const BEARER: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJldGwtYm90In0.c2lnbmF0dXJlLXBsYW50ZWQ";

fn planted() -> [&'static str; 5] {
    [PASSWORD, AWS_KEY, AWS_SECRET, PLANTED_GITHUB_TOKEN, BEARER]
}

/// The secrets among `text`'s contents.
fn leaks(text: &str) -> Vec<&'static str> {
    planted().into_iter().filter(|s| text.contains(s)).collect()
}

/// URL, headers and body of a recorded request as one text.
fn request_text(r: &Request) -> String {
    let mut out = format!("{} {}\n", r.method, r.url);
    for (name, value) in &r.headers {
        out.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    out.push_str(&String::from_utf8_lossy(&r.body));
    out
}

/// Every file of the SQLite database (`fd.db`, `-wal`, `-shm`) as text.
fn database_bytes(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).expect("the temp dir").flatten() {
        if entry.file_name().to_string_lossy().starts_with("fd.db") {
            let bytes = std::fs::read(entry.path()).expect("a database file");
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

async fn receiver(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// Acceptance 4: a failure full of secrets goes to GitHub (filed, then
/// commented after the cooldown), Slack, Telegram, a signed webhook and
/// email; none of the secrets is in any request, any mail or the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_reach_no_request_no_mail_and_no_database_byte() {
    let github = FakeGithub::start(GITHUB_TOKEN).await;
    let slack = receiver(ResponseTemplate::new(200).set_body_string("ok")).await;
    let telegram_token = "123456789:AAH-e2eTelegramBotToken_abcdefghijk";
    let telegram = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{telegram_token}/sendMessage")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "result": {
                "message_id": 4242,
                "from": { "id": 123456789, "is_bot": true, "first_name": "flow-doctor", "username": "flow_doctor_bot" },
                "chat": { "id": -1001234567890i64, "title": "On-call", "type": "supergroup" },
                "date": 1772445600,
                "text": "..."
            }
        })))
        .mount(&telegram)
        .await;
    let webhook = receiver(ResponseTemplate::new(204)).await;
    let smtp = SmtpSink::start(None);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("fd.db");
    let cfg = config(&format!(
        "{github}    labels: [flow-doctor, pipeline]\n\
         \x20 - type: slack\n    webhook_url: {slack}/services/T0001/B0001/e2eslackhook\n\
         \x20 - type: telegram\n    bot_token: \"{telegram_token}\"\n    chat_id: \"-1001234567890\"\n    base_url: {telegram}\n\
         \x20 - type: webhook\n    url: {webhook}/hooks/flow-doctor\n    secret: e2e-hmac-key\n\
         \x20 - type: email\n    smtp_host: 127.0.0.1\n    smtp_port: {port}\n    security: none\n    \
         from: flow-doctor@example.com\n    to: [oncall@example.com]\n\
         dedup:\n  cooldown: 30m\n",
        github = github_yaml(&db, &github.uri()),
        slack = slack.uri(),
        telegram = telegram.uri(),
        webhook = webhook.uri(),
        port = smtp.port,
    ));
    let clock = clock();
    let fd = engine(&cfg, &clock);

    let failure = || {
        let traceback = format!(
            "Traceback (most recent call last):\n  File \"/srv/etl/load.py\", line 57, in connect\n    \
             conn = psycopg2.connect(dsn)\n\
             psycopg2.OperationalError: connection to postgresql://etl:{PASSWORD}@db.internal:5432/orders \
             failed: password={PASSWORD} rejected; retry with Authorization: Bearer {BEARER}\n"
        );
        let mut r = Report::new("etl", Severity::Error, ReportKind::Message, String::new());
        r.traceback = Some(traceback);
        r.context.insert("aws_access_key_id".into(), AWS_KEY.into());
        r.context
            .insert("aws_secret_access_key".into(), AWS_SECRET.into());
        r.context.insert(
            "command".into(),
            format!("git clone https://x-access-token:{PLANTED_GITHUB_TOKEN}@github.com/acme/etl"),
        );
        r.logs = vec![
            LogLine {
                at: clock_now(&clock),
                level: "DEBUG".into(),
                target: "botocore.credentials".into(),
                message: format!(
                    "Found credentials in environment variables: {AWS_KEY} / {AWS_SECRET}"
                ),
            },
            LogLine {
                at: clock_now(&clock),
                level: "DEBUG".into(),
                target: "http.client".into(),
                message: format!(
                    "headers={{'Authorization': 'Bearer {BEARER}', 'X-GitHub-Token': '{PLANTED_GITHUB_TOKEN}'}}"
                ),
            },
        ];
        r
    };

    let first = decided(&fd.submit(failure())).await;
    clock.advance(minutes(31));
    let again = decided(&fd.submit(failure())).await;
    assert!(fd.flush(std::time::Duration::from_secs(60)));
    for o in [&first, &again] {
        assert_eq!(o.decision, DecisionKind::Fired, "{}", o.reason);
        assert_eq!(
            o.reason, "delivered to github, slack, telegram, webhook, email",
            "{o:?}"
        );
    }
    let store = fd.store();

    // Every channel received both incidents (the test is not vacuous) and
    // what they received was scrubbed, not dropped.
    let mut seen = Vec::new();
    let github_requests = github.requests().await;
    assert_eq!(github.real_issues().len(), 1);
    let number = github.real_issues()[0]["number"]
        .as_u64()
        .expect("a number");
    assert_eq!(github.comments(number).len(), 1);
    seen.extend(github_requests.iter().map(request_text));
    for (name, server) in [
        ("slack", &slack),
        ("telegram", &telegram),
        ("webhook", &webhook),
    ] {
        let requests = server.received_requests().await.unwrap_or_default();
        assert_eq!(requests.len(), 2, "{name} got both incidents");
        seen.extend(requests.iter().map(request_text));
    }
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2, "email got both incidents");
    seen.extend(mails.iter().map(Value::to_string));
    seen.extend(
        mails
            .iter()
            .filter_map(|m| m["raw"].as_str().map(str::to_string)),
    );
    let issue_body = github.real_issues()[0]["body"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(issue_body.contains("[REDACTED"), "{issue_body}");
    assert!(
        issue_body.contains("psycopg2.OperationalError"),
        "{issue_body}"
    );
    let webhook_doc = &webhook.received_requests().await.unwrap_or_default()[0];
    let webhook_text = String::from_utf8_lossy(&webhook_doc.body).into_owned();
    assert!(webhook_text.contains("[REDACTED"), "{webhook_text}");

    for text in &seen {
        assert_eq!(
            leaks(text),
            Vec::<&str>::new(),
            "a secret left the process:\n{text}"
        );
    }

    // The database never held them either (flush the WAL by closing it).
    let stored = store
        .get_report(&first.report_id)
        .await
        .expect("the store answers")
        .expect("the report is stored");
    assert!(stored.traceback.unwrap_or_default().contains("[REDACTED"));
    drop(store);
    drop(fd);
    let bytes = database_bytes(dir.path());
    assert!(
        bytes.contains("psycopg2.OperationalError"),
        "the report is in the file"
    );
    assert_eq!(
        leaks(&bytes),
        Vec::<&str>::new(),
        "a secret reached the SQLite file"
    );
}
