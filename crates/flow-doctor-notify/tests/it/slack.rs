//! `SlackNotifier` against a wiremock server speaking the incoming-webhook
//! wire format (`200 ok`, `400 invalid_payload`, `404 no_service`, `429`
//! with `Retry-After`).

use std::time::Duration;

use flow_doctor_core::config::{Secret, SlackConfig};
use flow_doctor_core::notify::Link;
use flow_doctor_core::{Error, Notification, Notifier, Severity};
use flow_doctor_notify::slack::SlackNotifier;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{class, free_port, incident};

const HOOK_PATH: &str = "/services/T0001/B0002/SEKRITslackhook";

fn notifier(base: &str) -> SlackNotifier {
    let mut cfg = SlackConfig::default();
    cfg.webhook_url = Some(Secret::new(format!("{base}{HOOK_PATH}")));
    SlackNotifier::new(&cfg).unwrap()
}

async fn slack(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn posts_block_kit_with_emoji_fallback_and_issue_link() {
    let server = slack(ResponseTemplate::new(200).set_body_string("ok")).await;
    let mut inc = incident("sig");
    inc.report.severity = Severity::Critical;
    inc.links.push(Link {
        channel: "github".into(),
        label: "GitHub issue #12".into(),
        url: "https://github.com/acme/etl/issues/12".into(),
    });

    let d = notifier(&server.uri())
        .notify(&Notification::Incident(inc))
        .await
        .unwrap();
    assert_eq!(d.detail.as_deref(), Some("posted to Slack"));

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.headers.get("content-type").unwrap(), "application/json");
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["text"], "[etl] KeyError: 'customer_id'");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(
        blocks[0]["text"]["text"],
        ":rotating_light: [etl] KeyError: 'customer_id'"
    );
    let text = body.to_string();
    assert!(text.contains("*Flow*\\netl"), "{text}");
    assert!(text.contains("CODE (93% confidence)"));
    assert!(text.contains("The loader reads a column the export dropped."));
    let actions = blocks.iter().find(|b| b["type"] == "actions").unwrap();
    assert_eq!(
        actions["elements"][0]["url"],
        "https://github.com/acme/etl/issues/12"
    );
    assert_eq!(actions["elements"][0]["text"]["text"], "GitHub issue #12");
}

#[tokio::test]
async fn too_many_requests_is_rate_limited_with_retry_after() {
    let server = slack(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "30")
            .set_body_string("rate_limited"),
    )
    .await;
    let err = notifier(&server.uri())
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap_err();
    assert_eq!(class(&err), ("rate_limited", "slack"), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
}

#[tokio::test]
async fn slack_refusals_are_permanent_with_slacks_reason_and_no_url() {
    for (status, answer) in [
        (400, "invalid_payload"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ] {
        let server = slack(ResponseTemplate::new(status).set_body_string(answer)).await;
        let err = notifier(&server.uri())
            .notify(&Notification::Incident(incident("sig")))
            .await
            .unwrap_err();
        assert_eq!(class(&err), ("permanent", "slack"), "{err:?}");
        let chain = err.chain_string();
        assert!(chain.contains(answer), "{chain}");
        assert!(!chain.contains("SEKRIT"), "{chain}");
    }
}

#[tokio::test]
async fn server_errors_and_outages_are_transient_without_the_url() {
    let server = slack(ResponseTemplate::new(500).set_body_string("internal_error")).await;
    let err = notifier(&server.uri())
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");

    let down = format!("http://127.0.0.1:{}", free_port());
    let err = notifier(&down)
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    let chain = err.chain_string();
    assert!(
        !chain.contains("SEKRIT") && !chain.contains("/services/"),
        "{chain}"
    );
}
