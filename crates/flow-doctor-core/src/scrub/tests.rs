//! Unit tests: every secret family, the look-alikes that must survive, a
//! realistic log, idempotence and the map/env/report entry points.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::*;
use crate::model::{ExitInfo, Frame, LogLine, ReportKind, Severity};

const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const GIT_SHA: &str = "9fceb02d0ae598e95dc970b74767f19372d61af8";
const UUID: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn ghp() -> String {
    format!("ghp_{}", "aB3d".repeat(9))
}

/// Scrubs with the built-in rules, checks the expected text, that a
/// second pass changes nothing and that every marker names a known rule
/// (so that the second pass recognises it).
#[track_caller]
fn check(input: &str, expected: &str) {
    let s = Scrubber::new();
    let once = s.scrub(input);
    assert_eq!(once, expected, "input: {input}");
    let twice = s.scrub(&once);
    assert_eq!(twice, once, "not idempotent for: {input}");
    for (at, _) in once.match_indices(MARKER_PREFIX) {
        let rest = &once[at + MARKER_PREFIX.len()..];
        let name = &rest[..rest.find(']').unwrap_or(rest.len())];
        if !name.is_empty()
            && name
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
        {
            assert!(
                rules::marker_len(&once.as_bytes()[at..], &s).is_some(),
                "unknown marker name `{name}` in {once}"
            );
        }
    }
}

/// The text must come back byte-identical, and borrowed.
#[track_caller]
fn intact(input: &str) {
    let out = Scrubber::new().scrub(input);
    assert!(
        matches!(out, Cow::Borrowed(_)),
        "changed: {input}\n   into: {out}"
    );
}

/// A `scrub:` section built in code (the loader validates files; the
/// scrubber must still refuse a bad section built any other way).
fn cfg(patterns: &[(&str, &str)], keys: &[&str]) -> ScrubConfig {
    ScrubConfig {
        patterns: patterns
            .iter()
            .map(|(name, regex)| crate::config::ScrubPatternConfig {
                name: (*name).to_string(),
                regex: (*regex).to_string(),
            })
            .collect(),
        keys: keys.iter().map(|k| (*k).to_string()).collect(),
    }
}

// ---- families -----------------------------------------------------------

#[test]
fn aws_access_key_ids() {
    check(
        &format!("using {AWS_ID} for s3"),
        "using [REDACTED:aws_access_key_id] for s3",
    );
    check(
        "temporary ASIAY34FZKBOKMUTVV7A in session",
        "temporary [REDACTED:aws_access_key_id] in session",
    );
    // Too short, too long, lowercase, glued to a word: not key ids.
    intact(
        "AKIA1234 ASIAN markets AKIAIOSFODNN7EXAMPLEXX xAKIAIOSFODNN7EXAMPLE akiaiosfodnn7example",
    );
}

#[test]
fn aws_secret_access_keys() {
    check(
        &format!("aws_secret_access_key={AWS_SECRET}"),
        "aws_secret_access_key=[REDACTED:aws_secret_access_key]",
    );
    check(
        &format!("AWS_SECRET_ACCESS_KEY: \"{AWS_SECRET}\""),
        "AWS_SECRET_ACCESS_KEY: \"[REDACTED:aws_secret_access_key]\"",
    );
    check(
        &format!(r#"{{"AccessKeyId": "{AWS_ID}", "SecretAccessKey": "{AWS_SECRET}"}}"#),
        r#"{"AccessKeyId": "[REDACTED:aws_access_key_id]", "SecretAccessKey": "[REDACTED:aws_secret_access_key]"}"#,
    );
    // Near an AWS mention, without a key name.
    check(
        &format!("aws credentials {AWS_ID} {AWS_SECRET} loaded"),
        "aws credentials [REDACTED:aws_access_key_id] [REDACTED:aws_secret_access_key] loaded",
    );
    // 40 characters with no AWS context, or a path, or hex: not a secret.
    intact(&format!("checksum {AWS_SECRET} ok"));
    intact("aws s3 cp s3://bucket/Data/Raw2024/Events/Hourly/Part00001x/a.parquet .");
    intact(&format!("aws codecommit commit {GIT_SHA}"));
}

#[test]
fn gcp_keys_and_service_account_json() {
    check(
        "GET https://maps.googleapis.com/maps/api/geocode/json?key=AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
        "GET https://maps.googleapis.com/maps/api/geocode/json?key=[REDACTED:gcp_api_key]",
    );
    let sa = r#"{"type": "service_account", "project_id": "demo-123", "private_key_id": "1f2e3d4c5b6a", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n", "client_email": "etl@demo-123.iam.gserviceaccount.com"}"#;
    check(
        sa,
        r#"{"type": "service_account", "project_id": "demo-123", "private_key_id": "[REDACTED:private_key]", "private_key": "[REDACTED:private_key]", "client_email": "etl@demo-123.iam.gserviceaccount.com"}"#,
    );
    check(
        "client_secret=GOCSPX-abcDEF123456ghiJKL7890 token ya29.a0AfH6SMBx3kz9Q2w-LmNoPqRsTuVwXyZ012",
        "client_secret=[REDACTED:gcp_client_secret] token [REDACTED:gcp_oauth_token]",
    );
}

#[test]
fn azure_connection_strings_and_sas() {
    check(
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[REDACTED:account_key];EndpointSuffix=core.windows.net",
    );
    check(
        "GET https://acct.blob.core.windows.net/c/b.csv?sv=2021-08-06&se=2024-01-01T00%3A00Z&sr=b&sp=r&sig=Zk9%2Bq1%2FeXaMpLe%3D HTTP/1.1",
        "GET https://acct.blob.core.windows.net/c/b.csv?sv=2021-08-06&se=2024-01-01T00%3A00Z&sr=b&sp=r&sig=[REDACTED:signature] HTTP/1.1",
    );
    check(
        "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        "https://b.s3.amazonaws.com/k?X-Amz-Credential=[REDACTED:aws_access_key_id]&X-Amz-Signature=[REDACTED:signature]",
    );
}

#[test]
fn github_and_gitlab_tokens() {
    let t = ghp();
    check(
        &format!("token {t} used"),
        "token [REDACTED:github_token] used",
    );
    for p in ["gho_", "ghu_", "ghs_", "ghr_"] {
        let tok = format!("{p}{}", "Zx9y".repeat(9));
        check(&format!("[{tok}]"), "[[REDACTED:github_token]]");
    }
    let pat = format!(
        "github_pat_11ABCDEFG0{}_{}",
        "aB3d".repeat(5),
        "Xy7z".repeat(14)
    );
    check(&format!("GH={pat}"), "GH=[REDACTED:github_token]");
    check(
        &format!("GITHUB_TOKEN={t}"),
        "GITHUB_TOKEN=[REDACTED:github_token]",
    );
    check(
        "git clone https://oauth2:glpat-AbCdEf1234567890XyZw@gitlab.com/g/r.git",
        "git clone https://oauth2:[REDACTED:gitlab_token]@gitlab.com/g/r.git",
    );
    // Too short, or part of a longer identifier.
    intact("ghp_short gho_1234 my_ghp_aB3daB3daB3daB3daB3daB3daB3daB3daB3d_x");
}

#[test]
fn slack_tokens_and_webhooks() {
    for t in [
        "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxp-1234567890-1234567890-1234567890123-abcdef0123456789abcdef0123456789",
        "xoxa-2-1234567890-abcdefghij",
        "xoxr-1234567890-abcdefghij",
        "xapp-1-A0123456789-1234567890123-abcdef0123456789",
    ] {
        check(&format!("slack {t} ok"), "slack [REDACTED:slack_token] ok");
    }
    check(
        "posting to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX failed",
        "posting to https://hooks.slack.com/services/[REDACTED:slack_webhook] failed",
    );
    check(
        "https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz",
        "https://discord.com/api/webhooks/[REDACTED:discord_webhook]",
    );
    intact(
        "xoxo hugs, xoxb- alone, https://hooks.slack.com/ and https://example.com/api/webhooks/123456789012345678901234",
    );
}

#[test]
fn llm_and_payment_keys() {
    let ant = format!("sk-ant-api03-{}-AA", "Ab3_".repeat(20));
    check(&format!("key={ant}"), "key=[REDACTED:anthropic_key]");
    check(
        &format!("x-api-key: {ant}"),
        "x-api-key: [REDACTED:anthropic_key]",
    );
    let proj = format!("sk-proj-{}", "Ab3d-Ef5g_".repeat(8));
    check(
        &format!("OpenAI(api_key=\"{proj}\")"),
        "OpenAI(api_key=\"[REDACTED:openai_key]\")",
    );
    check(
        &format!("using sk-{} now", "Ab3dEf5g".repeat(6)),
        "using [REDACTED:openai_key] now",
    );
    check(
        "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc rk_live_4eC39HqLyjWDarjtT1zdp7dc sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "stripe [REDACTED:stripe_key] [REDACTED:stripe_key] [REDACTED:stripe_key]",
    );
    check(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw verified",
        "[REDACTED:stripe_webhook_secret] verified",
    );
    // Publishable keys, kebab-case names, task ids: not secrets.
    intact(
        "pk_live_4eC39HqLyjWDarjtT1zdp7dc task-sk-1 disk-usage-monitor-prod-eu-west sk-learn-pipeline-transformer",
    );
}

#[test]
fn other_registry_tokens() {
    check(
        &format!("//registry.npmjs.org/:_authToken=npm_{}", "aB3d".repeat(9)),
        "//registry.npmjs.org/:_authToken=[REDACTED:npm_token]",
    );
    check(
        &format!("HF hf_{}Ab login", "xYz9".repeat(8)),
        "HF [REDACTED:huggingface_token] login",
    );
    check(
        &format!("twine upload -p pypi-AgEIcHlwaS5vcmc{}", "Ab3d".repeat(12)),
        "twine upload -p [REDACTED:pypi_token]",
    );
    intact("hf_model_name=bert-base hf_hub_download npm_config_cache=/tmp/npm");
}

#[test]
fn jwts() {
    check(&format!("jwt {JWT} expired"), "jwt [REDACTED:jwt] expired");
    check(
        &format!("GET /cb?id_token={JWT}&state=x"),
        "GET /cb?id_token=[REDACTED:jwt]&state=x",
    );
    intact("eyJ alone, eyJhbGciOiJIUzI1NiJ9 without dots, key eyJ.x.y");
}

#[test]
fn authorization_headers() {
    check(
        &format!("Authorization: Bearer {JWT}"),
        "Authorization: Bearer [REDACTED:bearer]",
    );
    check(
        "authorization: Basic dXNlcjpwYXNzd29yZA==",
        "authorization: Basic [REDACTED:basic]",
    );
    check(
        r#"headers={'Authorization': 'Bearer abc123def456', 'Accept': 'json'}"#,
        r#"headers={'Authorization': 'Bearer [REDACTED:bearer]', 'Accept': 'json'}"#,
    );
    check(
        "curl -H \"Authorization: token ghp_xx12\" https://api.github.com",
        "curl -H \"Authorization: token [REDACTED:authorization]\" https://api.github.com",
    );
    check(
        "Proxy-Authorization: Digest username=\"bob\", response=\"6629fae49393a05397450978507c4ef1\"",
        "Proxy-Authorization: Digest [REDACTED:authorization]",
    );
    check(
        "sent with bearer 0123456789abcdef0123 to api",
        "sent with bearer [REDACTED:bearer] to api",
    );
    intact(
        "requires a Bearer token; bearer authentication failed; Basic setup; the bearer-auth module",
    );
}

#[test]
fn pem_private_keys() {
    let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq\n+/abc==\n-----END RSA PRIVATE KEY-----";
    check(
        &format!("loaded key:\n{block}\nnext line"),
        "loaded key:\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED:private_key]\n-----END RSA PRIVATE KEY-----\nnext line",
    );
    for label in [
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "PRIVATE KEY",
    ] {
        check(
            &format!("-----BEGIN {label}-----\r\nAAAA\r\nBBBB\r\n-----END {label}-----\r\n"),
            &format!(
                "-----BEGIN {label}-----\r\n[REDACTED:private_key]\r\n-----END {label}-----\r\n"
            ),
        );
    }
    // Encrypted legacy headers, and a block cut off before its END line.
    check(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,ABC\n\nMIIE\nQQ==",
        "-----BEGIN RSA PRIVATE KEY-----\n[REDACTED:private_key]",
    );
    check(
        "-----BEGIN PRIVATE KEY-----\nMIIEvQ\nAbCd\nthen the log goes on",
        "-----BEGIN PRIVATE KEY-----\n[REDACTED:private_key]\nthen the log goes on",
    );
    // Certificates and public keys are public.
    intact(
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
    );
}

#[test]
fn passwords_in_urls() {
    check(
        "connect postgres://etl:s3cr3t@db.internal:5432/warehouse failed",
        "connect postgres://etl:[REDACTED:url_password]@db.internal:5432/warehouse failed",
    );
    check(
        "redis://:p@ss@cache:6379/0",
        "redis://:[REDACTED:url_password]@cache:6379/0",
    );
    check(
        "https://user:pa%40ss@example.com?x=1 and mongodb+srv://u:pw@c0.mongodb.net",
        "https://user:[REDACTED:url_password]@example.com?x=1 and mongodb+srv://u:[REDACTED:url_password]@c0.mongodb.net",
    );
    intact(
        "https://example.com/a?b=c ssh://git@github.com:22/o/r https://host:8443/x?email=a@b.c git@github.com:o/r.git",
    );
    // Never across lines: the Python original's greedy rule ate whole logs.
    intact("see https://docs.example.com/setup\nuser: bob\nmail bob@example.com");
}

#[test]
fn url_passwords_with_slash_question_mark_or_hash() {
    // Generated base64 passwords contain `/`; others `?` or `#`.
    check(
        "DATABASE_URL=postgresql://app:Zm9v/YmFy+cXV4@db.internal:5432/prod",
        "DATABASE_URL=postgresql://app:[REDACTED:url_password]@db.internal:5432/prod",
    );
    check(
        "mongodb://root:pa#ss@mongo:27017/admin",
        "mongodb://root:[REDACTED:url_password]@mongo:27017/admin",
    );
    check(
        "redis://:a?b/c=@cache:6379/0 up",
        "redis://:[REDACTED:url_password]@cache:6379/0 up",
    );
    // An `@` in the password as well: up to the last `@` before the host.
    check(
        "amqp://etl:p@ss/w0rd@mq.internal/vhost",
        "amqp://etl:[REDACTED:url_password]@mq.internal/vhost",
    );
    // A user name that is an email address; several hosts.
    check(
        "smtp://me@example.com:app/pw@smtp.example.com:587",
        "smtp://me@example.com:[REDACTED:url_password]@smtp.example.com:587",
    );
    check(
        "mongodb://u:a/b@h1:27017,h2:27017/db?replicaSet=rs0",
        "mongodb://u:[REDACTED:url_password]@h1:27017,h2:27017/db?replicaSet=rs0",
    );
    // An `@` in the query or the fragment after the host is not userinfo.
    check(
        "postgres://u:pw/x@db/prod?user=ops@example.com#a@b",
        "postgres://u:[REDACTED:url_password]@db/prod?user=ops@example.com#a@b",
    );
    check(
        "https://u:pw@host/x?email=a@b.c",
        "https://u:[REDACTED:url_password]@host/x?email=a@b.c",
    );
    // `/@` after a host is a path segment (npm scopes, user pages).
    check(
        "https://u:tok@registry.example.com/api/npm/@babel/core https://u:pw@host/users/@alice",
        "https://u:[REDACTED:url_password]@registry.example.com/api/npm/@babel/core https://u:[REDACTED:url_password]@host/users/@alice",
    );
    // No `@` followed by a host: up to the last `@` before a `/` as before.
    check(
        "postgres://u:p@h!x http://x:y@",
        "postgres://u:[REDACTED:url_password]@h!x http://x:[REDACTED:url_password]@",
    );
    // No userinfo: an `@` in a path, after a port, in an IPv6 URL.
    intact(
        "https://example.com/a@b https://example.com/@scope/pkg https://host:8443/x/a@b.c?m=u@v.w http://[::1]:8080/a@b",
    );
    intact(
        "file://C:/Users/bob@corp.example.com/notes.txt docker://registry:5000/app@sha256:abc jdbc:sqlserver://db:1433;user=a@b.c",
    );
    intact("https://host:8443/a:b@c ftp://mirror/pub:x/a@b https://a:b/c no at sign");
}

#[test]
fn json_escaped_urls_with_credentials() {
    check(
        r#"{"dsn": "postgres:\/\/app:hunter2@db\/prod"}"#,
        r#"{"dsn": "postgres:\/\/app:[REDACTED:url_password]@db\/prod"}"#,
    );
    check(
        r#"{"url":"https:\/\/u:Zm9v\/YmFy@h.example.com:8443\/x?y=1"}"#,
        r#"{"url":"https:\/\/u:[REDACTED:url_password]@h.example.com:8443\/x?y=1"}"#,
    );
    intact(
        r#"{"a": "https:\/\/example.com\/a@b", "b": "http:\/\/host:8080\/p?e=a@b.c", "c": "s3:\/\/bucket\/k"}"#,
    );
}

/// 64-column base64 lines of a made-up key body.
fn key_body() -> String {
    [
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
        "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
        "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ",
        "AgMBAAE=",
    ]
    .join("\n")
}

#[test]
fn private_key_tails_without_begin() {
    let body = key_body();
    // The text starts inside the body (the last 4 KB of stderr).
    check(
        &format!("{}\n-----END PRIVATE KEY-----\nexit status 1", &body[17..]),
        "[REDACTED:private_key]\n-----END PRIVATE KEY-----\nexit status 1",
    );
    // Log lines before the body stay.
    check(
        &format!("2024-05-01 ERROR ssh-add failed:\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"),
        "2024-05-01 ERROR ssh-add failed:\n[REDACTED:private_key]\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    check(
        &format!(
            "gpg: dump\r\n{}\r\n=AbCd\r\n-----END PGP PRIVATE KEY BLOCK-----",
            body.replace('\n', "\r\n")
        ),
        "gpg: dump\r\n[REDACTED:private_key]\r\n-----END PGP PRIVATE KEY BLOCK-----",
    );
    // JSON with escaped newlines, cut inside the string.
    check(
        &format!(
            "{}\\n-----END RSA PRIVATE KEY-----\\n\", \"client_email\": \"etl@x.iam\"}}",
            body[3..].replace('\n', "\\n")
        ),
        "[REDACTED:private_key]\\n-----END RSA PRIVATE KEY-----\\n\", \"client_email\": \"etl@x.iam\"}",
    );
    // An END line alone, after prose, or of a certificate: nothing secret.
    intact("-----END PRIVATE KEY-----");
    intact("the file ends with\n-----END RSA PRIVATE KEY-----\nsee docs");
    intact(&format!("{body}\n-----END CERTIFICATE-----"));
}

#[test]
fn private_keys_cut_before_their_end_line() {
    let body = key_body();
    for label in ["PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY"] {
        check(
            &format!("key:\n-----BEGIN {label}-----\n{}", &body[..150]),
            &format!("key:\n-----BEGIN {label}-----\n[REDACTED:private_key]"),
        );
    }
    check(
        &format!(
            "{{\"pem\": \"-----BEGIN PRIVATE KEY-----\\n{}",
            body[..100].replace('\n', "\\n")
        ),
        "{\"pem\": \"-----BEGIN PRIVATE KEY-----\\n[REDACTED:private_key]",
    );
}

#[test]
fn credential_values_that_are_single_words() {
    check("token: secretvalue", "token: [REDACTED:token]");
    check(
        "auth: letmein, session: qwertyuiopasdfgh",
        "auth: [REDACTED:auth], session: [REDACTED:session]",
    );
    check("password: hunter", "password: [REDACTED:password]");
    check("api_key: abcdefgh", "api_key: [REDACTED:api_key]");
    // Error messages where the word after the key continues the sentence.
    intact("error: invalid token: expired; session: closed; credentials: missing");
    intact(
        "SyntaxError: Unexpected token: identifier; token: revoked; auth: required; session: started",
    );
    intact("signature: mismatch; authorization: denied; token: invalid; cookie: rejected");
    intact("credentials: unavailable; auth: none; token: refresh; session: timeout");
}

#[test]
fn telegram_bot_tokens() {
    check(
        "POST https://api.telegram.org/bot110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
        "POST https://api.telegram.org/bot110201543:[REDACTED:telegram_bot_token]/sendMessage",
    );
    check(
        "TELEGRAM=123456789:AAF-abcdefghijklmnopqrstuvwxyz01234",
        "TELEGRAM=123456789:[REDACTED:telegram_bot_token]",
    );
    intact("at 12:AA:BB, mac 00:AA:BB:CC:DD:EE, ratio 123456789:AAA");
}

#[test]
fn key_value_assignments() {
    check("password=hunter2", "password=[REDACTED:password]");
    check(
        "db_password = 'correct horse battery staple' next",
        "db_password = '[REDACTED:password]' next",
    );
    check(
        r#"{"user": "bob", "password": "p a s s", "apiKey":"k-123"}"#,
        r#"{"user": "bob", "password": "[REDACTED:password]", "apiKey":"[REDACTED:api_key]"}"#,
    );
    check(
        r#"msg="{\"client_secret\": \"abc def\", \"n\": 1}""#,
        r#"msg="{\"client_secret\": \"[REDACTED:client_secret]\", \"n\": 1}""#,
    );
    check(
        "GET /login?user=bob&token=abc123&next=/home",
        "GET /login?user=bob&token=[REDACTED:token]&next=/home",
    );
    check(
        "secret: s3cr3t, other: 1",
        "secret: [REDACTED:secret], other: 1",
    );
    check(
        "mysql -u root --password hunter2 -h db",
        "mysql -u root --password [REDACTED:password] -h db",
    );
    check(
        "mysql --password=hunter2 --db-pass=x",
        "mysql --password=[REDACTED:password] --db-pass=[REDACTED:password]",
    );
    check(
        "User(name=bob, passwd=ab)c)",
        "User(name=bob, passwd=[REDACTED:password])c)",
    );
    check(
        "f(password=p(x)y) SESSION_ID=4f3a:9b SessionToken=q",
        "f(password=[REDACTED:password]) SESSION_ID=[REDACTED:session] SessionToken=[REDACTED:token]",
    );
    check(
        "<password>hunter2</password>",
        "<password>[REDACTED:password]</password>",
    );
    check(
        "Cookie: sid=abc; theme=dark\nnext",
        "Cookie: [REDACTED:cookie]\nnext",
    );
    check(
        "spring.datasource.password=pw X-Api-Key: k1 credentials => 'c'",
        "spring.datasource.password=[REDACTED:password] X-Api-Key: [REDACTED:api_key] credentials => '[REDACTED:credential]'",
    );
    check("auth_token:=abc", "auth_token:=[REDACTED:token]");
    check(
        "Config(db='x', api_token=SecretStr('abc', v=1), n=2)",
        "Config(db='x', api_token=[REDACTED:token], n=2)",
    );
    check(
        "[parameters: {'token_1': 'abc123secret'}]",
        "[parameters: {'token_1': '[REDACTED:token]'}]",
    );
    check(
        r#"{"secrets": ["a b", "c]"], "credentials": {"u": "x"}, "n": 1}"#,
        r#"{"secrets": [REDACTED:secret], "credentials": [REDACTED:credential], "n": 1}"#,
    );
    check("PWD=abc123", "PWD=[REDACTED:password]");
}

#[test]
fn assignments_that_are_not_secrets() {
    intact("author=alice tokenizer_path=/models/tok.json passwords must be 12 characters long");
    intact(
        "token_type=Bearer secret_name=prod/db token_url=https://auth.example.com/token max_tokens=1024",
    );
    intact("session_timeout=30 password_file=/run/secrets/db KeyError: 'token' signature=3fa2c1");
    intact("password=None password=null token= secret=${DB_SECRET} password=$DB_PASSWORD pw=*** ");
    intact("private_key: |\n  -----BEGIN CERTIFICATE-----");
    intact(r#"{"token": "<redacted>", "password": "REDACTED", "secret": "<your-secret-here>"}"#);
    intact("PWD=/home/etl/project OLDPWD=/tmp GOOGLE_APPLICATION_CREDENTIALS=/secrets/sa.json");
    intact("if token == expected: conn = connect(password=password) auth=self.auth");
    intact("PASS: test_login\nFAIL: test_logout\npassed=10 failed=2 bypass=on");
    intact("Token::new(x) secret://vault/path monkey=1 keyboard: 2 design=flat");
    intact(
        "\tat com.acme.auth.TokenValidator.validate(TokenValidator.java:42)\n  File \"auth.py:17\"",
    );
    intact(
        "[SQL: SELECT * FROM users WHERE token = %(token_1)s AND password = ? AND auth = :auth]",
    );
    intact("pull access denied, may require authorization: server message: insufficient_scope");
    intact("error: invalid token: expired; session: closed; credentials: missing");
    intact(
        "session.timeout.ms=45000 token_expires_at=2024-05-01 sig_alg=RS256 password_min_length=12",
    );
}

#[test]
fn only_genuine_markers_are_skipped() {
    // Arbitrary text after `[REDACTED:` is scanned like any other.
    check(
        "[REDACTED: password=hunter2 ghp_0123456789abcdefghijklmnopqrstuvwxyz]",
        "[REDACTED: password=[REDACTED:password] [REDACTED:github_token]]",
    );
    check(
        "[REDACTED:glpat-abcdefghij0123456789]",
        "[REDACTED:[REDACTED:gitlab_token]]",
    );
    check(
        "password=[REDACTED:hunter2]",
        "password=[REDACTED:password]",
    );
    // Genuine markers stay untouched, and what follows them is scanned.
    check(
        "password=[REDACTED:password] token=[REDACTED:github_token] secret=abc",
        "password=[REDACTED:password] token=[REDACTED:github_token] secret=[REDACTED:secret]",
    );
    let mut m = BTreeMap::new();
    m.insert("password".to_string(), "[REDACTED:hunter2]".to_string());
    m.insert("token".to_string(), "[REDACTED:token]".to_string());
    Scrubber::new().scrub_map(&mut m);
    assert_eq!(m["password"], "[REDACTED:password]");
    assert_eq!(m["token"], "[REDACTED:token]");
    // A configured rule's name is a genuine marker of that scrubber.
    let s = Scrubber::from_config(&cfg(&[("Acme Key", "ACME-[0-9A-F]{8}")], &["Tenant-Code"]))
        .unwrap_or_else(|e| panic!("{e}"));
    let once = s.scrub("ACME-DEADBEEF tenantCode=42 [REDACTED:Acme Key] [REDACTED:Tenant-Code]");
    assert_eq!(
        once,
        "[REDACTED:Acme Key] tenantCode=[REDACTED:Tenant-Code] [REDACTED:Acme Key] [REDACTED:Tenant-Code]"
    );
    assert_eq!(s.scrub(&once), once);
}

#[test]
fn upper_snake_key_and_pat_names() {
    for name in [
        "FERNET_KEY",
        "JWT_KEY",
        "HMAC_KEY",
        "ENCRYPT_KEY",
        "GPG_KEY",
        "OPENAI_KEY",
        "ANTHROPIC_KEY",
        "AZURE_OPENAI_KEY",
        "STRIPE_KEY",
        "MY_SERVICE_KEY",
    ] {
        check(
            &format!("{name}=Zm9vYmFyYmF6cXV4 next"),
            &format!("{name}=[REDACTED:secret_key] next"),
        );
        check(
            &format!("{name}: Zm9vYmFyYmF6cXV4"),
            &format!("{name}: [REDACTED:secret_key]"),
        );
        check(
            &format!(r#"{{"{name}": "Zm9vYmFyYmF6cXV4", "n": 1}}"#),
            &format!(r#"{{"{name}": "[REDACTED:secret_key]", "n": 1}}"#),
        );
    }
    check(
        "GH_PAT=abcdef123456 AZURE_DEVOPS_PAT: xyz",
        "GH_PAT=[REDACTED:token] AZURE_DEVOPS_PAT: [REDACTED:token]",
    );
    // Lower-case names with a cryptographic or provider word.
    check(
        "fernet_key = Zm9vYmFy jwt_key=abc",
        "fernet_key = [REDACTED:secret_key] jwt_key=[REDACTED:secret_key]",
    );
    // Keys that name a row, an object or a pattern, not a secret.
    intact(
        "PRIMARY_KEY=id SORT_KEY=created_at PARTITION_KEY=day CACHE_KEY=user:42 FOREIGN_KEY=org_id",
    );
    intact(
        "S3_KEY=raw/2024/05/01/part-0001.parquet OBJECT_KEY=exports/a.csv PUBLIC_KEY=ssh-ed25519 HASH_KEY=pk",
    );
    intact("KEY=value the key=value pairs; sort_key=ts my_service_key=abc cache_key: u42");
    intact("GLOB_PAT=*.csv FILE_PAT: report PATH=/usr/bin PAT=x MAX_KEY=10 IS_KEY=true");
    let out = Scrubber::new().scrub_env([
        ("FERNET_KEY", "Zm9vYmFy"),
        ("GH_PAT", "ghp_short"),
        ("SORT_KEY", "created_at"),
        ("S3_KEY", "raw/a.parquet"),
    ]);
    let out: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        out,
        [
            ("FERNET_KEY", "[REDACTED:secret_key]"),
            ("GH_PAT", "[REDACTED:token]"),
            ("SORT_KEY", "created_at"),
            ("S3_KEY", "raw/a.parquet"),
        ]
    );
}

#[test]
fn command_line_credentials() {
    check(
        "curl -u admin:hunter2 https://api.example.com/v1",
        "curl -u admin:[REDACTED:password] https://api.example.com/v1",
    );
    check(
        "+ curl -sS --user admin:hunter2 -X POST https://x",
        "+ curl -sS --user admin:[REDACTED:password] -X POST https://x",
    );
    check(
        "curl --user=admin:hunter2 -s https://x",
        "curl --user=admin:[REDACTED:password] -s https://x",
    );
    check(
        "/usr/bin/curl -s -u 'deploy:p@ss word' https://x",
        "/usr/bin/curl -s -u 'deploy:[REDACTED:password]' https://x",
    );
    check(
        "mysql -h db -u root -phunter2 warehouse",
        "mysql -h db -u root -p[REDACTED:password] warehouse",
    );
    check(
        "mysqldump -uroot -p'hun ter2' --all-databases > dump.sql",
        "mysqldump -uroot -p'[REDACTED:password]' --all-databases > dump.sql",
    );
    check(
        "mysql --password=hunter2 -e 'select 1'",
        "mysql --password=[REDACTED:password] -e 'select 1'",
    );
    // A Python argument list in an error message.
    check(
        "Command '['mysql', '-u', 'root', '-phunter2', 'db']' returned non-zero exit status 1.",
        "Command '['mysql', '-u', 'root', '-p[REDACTED:password]', 'db']' returned non-zero exit status 1.",
    );
    check(
        "Command ['curl', '-u', 'admin:hunter2', 'https://x'] failed",
        "Command ['curl', '-u', 'admin:[REDACTED:password]', 'https://x'] failed",
    );
    check(
        "sshpass -p hunter2 ssh deploy@host",
        "sshpass -p [REDACTED:password] ssh deploy@host",
    );
    check(
        "sshpass -phunter2 scp a host:b",
        "sshpass -p[REDACTED:password] scp a host:b",
    );
    check(
        "redis-cli -h cache -a hunter2 ping; curl --proxy-user p:q https://y",
        "redis-cli -h cache -a [REDACTED:password] ping; curl --proxy-user p:[REDACTED:password] https://y",
    );
    check(
        "machine api.example.com login deploy password hunter2",
        "machine api.example.com login deploy password [REDACTED:password]",
    );
    check(
        "machine h\n  login u\n  password hunter2\nmachine g login v password s3cr3t",
        "machine h\n  login u\n  password [REDACTED:password]\nmachine g login v password [REDACTED:password]",
    );
    // A prompt (`-p` alone, `-u user`), a reference, a uid:gid, other tools.
    intact("curl -u admin https://x; mysql -u root -p warehouse; mysql -P3306 -h db");
    intact("docker run -u 1000:1000 img; docker run --user postgres:postgres img; sort -u a:b");
    intact("python -u run.py; git push -u origin main; pymysql -pfoo; curl_easy -u a:b");
    intact(
        "sshpass -f /run/secrets/pw ssh host; curl -u \"$USER:$PASS\" https://x; mysql -p$MYSQL_PWD",
    );
    // The command sshpass runs has options of its own (`ssh -p` is a port).
    intact("sshpass -f /run/secrets/pw ssh -p 2222 host; apt-get install mysql-client -phase");
    intact("login failed: wrong password for user bob; please log in again");
    intact("mysql> select 1; curl: (6) Could not resolve host; sshpass not found");
}

#[test]
fn precision_guard_stays_byte_identical() {
    intact(&format!(
        "commit {GIT_SHA} (short {}) merged",
        &GIT_SHA[..7]
    ));
    intact(&format!("request_id={UUID} trace={UUID}"));
    intact(&format!("sha256:{SHA256} image@sha256:{SHA256}"));
    intact(&format!(
        "sha512={}",
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
    ));
    intact(
        "s3://bucket/path/to/file-2024.parquet s3://aws-logs/AWSLogs/123456789012/CloudTrail/eu-west-1/2024/01/01/x.json.gz",
    );
    intact("gs://bucket/a/b.csv /var/lib/app/data.db C:\\Users\\etl\\out.txt ./rel/path.py");
    intact("https://example.com/path?q=1&page=2 http://localhost:8080/health");
    intact("2024-01-01T12:34:56.789Z 12:00:01 1700000000 3.14159 -42 0xdeadbeef");
    intact("The token bucket refills; secrets are rotated; cookies are disabled; session started.");
    intact("ünïcödé ✓ 日本語のテキスト password の説明 — em dash");
}

#[test]
fn realistic_log_keeps_everything_but_the_secrets() {
    let t = ghp();
    let input = format!(
        "2024-05-01T10:00:00.123Z INFO  etl.extract starting run_id={UUID} commit={GIT_SHA}\n\
         2024-05-01T10:00:00.456Z INFO  etl.extract reading s3://raw-data/events/2024/05/01/part-0001.parquet (sha256:{SHA256})\n\
         2024-05-01T10:00:01.000Z DEBUG botocore.credentials Found credentials in environment variables: AKIAIOSFODNN7EXAMPLE\n\
         2024-05-01T10:00:01.200Z INFO  etl.load connecting to postgres://etl:Sup3r-S3cret@warehouse.internal:5432/dw?sslmode=require\n\
         2024-05-01T10:00:02.000Z WARN  http.client retrying GET https://api.example.com/v1/items?page=2 (attempt 2/5)\n\
         2024-05-01T10:00:02.500Z DEBUG http.client headers={{\"Authorization\": \"Bearer {JWT}\", \"Accept\": \"application/json\"}}\n\
         {{\"ts\":\"2024-05-01T10:00:03Z\",\"level\":\"error\",\"msg\":\"push failed\",\"token\":\"{t}\",\"repo\":\"acme/etl\"}}\n\
         Traceback (most recent call last):\n  \
           File \"/opt/etl/load.py\", line 42, in load\n    \
             conn = connect(dsn, password=password)\n\
         psycopg2.OperationalError: FATAL:  password authentication failed for user \"etl\"\n\
         2024-05-01T10:00:04.000Z INFO  notify posting to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX\n\
         2024-05-01T10:00:05.000Z INFO  etl done: 1200 rows, 3.2s, see https://grafana.example.com/d/abc?orgId=1\n"
    );
    let expected = format!(
        "2024-05-01T10:00:00.123Z INFO  etl.extract starting run_id={UUID} commit={GIT_SHA}\n\
         2024-05-01T10:00:00.456Z INFO  etl.extract reading s3://raw-data/events/2024/05/01/part-0001.parquet (sha256:{SHA256})\n\
         2024-05-01T10:00:01.000Z DEBUG botocore.credentials Found credentials in environment variables: [REDACTED:aws_access_key_id]\n\
         2024-05-01T10:00:01.200Z INFO  etl.load connecting to postgres://etl:[REDACTED:url_password]@warehouse.internal:5432/dw?sslmode=require\n\
         2024-05-01T10:00:02.000Z WARN  http.client retrying GET https://api.example.com/v1/items?page=2 (attempt 2/5)\n\
         2024-05-01T10:00:02.500Z DEBUG http.client headers={{\"Authorization\": \"Bearer [REDACTED:bearer]\", \"Accept\": \"application/json\"}}\n\
         {{\"ts\":\"2024-05-01T10:00:03Z\",\"level\":\"error\",\"msg\":\"push failed\",\"token\":\"[REDACTED:github_token]\",\"repo\":\"acme/etl\"}}\n\
         Traceback (most recent call last):\n  \
           File \"/opt/etl/load.py\", line 42, in load\n    \
             conn = connect(dsn, password=password)\n\
         psycopg2.OperationalError: FATAL:  password authentication failed for user \"etl\"\n\
         2024-05-01T10:00:04.000Z INFO  notify posting to https://hooks.slack.com/services/[REDACTED:slack_webhook]\n\
         2024-05-01T10:00:05.000Z INFO  etl done: 1200 rows, 3.2s, see https://grafana.example.com/d/abc?orgId=1\n"
    );
    check(&input, &expected);
    // What was removed is the secrets, nothing else: the output without
    // its markers is the input without its secrets.
    let out = Scrubber::new().scrub(&input).into_owned();
    let mut without_secrets = input.clone();
    for secret in [
        AWS_ID,
        "Sup3r-S3cret",
        JWT,
        t.as_str(),
        "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    ] {
        without_secrets = without_secrets.replace(secret, "");
    }
    let mut without_markers = out.clone();
    for name in [
        "aws_access_key_id",
        "url_password",
        "bearer",
        "github_token",
        "slack_webhook",
    ] {
        without_markers = without_markers.replace(&format!("[REDACTED:{name}]"), "");
    }
    assert_eq!(without_markers, without_secrets);
}

#[test]
fn scrubbing_is_idempotent_and_never_panics_on_odd_input() {
    // Deterministic pseudo-random text built from trigger fragments,
    // separators and multi-byte characters.
    let pieces = [
        "AKIA",
        "ASIA",
        "aws",
        "ghp_",
        "github_pat_",
        "xoxb-",
        "xapp-",
        "sk-",
        "sk-ant-",
        "k_live_",
        "eyJ",
        ".",
        "Bearer ",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END",
        "://",
        ":AA",
        "@",
        ":",
        "=",
        "\"",
        "'",
        "\\\"",
        "\\n",
        "\n",
        " ",
        "password",
        "Token",
        "KEY",
        "sig",
        "é",
        "日本",
        "✓",
        "[REDACTED:",
        "]",
        "(",
        ")",
        "&",
        ";",
        ",",
        "--",
        "<password>",
        "0123456789",
        "AbCdEfGhIjKlMnOpQrSt",
        "+/==",
        "hooks.slack.com/services/",
        "AIza",
        "whsec_",
        "hf_",
        "npm_",
        "pypi-AgE",
        "ya29.",
        "GOCSPX-",
        "glpat-",
        // Escaped URLs, key tails, command lines, `_KEY` names, markers.
        ":\\/\\/",
        "/",
        "?",
        "#",
        "-----END PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEA",
        "curl -u ",
        "--user ",
        "mysql -p",
        "sshpass -p ",
        "machine h login u password ",
        "FERNET_KEY=",
        "GH_PAT: ",
        "token: ",
        "[REDACTED: ",
        "[REDACTED:password]",
    ];
    let s = Scrubber::new();
    // Cases a wider fuzz found: a key body or a value swallowing what ended
    // a command line's arguments, a value that starts with a marker, a
    // marker inside a path, a line cut inside a multi-byte character.
    let long_line = format!("curl -u a:{}", "é".repeat(3000));
    for text in [
        "machine h login u password '-----BEGIN PRIVATE KEY-----:'-----END PRIVATE KEY-----'",
        "redis-cli -u -----BEGIN PRIVATE KEY----- -a -----END PRIVATE KEY----------END PRIVATE KEY-----",
        "mysql -a -----BEGIN PRIVATE KEY-----PAT\n,-----END PRIVATE KEY-----\"\" -puGH_PAT: ",
        "mysql machine h login u password host.example.com| -pcurl",
        "curl\t-----BEGIN PRIVATE KEY-----mysql\"Bearer -----END PRIVATE KEY----- -u :\\/\\/ -u ",
        "GOOGLE_APPLICATION_CREDENTIALS=/secrets/ghp_0123456789abcdefghijklmnopqrstuvwxyz",
        long_line.as_str(),
    ] {
        let once = s.scrub(text).into_owned();
        assert_eq!(s.scrub(&once), once, "not idempotent for {text:?}");
    }
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..(state % 40) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(pieces[(state % pieces.len() as u64) as usize]);
        }
        let once = s.scrub(&text).into_owned();
        let twice = s.scrub(&once);
        assert_eq!(twice, once, "not idempotent for {text:?}");
    }
}

// ---- keys, maps, environments, reports ----------------------------------

#[test]
fn secret_key_heuristic() {
    let s = Scrubber::new();
    for k in [
        "password",
        "PASSWORD",
        "Password",
        "passwd",
        "pwd",
        "DB_PASS",
        "db-password",
        "dbPassword",
        "secret",
        "CLIENT_SECRET",
        "clientSecret",
        "token",
        "auth_token",
        "accessToken",
        "csrftoken",
        "api_key",
        "apiKey",
        "APIKey",
        "X-Api-Key",
        "apikey",
        "access_key",
        "AWS_SECRET_ACCESS_KEY",
        "private_key",
        "private_key_id",
        "AccountKey",
        "SharedAccessKey",
        "auth",
        "Authorization",
        "Proxy-Authorization",
        "credential",
        "credentials",
        "session",
        "session_id",
        "JSESSIONID",
        "cookie",
        "Set-Cookie",
        "sig",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "spring.datasource.password",
        "passphrase",
        "FERNET_KEY",
        "AZURE_OPENAI_KEY",
        "MY_SERVICE_KEY",
        "GPG_KEY",
        "hmac_key",
        "GH_PAT",
    ] {
        assert!(s.is_secret_key(k), "{k} should be secret");
        // The marker it gets is one a later scrub recognises.
        let name = keys::classify(k).unwrap_or_default();
        assert!(keys::CONCEPT_NAMES.contains(&name), "{k}: {name}");
    }
    for k in [
        "author",
        "authority",
        "tokenizer",
        "tokenizer_path",
        "max_tokens",
        "token_count",
        "token_type",
        "token_url",
        "secret_name",
        "password_file",
        "session_timeout",
        "KeyError",
        "key",
        "keys",
        "pass",
        "passed",
        "bypass",
        "signature",
        "public_key",
        "primary_key",
        "OLDPWD",
        "monkey",
        "user",
        "sha",
        "is_secret",
        "oauth",
        "design",
        "",
        "-",
        "KEY",
        "PRIMARY_KEY",
        "SORT_KEY",
        "PARTITION_KEY",
        "CACHE_KEY",
        "FOREIGN_KEY",
        "S3_KEY",
        "OBJECT_KEY",
        "PUBLIC_KEY",
        "SSH_PUBLIC_KEY",
        "my_service_key",
        "sort_key",
        "KEY_FILE",
        "SERVICE_KEY_PATH",
        "PAT",
        "PATH",
        "GLOB_PAT",
        "MAX_KEY",
    ] {
        assert!(!s.is_secret_key(k), "{k} should not be secret");
    }
}

#[test]
fn maps_are_scrubbed_by_key_and_by_value() {
    let s = Scrubber::new();
    let mut m = BTreeMap::new();
    m.insert("db_password".to_string(), "hunter 2".to_string());
    m.insert("Authorization".to_string(), "Bearer abc123".to_string());
    m.insert("author".to_string(), "alice".to_string());
    m.insert("dsn".to_string(), "postgres://u:pw@h/db".to_string());
    m.insert("api_key".to_string(), "None".to_string());
    m.insert("note".to_string(), format!("token {}", ghp()));
    m.insert("session".to_string(), String::new());
    s.scrub_map(&mut m);
    assert_eq!(m["db_password"], "[REDACTED:password]");
    assert_eq!(m["Authorization"], "Bearer [REDACTED:bearer]");
    assert_eq!(m["author"], "alice");
    assert_eq!(m["dsn"], "postgres://u:[REDACTED:url_password]@h/db");
    assert_eq!(m["api_key"], "None");
    assert_eq!(m["note"], "token [REDACTED:github_token]");
    assert_eq!(m["session"], "");
    let again = m.clone();
    s.scrub_map(&mut m);
    assert_eq!(m, again);
}

#[test]
fn environment_dumps_are_scrubbed_in_order() {
    let s = Scrubber::new();
    let env = [
        ("HOME", "/home/etl"),
        ("PWD", "/home/etl/job"),
        ("AWS_ACCESS_KEY_ID", AWS_ID),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T0/B0/abcdefghijkl",
        ),
        ("GITHUB_TOKEN", "x"),
        ("PATH", "/usr/bin:/bin"),
    ];
    let out = s.scrub_env(env);
    let expect = [
        ("HOME", "/home/etl"),
        ("PWD", "/home/etl/job"),
        ("AWS_ACCESS_KEY_ID", "[REDACTED:aws_access_key_id]"),
        ("AWS_SECRET_ACCESS_KEY", "[REDACTED:aws_secret_access_key]"),
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/[REDACTED:slack_webhook]",
        ),
        ("GITHUB_TOKEN", "[REDACTED:token]"),
        ("PATH", "/usr/bin:/bin"),
    ];
    let out: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(out, expect);
}

#[test]
fn reports_are_scrubbed_in_every_field() {
    let secret = ghp();
    let mut r = Report::new(
        "etl",
        Severity::Error,
        ReportKind::ProcessExit,
        format!("push failed with {secret}"),
    );
    r.error_type = Some("HTTPError".into());
    r.source_chain = vec![format!("caused by token={secret}")];
    r.traceback = Some(format!("Traceback\n  token {secret}"));
    r.frames = vec![Frame {
        file: "https://u:pw@host/app.py".into(),
        function: format!("call {secret}"),
        line: Some(1),
        module: Some(format!("m {secret}")),
        in_app: true,
    }];
    r.logs = vec![LogLine {
        at: r.occurred_at,
        level: "INFO".into(),
        target: "etl".into(),
        message: format!("using {secret}"),
    }];
    r.context.insert("password".into(), "pw".into());
    r.context.insert("commit".into(), GIT_SHA.into());
    r.exit = Some(ExitInfo {
        command: "mysql --password hunter2".into(),
        duration_ms: 1,
        ..ExitInfo::default()
    });
    r.stage = Some(format!("stage {secret}"));
    r.run_id = Some(format!("run {secret}"));
    r.fingerprint = format!("fp {secret}");
    r.custom_fingerprint = Some(format!("cfp {secret}"));
    r.cascade_source = Some(crate::model::CascadeSource {
        flow: "up".into(),
        report_id: r.id.clone(),
        at: r.occurred_at,
        summary: format!("up failed {secret}"),
    });
    r.diagnosis_error = Some(format!("llm said {secret}"));
    Scrubber::new().scrub_report(&mut r);
    let json = serde_json::to_string(&r).unwrap_or_default();
    assert!(!json.is_empty());
    assert!(!json.contains(&secret), "secret left in {json}");
    assert!(
        !json.contains("hunter2") && !json.contains(":pw@"),
        "{json}"
    );
    assert_eq!(r.context["password"], "[REDACTED:password]");
    assert_eq!(r.context["commit"], GIT_SHA);
    assert_eq!(r.frames[0].function, "call [REDACTED:github_token]");
    assert_eq!(r.error_type.as_deref(), Some("HTTPError"));
}

// ---- configuration ------------------------------------------------------

#[test]
fn user_patterns_and_keys() {
    let c = cfg(
        &[("acme_key", "ACME-[0-9A-F]{8}")],
        &["x_internal", "Tenant-Code"],
    );
    let s = Scrubber::from_config(&c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.scrub("id ACME-DEADBEEF and X-Internal-Ref: abc, tenantCode=42 ok"),
        "id [REDACTED:acme_key] and X-Internal-Ref: [REDACTED:x_internal], tenantCode=[REDACTED:Tenant-Code] ok"
    );
    assert!(s.is_secret_key("MY_X_INTERNAL_ID"));
    assert!(!Scrubber::new().is_secret_key("MY_X_INTERNAL_ID"));
    // Built-ins still apply, and the result is stable.
    let input = format!("{AWS_ID} ACME-0000FFFF");
    let once = s.scrub(&input);
    assert_eq!(once, "[REDACTED:aws_access_key_id] [REDACTED:acme_key]");
    assert_eq!(s.scrub(&once), once);
    assert!(matches!(s.scrub("nothing here"), Cow::Borrowed(_)));
}

#[test]
fn invalid_user_regex_is_a_config_error_with_a_fix() {
    let c = cfg(&[("ok", "a+"), ("broken", "ACME-[0-9")], &[]);
    let err = Scrubber::from_config(&c).map(|_| ()).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("scrub.patterns[1].regex"));
    assert!(err.message.contains("broken"), "{err}");
    assert!(err.message.ends_with("unclosed character class"), "{err}");
    assert!(err.fix.is_some(), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("scrub.patterns[1].regex: scrub pattern `broken`"),
        "{text}"
    );

    let c = cfg(&[("empty", "x*")], &[]);
    let err = Scrubber::from_config(&c).map(|_| ()).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("scrub.patterns[0].regex"));
    assert!(err.message.contains("empty string"), "{err}");

    let c = cfg(&[], &["--"]);
    let err = Scrubber::from_config(&c).map(|_| ()).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("scrub.keys[0]"));
}

#[test]
fn debug_names_rules_but_never_matches() {
    let c = cfg(&[("acme_key", "ACME-[0-9A-F]{8}")], &[]);
    let s = Scrubber::from_config(&c).unwrap_or_else(|e| panic!("{e}"));
    let _ = s.scrub("ACME-DEADBEEF");
    let dbg = format!("{s:?}");
    assert!(dbg.contains("acme_key"), "{dbg}");
    assert!(
        !dbg.contains("DEADBEEF") && !dbg.contains("ACME-["),
        "{dbg}"
    );
    fn shareable<T: Send + Sync + Clone + 'static>(_: &T) {}
    shareable(&s);
}

#[test]
fn clean_text_is_borrowed() {
    let s = Scrubber::new();
    let text = "2024-05-01 INFO nothing to see here, key facts only\n".repeat(100);
    assert!(matches!(s.scrub(&text), Cow::Borrowed(_)));
    let mut owned = text.clone();
    s.scrub_string(&mut owned);
    assert_eq!(owned, text);
}

/// JSON log lines escape `=`, `_` or `/` as `\u003d`, `\u005f`, `\/`; the
/// secret behind the escape is found, and the text kept in its decoded
/// (same-meaning) form with the secret redacted. Text without a secret
/// keeps its escapes.
#[test]
fn json_unicode_escapes_do_not_hide_secrets() {
    let s = Scrubber::new();
    let line = r#"{"level":"error","msg":"login failed password\u003dhunter2secret","svc":"auth"}"#;
    let out = s.scrub(line);
    assert!(!out.contains("hunter2secret"), "{out}");
    assert!(out.contains("login failed password="), "{out}");
    assert!(out.contains("[REDACTED"), "{out}");
    let token = r#"{"msg":"cannot reach ghp\u005fabcdefghijklmnopqrstuvwxyz0123456789AB repo"}"#;
    let out = s.scrub(token);
    assert!(
        !out.contains("abcdefghijklmnopqrstuvwxyz0123456789AB"),
        "{out}"
    );
    // Nothing secret: the escapes stay, and nothing is copied.
    let clean = r#"{"msg":"rows \u003d 12, path a\/b, quote \" and \\u003d"}"#;
    assert!(
        matches!(s.scrub(clean), Cow::Borrowed(_)),
        "{}",
        s.scrub(clean)
    );
    // Idempotent.
    let once = s.scrub(line).into_owned();
    assert_eq!(s.scrub(&once), once);
}
