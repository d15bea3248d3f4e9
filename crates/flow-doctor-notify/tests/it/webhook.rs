//! `WebhookNotifier` against a wiremock receiver; the signature is checked
//! with an independent HMAC computation over the bytes received.

use std::time::Duration;

use flow_doctor_core::config::{Secret, WebhookConfig};
use flow_doctor_core::{Error, Notification, Notifier};
use flow_doctor_notify::webhook::WebhookNotifier;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::incident;

const KEY: &str = "whsec_SEKRIT_shared_key";

fn notifier(base: &str, secret: Option<&str>) -> WebhookNotifier {
    let mut cfg = WebhookConfig::default();
    cfg.url = Secret::new(format!("{base}/hooks/flow-doctor?token=SEKRITurl"));
    cfg.secret = secret.map(Secret::new);
    cfg.headers
        .insert("X-Team".into(), Secret::new("data-platform"));
    WebhookNotifier::new(&cfg).unwrap()
}

async fn receiver(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/flow-doctor"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn posts_the_documented_document_signed_with_hmac() {
    let server = receiver(ResponseTemplate::new(204)).await;
    let inc = incident("sig");
    let d = notifier(&server.uri(), Some(KEY))
        .notify(&Notification::Incident(inc.clone()))
        .await
        .unwrap();
    assert_eq!(d.detail.as_deref(), Some("HTTP 204"));

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    let header = |name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(
        header("user-agent"),
        format!("flow-doctor/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(header("x-team"), "data-platform");
    assert_eq!(header("x-flow-doctor-event"), "incident");

    // independent verification, as a receiver would do it
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(&r.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header("x-flow-doctor-signature"), expected);

    let doc: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["type"], "incident");
    assert_eq!(doc["title"], "[etl] KeyError: 'customer_id'");
    assert_eq!(doc["report"]["id"], inc.report.id.as_str());
    assert_eq!(doc["report"]["signature"], "sig");
    assert_eq!(doc["diagnosis"]["category"], "CODE");
    assert!(doc["recurrence"].is_null());
    assert!(doc["links"].as_array().unwrap().is_empty());
    let sent_at = chrono::DateTime::parse_from_rfc3339(doc["sent_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        header("x-flow-doctor-timestamp"),
        sent_at.timestamp().to_string()
    );
}

#[tokio::test]
async fn unsigned_without_a_secret() {
    let server = receiver(ResponseTemplate::new(200)).await;
    notifier(&server.uri(), None)
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap();
    let r = &server.received_requests().await.unwrap()[0];
    assert!(r.headers.get("x-flow-doctor-signature").is_none());
}

#[tokio::test]
async fn answers_map_onto_the_retry_policy() {
    let cases = [
        (ResponseTemplate::new(503), "transient"),
        (
            ResponseTemplate::new(503)
                .insert_header("retry-after", "7")
                .set_body_string("down for maintenance"),
            "transient_after",
        ),
        (ResponseTemplate::new(408), "transient"),
        (ResponseTemplate::new(404), "permanent"),
        (ResponseTemplate::new(401), "permanent"),
        (
            ResponseTemplate::new(302).insert_header("location", "https://elsewhere.example/"),
            "permanent",
        ),
        (
            ResponseTemplate::new(429).insert_header("retry-after", "12"),
            "rate_limited",
        ),
    ];
    for (response, want) in cases {
        let server = receiver(response).await;
        let err = notifier(&server.uri(), Some(KEY))
            .notify(&Notification::Incident(incident("sig")))
            .await
            .unwrap_err();
        let got = match &err {
            Error::Transient { .. } if err.retry_after().is_some() => "transient_after",
            Error::Transient { .. } => "transient",
            Error::Permanent { .. } => "permanent",
            Error::RateLimited { .. } => "rate_limited",
            _ => "other",
        };
        assert_eq!(got, want, "{err:?}");
        match want {
            "rate_limited" => assert_eq!(err.retry_after(), Some(Duration::from_secs(12))),
            // The wait is honoured and the cause kept in the reason.
            "transient_after" => {
                assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
                let reason = err.chain_string();
                assert!(reason.contains("503"), "{reason}");
                assert!(reason.contains("down for maintenance"), "{reason}");
                assert!(reason.contains("asked to retry after 7s"), "{reason}");
            }
            "transient" => assert_eq!(err.retry_after(), None),
            _ => {}
        }
        assert!(
            !err.chain_string().contains("SEKRIT"),
            "{}",
            err.chain_string()
        );
    }
}
