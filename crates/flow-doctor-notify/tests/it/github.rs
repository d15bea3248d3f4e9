//! `GithubNotifier` against the fake GitHub REST API.

use std::time::Duration;

use flow_doctor_core::config::{GithubChannelConfig, GithubConfig, Secret};
use flow_doctor_core::metadata::IssueMetadata;
use flow_doctor_core::model::{Action, ActionKind, ActionStatus};
use flow_doctor_core::notify::{Digest, FlowDigest, RemediationNotice, SignatureDigest};
use flow_doctor_core::{Error, Notification, Notifier, Severity};
use flow_doctor_notify::github::{GithubNotifier, parse_occurrences};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use crate::support::github::{FakeGithub, OWNER, REPO};
use crate::support::{class, free_port, incident, recurrence_of};

const TOKEN: &str = "ghp_testtoken0123456789abcdefghijklmnopqr";

fn notifier(base: &str, token: &str, auto_fix: bool) -> GithubNotifier {
    let mut cfg = GithubChannelConfig::default();
    cfg.token = Some(Secret::new(token));
    cfg.base_url = Some(base.to_string());
    cfg.auto_fix_pr = auto_fix;
    GithubNotifier::new(
        &cfg,
        &GithubConfig::default(),
        Some(&format!("{OWNER}/{REPO}")),
    )
    .expect("valid config")
}

/// GitHub's answer once the primary rate limit is used up: 403 with
/// `x-ratelimit-remaining: 0`, resetting `in_secs` from now.
fn primary_rate_limit_exhausted(in_secs: i64) -> ResponseTemplate {
    let reset = chrono::Utc::now().timestamp() + in_secs;
    ResponseTemplate::new(403)
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset", reset.to_string().as_str())
        .set_body_json(json!({ "message": "API rate limit exceeded for user ID 1." }))
}

fn body_json(r: &wiremock::Request) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn files_a_new_issue_with_labels_and_the_metadata_block() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, false);
    let inc = incident("sig-new");

    let d = n
        .notify(&Notification::Incident(inc.clone()))
        .await
        .unwrap();

    assert_eq!(d.external_id.as_deref(), Some("1"));
    assert_eq!(
        d.url.as_deref(),
        Some("https://github.com/acme/etl/issues/1")
    );
    assert_eq!(d.detail.as_deref(), Some("filed #1"));
    let issues = gh.real_issues();
    assert_eq!(issues.len(), 1);
    let issue = &issues[0];
    assert_eq!(issue["title"], "[etl] KeyError: 'customer_id'");
    assert_eq!(issue["labels"][0]["name"], "flow-doctor");
    let body = issue["body"].as_str().unwrap();
    for needle in [
        "**Category:** CODE",
        "93%",
        "The loader reads a column the export dropped.",
        "`etl/load.py`",
        "KeyError: 'customer_id'",
        "line 42, in load_rows",
        "**Occurrences:** 1",
        "| `table` | `orders` |",
    ] {
        assert!(body.contains(needle), "missing {needle:?} in\n{body}");
    }
    let meta = IssueMetadata::parse(body).unwrap();
    assert_eq!(
        meta,
        IssueMetadata::new(&inc.report, inc.diagnosis.as_ref())
    );
    assert!(body.trim_end().ends_with("-->"), "metadata is last");

    // the create call carried the token, the labels and nothing else fancy
    let requests = gh.requests().await;
    let create = requests
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/repos/acme/etl/issues")
        .unwrap();
    assert_eq!(
        create.headers.get("authorization").unwrap(),
        &format!("Bearer {TOKEN}")
    );
    assert_eq!(body_json(create)["labels"], json!(["flow-doctor"]));
}

#[tokio::test]
async fn recurrence_comments_and_updates_the_count_instead_of_filing_again() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, false);
    let first = incident("sig-rec");
    n.notify(&Notification::Incident(first.clone()))
        .await
        .unwrap();

    let second = recurrence_of(&first, 2, 3);
    let d = n
        .notify(&Notification::Incident(second.clone()))
        .await
        .unwrap();
    assert_eq!(d.detail.as_deref(), Some("commented on #1"));
    assert_eq!(d.external_id.as_deref(), Some("1"));
    assert_eq!(
        d.url.as_deref(),
        Some("https://github.com/acme/etl/issues/1")
    );

    let third = recurrence_of(&first, 3, 5);
    n.notify(&Notification::Incident(third.clone()))
        .await
        .unwrap();

    assert_eq!(gh.real_issues().len(), 1, "never a second issue");
    let comments = gh.comments(1);
    assert_eq!(comments.len(), 2);
    assert!(
        comments[0].starts_with("**Occurred again**"),
        "{}",
        comments[0]
    );
    assert!(
        comments[0].contains("**3** times in 2 incidents"),
        "{}",
        comments[0]
    );
    assert!(comments[1].contains("**5** times in 3 incidents"));
    let body = gh.real_issues()[0]["body"].as_str().unwrap().to_string();
    let (count, latest) = parse_occurrences(&body).unwrap();
    assert_eq!(count, 5);
    assert_eq!(latest.as_deref(), Some(third.report.id.as_str()));
    // the metadata block still names the incident the issue was filed for
    assert_eq!(
        IssueMetadata::parse(&body).unwrap().report_id,
        first.report.id
    );
    let calls = gh.calls().await;
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "POST /repos/acme/etl/issues")
            .count(),
        1
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "PATCH /repos/acme/etl/issues/1")
            .count(),
        2
    );
    // Memory first: the open issues are listed once, before the first
    // filing, and the recurrences find #1 without asking the API again.
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "GET /repos/acme/etl/issues")
            .count(),
        1,
        "{calls:#?}"
    );
}

#[tokio::test]
async fn recurrence_is_found_through_the_api_when_memory_is_empty() {
    let gh = FakeGithub::start(TOKEN).await;
    let first = incident("sig-api");
    // filed by an earlier process
    notifier(&gh.uri(), TOKEN, false)
        .notify(&Notification::Incident(first.clone()))
        .await
        .unwrap();
    // noise: an unrelated issue, a pull request carrying the same metadata,
    // an issue without the label
    let other = incident("sig-other");
    let other_body = flow_doctor_notify::github::issue_body(&other, 1);
    gh.insert_issue("other failure", &other_body, &["flow-doctor"], false);
    let same_body = flow_doctor_notify::github::issue_body(&first, 1);
    gh.insert_issue("a PR", &same_body, &["flow-doctor"], true);
    gh.insert_issue("unlabelled", "no metadata here", &[], false);

    let fresh = notifier(&gh.uri(), TOKEN, false);
    let d = fresh
        .notify(&Notification::Incident(recurrence_of(&first, 2, 2)))
        .await
        .unwrap();

    assert_eq!(d.detail.as_deref(), Some("commented on #1"));
    assert_eq!(gh.comments(1).len(), 1);
    assert!(gh.comments(4).is_empty());
    assert_eq!(gh.real_issues().len(), 3, "nothing new filed");
    let list = gh
        .requests()
        .await
        .into_iter()
        .find(|r| r.method.as_str() == "GET" && r.url.path() == "/repos/acme/etl/issues")
        .expect("listed open issues");
    let query: std::collections::BTreeMap<String, String> =
        list.url.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "open");
    assert_eq!(query["labels"], "flow-doctor");
}

#[tokio::test]
async fn a_closed_issue_does_not_swallow_a_recurrence() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, false);
    let first = incident("sig-closed");
    n.notify(&Notification::Incident(first.clone()))
        .await
        .unwrap();
    gh.close(1);

    let d = n
        .notify(&Notification::Incident(recurrence_of(&first, 2, 2)))
        .await
        .unwrap();

    assert_eq!(d.detail.as_deref(), Some("filed #2"));
    assert!(gh.comments(1).is_empty());
    let body = gh.real_issues()[1]["body"].as_str().unwrap().to_string();
    assert_eq!(parse_occurrences(&body).unwrap().0, 2);
}

#[tokio::test]
async fn a_retried_delivery_of_the_same_incident_posts_nothing_twice() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, false);
    let first = incident("sig-retry");
    let note = Notification::Incident(first.clone());
    n.notify(&note).await.unwrap();
    let again = n.notify(&note).await.unwrap();
    assert_eq!(again.external_id.as_deref(), Some("1"));

    // and a fresh process retrying it finds the issue filed for it
    let again = notifier(&gh.uri(), TOKEN, false)
        .notify(&note)
        .await
        .unwrap();
    assert_eq!(again.detail.as_deref(), Some("already filed as #1"));

    assert_eq!(gh.real_issues().len(), 1);
    assert!(gh.comments(1).is_empty());
}

#[tokio::test]
async fn fix_label_is_added_in_a_separate_call_after_creation() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, true);
    let mut inc = incident("sig-fix");
    inc.diagnosis.as_mut().unwrap().auto_fixable = true;

    let d = n.notify(&Notification::Incident(inc)).await.unwrap();

    assert_eq!(
        d.detail.as_deref(),
        Some("filed #1; labelled flow-doctor:fix")
    );
    let calls = gh.calls().await;
    let create = calls
        .iter()
        .position(|c| c == "POST /repos/acme/etl/issues")
        .unwrap();
    let label = calls
        .iter()
        .position(|c| c == "POST /repos/acme/etl/issues/1/labels")
        .unwrap();
    assert!(create < label, "{calls:?}");
    let requests = gh.requests().await;
    let create_body = body_json(&requests[create]);
    assert_eq!(create_body["labels"], json!(["flow-doctor"]));
    assert_eq!(
        body_json(&requests[label]),
        json!({ "labels": ["flow-doctor:fix"] })
    );
    let issues = gh.real_issues();
    let labels: Vec<&str> = issues[0]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["flow-doctor", "flow-doctor:fix"]);

    // not auto-fixable: no label call
    let gh2 = FakeGithub::start(TOKEN).await;
    notifier(&gh2.uri(), TOKEN, true)
        .notify(&Notification::Incident(incident("sig-nofix")))
        .await
        .unwrap();
    assert!(!gh2.calls().await.iter().any(|c| c.ends_with("/labels")));
}

#[tokio::test]
async fn check_fails_loudly_on_a_rejected_token() {
    let gh = FakeGithub::start(TOKEN).await;
    let wrong = "ghp_wrongtoken0000000000000000000000000";
    let err = notifier(&gh.uri(), wrong, false).check().await.unwrap_err();
    assert_eq!(class(&err), ("config", "github"), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("GitHub token rejected"), "{text}");
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains(wrong), "{text}");
    assert_eq!(gh.calls().await, ["GET /user"]);

    // the right token passes, checking the user then the repository
    notifier(&gh.uri(), TOKEN, false).check().await.unwrap();
    assert_eq!(
        gh.calls().await[1..],
        ["GET /user".to_string(), "GET /repos/acme/etl".to_string()]
    );
}

#[tokio::test]
async fn check_fails_loudly_on_a_forbidden_token_but_not_on_a_rate_limit() {
    let gh = FakeGithub::start(TOKEN).await;
    // A token without the needed permission: 403, no rate-limit headers.
    gh.fail_next(ResponseTemplate::new(403).set_body_json(json!({
        "message": "Resource not accessible by personal access token",
        "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user",
        "status": "403"
    })));
    let err = notifier(&gh.uri(), TOKEN, false).check().await.unwrap_err();
    assert_eq!(class(&err), ("config", "github"), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("GitHub token rejected: HTTP 403"), "{text}");
    assert!(text.contains("Resource not accessible"), "{text}");
    assert!(text.contains("check the token and its scopes"), "{text}");

    // An exhausted rate limit is GitHub being busy, not a bad token:
    // start-up carries on.
    gh.fail_next(primary_rate_limit_exhausted(120));
    notifier(&gh.uri(), TOKEN, false).check().await.unwrap();
}

#[tokio::test]
async fn check_does_not_block_start_up_when_github_is_unreachable() {
    let base = format!("http://127.0.0.1:{}", free_port());
    notifier(&base, TOKEN, false).check().await.unwrap();
}

#[tokio::test]
async fn a_502_is_transient_and_the_next_attempt_files_once() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, false);
    let note = Notification::Incident(incident("sig-502"));
    // the first request (the open-issue lookup) hits a bad gateway
    gh.fail_next(ResponseTemplate::new(502).set_body_string("<html>502 Bad Gateway</html>"));

    let err = n.notify(&note).await.unwrap_err();
    assert_eq!(class(&err), ("transient", "github"), "{err:?}");
    assert!(err.chain_string().contains("502"), "{}", err.chain_string());
    assert!(gh.real_issues().is_empty());

    // the engine retries; the notifier delivers once
    let d = n.notify(&note).await.unwrap();
    assert_eq!(d.detail.as_deref(), Some("filed #1"));
    assert_eq!(gh.real_issues().len(), 1);

    // a longer outage: every call fails transiently, start-up is not blocked
    gh.set_down(Some(500));
    let err = n
        .notify(&Notification::Incident(incident("sig-500")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    n.check().await.unwrap();
    gh.set_down(None);
    n.notify(&Notification::Incident(incident("sig-500")))
        .await
        .unwrap();
    assert_eq!(gh.real_issues().len(), 2);
}

#[tokio::test]
async fn a_failed_label_call_is_retried_without_a_duplicate_issue() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, true);
    let mut inc = incident("sig-label-503");
    inc.diagnosis.as_mut().unwrap().auto_fixable = true;
    let note = Notification::Incident(inc);
    gh.fail_next_matching(
        "POST /repos/acme/etl/issues/1/labels",
        ResponseTemplate::new(503).set_body_string("unavailable"),
    );

    let err = n.notify(&note).await.unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    assert_eq!(gh.real_issues().len(), 1, "the issue itself was filed");

    let d = n.notify(&note).await.unwrap();
    assert_eq!(
        d.detail.as_deref(),
        Some("already delivered to #1; labelled flow-doctor:fix")
    );
    assert_eq!(gh.real_issues().len(), 1);
    assert!(gh.comments(1).is_empty());
    let calls = gh.calls().await;
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "POST /repos/acme/etl/issues/1/labels")
            .count(),
        2
    );
}

#[tokio::test]
async fn secondary_rate_limit_is_rate_limited_with_retry_after() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, false);
    gh.fail_next(
        ResponseTemplate::new(403)
            .insert_header("retry-after", "60")
            .set_body_json(json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                "status": "403"
            })),
    );
    let err = n
        .notify(&Notification::Incident(incident("sig-403")))
        .await
        .unwrap_err();
    assert_eq!(class(&err), ("rate_limited", "github"), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));

    // primary limit exhausted: 403 with x-ratelimit-remaining: 0
    gh.fail_next(primary_rate_limit_exhausted(120));
    let err = n
        .notify(&Notification::Incident(incident("sig-403b")))
        .await
        .unwrap_err();
    let wait = err.retry_after().expect("a delay until the reset");
    assert!(
        wait <= Duration::from_secs(120) && wait >= Duration::from_secs(60),
        "{wait:?}"
    );

    // a plain 403 (no permission) is permanent
    gh.fail_next(
        ResponseTemplate::new(403)
            .set_body_json(json!({ "message": "Resource not accessible by integration" })),
    );
    let err = n
        .notify(&Notification::Incident(incident("sig-403c")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Permanent { .. }), "{err:?}");
    assert!(err.chain_string().contains("Resource not accessible"));
}

#[tokio::test]
async fn validation_failure_is_permanent() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, false);
    gh.fail_next(ResponseTemplate::new(200).set_body_json(json!([])));
    gh.fail_next(ResponseTemplate::new(422).set_body_json(json!({
        "message": "Validation Failed",
        "errors": [{ "resource": "Issue", "code": "invalid", "field": "labels" }],
        "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
        "status": "422"
    })));
    let err = n
        .notify(&Notification::Incident(incident("sig-422")))
        .await
        .unwrap_err();
    assert_eq!(class(&err), ("permanent", "github"), "{err:?}");
    assert!(err.chain_string().contains("422"));
}

#[tokio::test]
async fn remediation_comments_on_the_open_issue_or_says_there_is_none() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, false);
    let inc = incident("sig-rem");
    let mut action = Action::new(
        &inc.report,
        ActionKind::Remediate,
        "restart-loader",
        ActionStatus::Succeeded,
        "systemctl restart loader: ok",
    );
    action.attempts = 1;
    let notice = Notification::Remediation(RemediationNotice {
        report: inc.report.clone(),
        diagnosis: inc.diagnosis.clone(),
        action,
    });

    let d = n.notify(&notice).await.unwrap();
    assert_eq!(
        d.detail.as_deref(),
        Some("no open issue for this failure; nothing to comment on")
    );
    assert!(gh.real_issues().is_empty());

    n.notify(&Notification::Incident(inc)).await.unwrap();
    let d = n.notify(&notice).await.unwrap();
    assert_eq!(d.detail.as_deref(), Some("commented on #1"));
    let comment = &gh.comments(1)[0];
    assert!(
        comment.contains("**Auto-remediation succeeded:** `restart-loader`"),
        "{comment}"
    );
    assert!(comment.contains("systemctl restart loader: ok"));
}

#[tokio::test]
async fn digest_is_filed_as_a_dated_issue_and_success_is_skipped() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, false);
    let now = chrono::Utc::now();
    let digest = Digest {
        generated_at: now,
        since: None,
        flows: vec![FlowDigest {
            flow: "etl".into(),
            total: 4,
            by_decision: [("rate_limited".to_string(), 4)].into_iter().collect(),
            signatures: vec![SignatureDigest {
                signature: "abc".into(),
                headline: "KeyError: 'customer_id'".into(),
                severity: Severity::Error,
                count: 4,
                by_decision: [("rate_limited".to_string(), 4)].into_iter().collect(),
                first_seen: now,
                last_seen: now,
                category: None,
                root_cause: None,
            }],
        }],
        entry_ids: vec![],
    };
    let d = n.notify(&Notification::Digest(digest)).await.unwrap();
    assert_eq!(d.detail.as_deref(), Some("filed digest #1"));
    let issue = &gh.real_issues()[0];
    assert_eq!(
        issue["title"],
        format!("flow-doctor digest {}", now.format("%Y-%m-%d"))
    );
    let labels: Vec<&str> = issue["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["flow-doctor", "digest"]);
    assert!(
        issue["body"]
            .as_str()
            .unwrap()
            .contains("| 4 | KeyError: 'customer_id' | rate_limited 4 |")
    );

    let ok = n
        .notify(&Notification::Success(incident("x").report))
        .await
        .unwrap();
    assert!(ok.detail.unwrap().starts_with("skipped"));
    assert_eq!(gh.real_issues().len(), 1);
}

/// A digest is filed once per set of entries: sending the same entries
/// again (a retry after a timed-out create, a second `digest --send`) finds
/// the issue filed before; other entries make a new issue.
#[tokio::test]
async fn the_same_digest_sent_twice_is_filed_once() {
    let gh = FakeGithub::start(TOKEN).await;
    let n = notifier(&gh.uri(), TOKEN, false);
    let now = chrono::Utc::now();
    let digest = |ids: &[&str]| Digest {
        generated_at: now,
        since: None,
        flows: vec![FlowDigest {
            flow: "etl".into(),
            total: ids.len() as u64,
            by_decision: [("rate_limited".to_string(), ids.len() as u64)]
                .into_iter()
                .collect(),
            signatures: vec![],
        }],
        entry_ids: ids
            .iter()
            .map(|i| flow_doctor_core::Id::from_string(*i))
            .collect(),
    };
    let first = n
        .notify(&Notification::Digest(digest(&["e1", "e2"])))
        .await
        .unwrap();
    assert_eq!(first.detail.as_deref(), Some("filed digest #1"));
    // The same entries, in another order.
    let again = n
        .notify(&Notification::Digest(digest(&["e2", "e1"])))
        .await
        .unwrap();
    assert_eq!(again.detail.as_deref(), Some("already filed as digest #1"));
    assert_eq!(again.url, first.url);
    assert_eq!(gh.real_issues().len(), 1);
    let other = n
        .notify(&Notification::Digest(digest(&["e3"])))
        .await
        .unwrap();
    assert_eq!(other.detail.as_deref(), Some("filed digest #2"));
    assert_eq!(gh.real_issues().len(), 2);
}
