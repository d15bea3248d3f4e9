//! `EmailNotifier` against a real SMTP server (aiosmtpd on loopback).

use flow_doctor_core::config::{EmailConfig, Secret, SmtpSecurity};
use flow_doctor_core::{Error, Notification, Notifier};
use flow_doctor_notify::email::EmailNotifier;

use crate::support::{SinkTls, SmtpSink, TestCa, class, free_port, header, incident, part};

fn config(port: u16) -> EmailConfig {
    let mut cfg = EmailConfig::default();
    cfg.smtp_host = "127.0.0.1".into();
    cfg.smtp_port = Some(port);
    cfg.security = SmtpSecurity::None;
    cfg.from = "Flow Doctor <flow-doctor@example.com>".into();
    cfg.to = vec![
        "oncall@example.com".into(),
        "Data Team <data@example.com>".into(),
    ];
    cfg
}

/// Passes the start-up check, then delivers one incident.
async fn check_and_send(cfg: &EmailConfig) {
    let n = EmailNotifier::new(cfg).unwrap();
    n.check().await.unwrap();
    n.notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap();
}

#[tokio::test]
async fn delivers_a_multipart_mail_with_traceback_diagnosis_and_files() {
    let sink = SmtpSink::start(None);
    let n = EmailNotifier::new(&config(sink.port)).unwrap();
    let inc = incident("sig");

    let d = n
        .notify(&Notification::Incident(inc.clone()))
        .await
        .unwrap();
    assert_eq!(d.detail.as_deref(), Some("sent to 2 recipients"));

    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m["mail_from"], "flow-doctor@example.com");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["oncall@example.com", "data@example.com"])
    );
    assert_eq!(
        header(m, "From"),
        Some("Flow Doctor <flow-doctor@example.com>")
    );
    let to = header(m, "To").unwrap();
    assert!(
        to.contains("oncall@example.com") && to.contains("data@example.com"),
        "{to}"
    );
    assert_eq!(
        header(m, "Subject"),
        Some("[flow-doctor] [etl] KeyError: 'customer_id'")
    );
    assert_eq!(
        header(m, "Message-ID"),
        Some(format!("<incident.{}@flow-doctor>", inc.report.id).as_str())
    );
    assert_eq!(m["content_type"], "multipart/alternative");

    let plain = part(m, "text/plain").expect("a text/plain part");
    let html = part(m, "text/html").expect("a text/html part");
    for body in [plain, html] {
        assert!(body.contains("line 42, in load_rows"), "traceback:\n{body}");
        assert!(
            body.contains("The loader reads a column the export dropped."),
            "diagnosis:\n{body}"
        );
        assert!(body.contains("etl/load.py"), "affected files:\n{body}");
        assert!(body.contains("CODE"), "{body}");
    }
    assert!(plain.contains("KeyError: 'customer_id'"));
    assert!(html.contains("<li><code>etl/load.py</code></li>"), "{html}");
    assert!(
        html.contains("KeyError: &#x27;customer_id&#x27;")
            || html.contains("KeyError: 'customer_id'")
    );
}

#[tokio::test]
async fn authenticates_when_configured_and_a_wrong_password_is_permanent() {
    let sink = SmtpSink::start(Some(("flow", "s3cret-pw")));
    let mut cfg = config(sink.port);
    cfg.username = Some("flow".into());
    cfg.password = Some(Secret::new("s3cret-pw"));
    cfg.subject_prefix = Some("[etl-alerts]".into());
    check_and_send(&cfg).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        header(&messages[0], "Subject")
            .unwrap()
            .starts_with("[etl-alerts] [etl]")
    );
    assert!(!messages[0]["raw"].as_str().unwrap().contains("s3cret-pw"));

    cfg.password = Some(Secret::new("wrong-pw"));
    let bad = EmailNotifier::new(&cfg).unwrap();
    let err = bad
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap_err();
    assert_eq!(class(&err), ("permanent", "email"), "{err:?}");
    assert!(err.chain_string().contains("535"), "{}", err.chain_string());
    let err = bad.check().await.unwrap_err();
    assert_eq!(class(&err), ("config", "email"), "{err:?}");
    assert!(!err.to_string().contains("wrong-pw"));
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_transient_and_does_not_block_start_up() {
    let n = EmailNotifier::new(&config(free_port())).unwrap();
    let err = n
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap_err();
    assert_eq!(class(&err), ("transient", "email"), "{err:?}");
    n.check().await.unwrap();
}

#[tokio::test]
async fn starttls_and_implicit_tls_deliver_with_auth_to_a_server_signed_by_the_configured_ca() {
    let ca = TestCa::new();
    for (security, tls) in [
        (SmtpSecurity::Starttls, SinkTls::Starttls(&ca)),
        (SmtpSecurity::Tls, SinkTls::Implicit(&ca)),
    ] {
        // AUTH is only offered once the connection is encrypted.
        let sink = SmtpSink::start_with(Some(("flow", "s3cret-pw")), tls);
        let mut cfg = config(sink.port);
        cfg.security = security;
        cfg.username = Some("flow".into());
        cfg.password = Some(Secret::new("s3cret-pw"));
        cfg.tls_ca_file = Some(ca.ca_file());
        check_and_send(&cfg).await;
        let messages = sink.messages();
        assert_eq!(messages.len(), 1, "{security:?}");
        assert!(
            header(&messages[0], "Subject")
                .unwrap()
                .starts_with("[flow-doctor] [etl]"),
            "{security:?}: {:?}",
            header(&messages[0], "Subject")
        );

        // Without the CA the server's certificate is not trusted: start-up
        // fails loudly, a delivery fails permanently, and nothing is sent.
        cfg.tls_ca_file = None;
        let untrusted = EmailNotifier::new(&cfg).unwrap();
        let err = untrusted.check().await.unwrap_err();
        assert_eq!(class(&err), ("config", "email"), "{security:?}: {err:?}");
        let err = untrusted
            .notify(&Notification::Incident(incident("sig")))
            .await
            .unwrap_err();
        assert_eq!(class(&err), ("permanent", "email"), "{security:?}: {err:?}");
        assert!(
            err.chain_string().to_lowercase().contains("certificate"),
            "{security:?}: {}",
            err.chain_string()
        );
        assert_eq!(sink.messages().len(), 1, "{security:?}");
    }
}

#[test]
fn a_plain_server_is_refused_when_starttls_is_required() {
    let sink = SmtpSink::start(None);
    let mut cfg = config(sink.port);
    cfg.security = SmtpSecurity::Starttls;
    let n = EmailNotifier::new(&cfg).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(n.notify(&Notification::Incident(incident("sig"))))
        .unwrap_err();
    assert!(matches!(err, Error::Permanent { .. }), "{err:?}");
    assert!(sink.messages().is_empty(), "nothing sent in the clear");
}

/// A relay refusing one recipient (550, user unknown) refuses the whole
/// transaction; the others still get the mail, each in an envelope of its
/// own, and the refusal is named. When every recipient is refused, the
/// failure is permanent.
#[tokio::test]
async fn one_refused_recipient_does_not_cost_the_others_the_mail() {
    let sink = SmtpSink::start(None);
    let mut cfg = config(sink.port);
    cfg.to = vec![
        "oncall@example.com".into(),
        "nobody-left@example.com".into(),
        "data@example.com".into(),
    ];
    let n = EmailNotifier::new(&cfg).unwrap();
    let d = n
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap();
    let detail = d.detail.unwrap_or_default();
    assert!(
        detail.starts_with("sent to 2 of 3 recipients; refused nobody-left@example.com: "),
        "{detail}"
    );
    assert!(detail.contains("550"), "{detail}");
    let messages = sink.messages();
    let rcpts: Vec<&serde_json::Value> = messages.iter().map(|m| &m["rcpt_tos"]).collect();
    assert_eq!(
        rcpts,
        [
            &serde_json::json!(["oncall@example.com"]),
            &serde_json::json!(["data@example.com"])
        ]
    );
    // The header still shows everyone the mail was addressed to.
    let to = header(&messages[0], "To").unwrap();
    assert!(
        to.contains("nobody-left@example.com") && to.contains("data@example.com"),
        "{to}"
    );

    cfg.to = vec!["nobody-a@example.com".into(), "nobody-b@example.com".into()];
    let err = EmailNotifier::new(&cfg)
        .unwrap()
        .notify(&Notification::Incident(incident("sig")))
        .await
        .unwrap_err();
    assert_eq!(class(&err), ("permanent", "email"), "{err:?}");
    assert_eq!(sink.messages().len(), 2, "nothing more was accepted");
}
