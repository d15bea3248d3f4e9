//! `TelegramNotifier` against a wiremock server speaking the Bot API's
//! `sendMessage`/`getMe` wire format.

use std::time::Duration;

use flow_doctor_core::config::{Secret, TelegramConfig};
use flow_doctor_core::{Error, Notification, Notifier};
use flow_doctor_notify::telegram::{MESSAGE_LIMIT, TelegramNotifier};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{class, free_port, incident};

const TOKEN: &str = "123456789:AAH-SEKRITtelegramtoken_abcdefghijk";

fn notifier(base: &str, thread: Option<i64>) -> TelegramNotifier {
    let mut cfg = TelegramConfig::default();
    cfg.bot_token = Some(Secret::new(TOKEN));
    cfg.chat_id = "-1001234567890".into();
    cfg.thread_id = thread;
    cfg.base_url = Some(base.to_string());
    TelegramNotifier::new(&cfg).unwrap()
}

fn sent_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "ok": true,
        "result": {
            "message_id": 4242,
            "from": { "id": 123456789, "is_bot": true, "first_name": "flow-doctor", "username": "flow_doctor_bot" },
            "chat": { "id": -1001234567890i64, "title": "On-call", "type": "supergroup" },
            "date": 1767225600,
            "text": "..."
        }
    }))
}

async fn telegram(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{TOKEN}/sendMessage")))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn sent_json(server: &MockServer) -> Value {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    serde_json::from_slice(&requests[0].body).unwrap()
}

#[tokio::test]
async fn sends_escaped_html_to_the_chat_and_topic() {
    let server = telegram(sent_ok()).await;
    let mut inc = incident("sig");
    inc.report.message = "<script> & 'customer_id'".into();
    inc.diagnosis.as_mut().unwrap().root_cause = "x < y && y > z".into();

    let d = notifier(&server.uri(), Some(77))
        .notify(&Notification::Incident(inc))
        .await
        .unwrap();
    assert_eq!(d.external_id.as_deref(), Some("4242"));

    let sent = sent_json(&server).await;
    assert_eq!(sent["chat_id"], json!(-1001234567890i64));
    assert_eq!(sent["message_thread_id"], 77);
    assert_eq!(sent["parse_mode"], "HTML");
    assert_eq!(sent["disable_web_page_preview"], true);
    let text = sent["text"].as_str().unwrap();
    assert!(
        text.contains("<b>[etl] KeyError: &lt;script&gt; &amp; 'customer_id'</b>"),
        "{text}"
    );
    assert!(text.contains("x &lt; y &amp;&amp; y &gt; z"), "{text}");
    assert!(text.contains("<code>etl/load.py</code>"), "{text}");
    assert!(
        text.contains("<pre>Traceback (most recent call last):"),
        "{text}"
    );
    assert!(!text.contains("<script>"));
}

#[tokio::test]
async fn long_messages_fit_the_limit_with_balanced_tags() {
    let server = telegram(sent_ok()).await;
    let mut inc = incident("sig");
    inc.report.traceback = Some("  File \"a<b>.py\" & more\n".repeat(2_000));
    notifier(&server.uri(), None)
        .notify(&Notification::Incident(inc))
        .await
        .unwrap();
    let sent = sent_json(&server).await;
    assert!(sent.get("message_thread_id").is_none());
    let text = sent["text"].as_str().unwrap();
    assert!(
        text.encode_utf16().count() <= MESSAGE_LIMIT,
        "{}",
        text.len()
    );
    for tag in ["b", "code", "pre"] {
        assert_eq!(
            text.matches(&format!("<{tag}>")).count(),
            text.matches(&format!("</{tag}>")).count(),
            "<{tag}> balanced"
        );
    }
    assert!(text.ends_with("</pre>"), "{}", &text[text.len() - 50..]);
}

#[tokio::test]
async fn too_many_requests_uses_parameters_retry_after() {
    let server = telegram(ResponseTemplate::new(429).set_body_json(json!({
        "ok": false,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": { "retry_after": 7 }
    })))
    .await;
    let err = notifier(&server.uri(), None)
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap_err();
    assert_eq!(class(&err), ("rate_limited", "telegram"), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn errors_never_carry_the_token() {
    let server = telegram(ResponseTemplate::new(400).set_body_json(json!({
        "ok": false,
        "error_code": 400,
        "description": "Bad Request: chat not found"
    })))
    .await;
    let err = notifier(&server.uri(), None)
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Permanent { .. }), "{err:?}");
    let chain = err.chain_string();
    assert!(chain.contains("chat not found"), "{chain}");
    assert!(!chain.contains("SEKRIT"), "{chain}");

    let server = telegram(ResponseTemplate::new(502).set_body_string("Bad Gateway")).await;
    let err = notifier(&server.uri(), None)
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");

    let down = format!("http://127.0.0.1:{}", free_port());
    let err = notifier(&down, None)
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    let chain = err.chain_string();
    assert!(
        !chain.contains("SEKRIT") && !chain.contains("/bot"),
        "{chain}"
    );
    assert!(!format!("{err:?}").contains("SEKRIT"));
}

#[tokio::test]
async fn check_rejects_a_bad_token_and_tolerates_an_outage() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/bot{TOKEN}/getMe")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "ok": false, "error_code": 401, "description": "Unauthorized"
        })))
        .mount(&server)
        .await;
    let err = notifier(&server.uri(), None).check().await.unwrap_err();
    assert_eq!(class(&err), ("config", "telegram"), "{err:?}");
    assert!(!err.to_string().contains("SEKRIT"));

    let down = format!("http://127.0.0.1:{}", free_port());
    notifier(&down, None).check().await.unwrap();
}
