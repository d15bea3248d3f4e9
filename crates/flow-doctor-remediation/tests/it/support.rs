//! Shared helpers: reports, diagnoses, a remediation context on a real
//! `MemoryStore`, and (feature `aws`) a moto server per test.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use flow_doctor_core::testing::ManualClock;
use flow_doctor_core::{
    Category, Diagnosis, MemoryStore, RemediationContext, Report, ReportKind, Severity, Store,
};

/// A failure report of `flow` with a signature.
pub(crate) fn report(flow: &str, message: &str) -> Report {
    let mut r = Report::new(flow, Severity::Error, ReportKind::Error, message);
    r.signature = format!("sig-{flow}");
    r
}

/// A knowledge-base diagnosis.
pub(crate) fn diagnosis(category: Category, confidence: f64) -> Diagnosis {
    Diagnosis::new(category, "the app server is down", confidence)
}

/// Wednesday 2026-01-14 12:00 UTC.
pub(crate) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 1, 14, 12, 0, 0).unwrap(),
    ))
}

/// A context on a fresh `MemoryStore` and `clock`.
pub(crate) fn context(clock: &Arc<ManualClock>) -> (Arc<MemoryStore>, RemediationContext) {
    let store = Arc::new(MemoryStore::new());
    let ctx = RemediationContext {
        store: store.clone() as Arc<dyn Store>,
        clock: clock.clone(),
    };
    (store, ctx)
}

#[cfg(feature = "aws")]
pub(crate) use aws::*;

#[cfg(feature = "aws")]
mod aws {
    use std::net::{TcpListener, TcpStream};
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use flow_doctor_remediation::aws::aws_config::{self, BehaviorVersion, Region, SdkConfig};
    use flow_doctor_remediation::aws::aws_sdk_ssm::config::Credentials;
    use flow_doctor_remediation::aws::http_client;

    /// The peers' virtualenv: `FLOW_DOCTOR_PEERS_VENV`, else
    /// `<workspace>/.peers/venv`.
    pub(crate) fn venv() -> PathBuf {
        std::env::var_os("FLOW_DOCTOR_PEERS_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.peers/venv"))
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port")
    }

    /// A moto server on a free loopback port, killed when dropped.
    pub(crate) struct Moto {
        child: Child,
        /// `http://127.0.0.1:<port>`.
        pub(crate) endpoint: String,
    }

    impl Moto {
        /// Starts moto and waits until it accepts connections.
        pub(crate) fn start() -> Self {
            let bin = venv().join("bin").join("moto_server");
            assert!(
                bin.is_file(),
                "moto_server not found at {}: run `cargo xtask peers` (or set FLOW_DOCTOR_PEERS_VENV)",
                bin.display()
            );
            let port = free_port();
            let child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server starts");
            let mut moto = Self {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            let started = Instant::now();
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Ok(Some(status)) = moto.child.try_wait() {
                    panic!("moto_server exited early with {status}");
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "moto_server did not listen on port {port} within a minute"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            moto
        }

        /// SDK configuration pointing at this server (us-east-1,
        /// credentials testing/testing).
        pub(crate) async fn sdk_config(&self) -> SdkConfig {
            sdk_config(&self.endpoint).await
        }

        /// Creates an EC2 instance tagged `Role=<role>` through the EC2 query
        /// API and returns its id.
        pub(crate) async fn run_instance(&self, role: &str) -> String {
            let body = format!(
                "Action=RunInstances&ImageId=ami-12c6146b&MinCount=1&MaxCount=1&Version=2016-11-15\
                 &TagSpecification.1.ResourceType=instance\
                 &TagSpecification.1.Tag.1.Key=Role&TagSpecification.1.Tag.1.Value={role}"
            );
            let text = reqwest::Client::new()
                .post(format!("{}/", self.endpoint))
                .header("Content-Type", "application/x-www-form-urlencoded")
                // moto routes query-API calls by the credential scope's service
                .header(
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, \
                     SignedHeaders=host, Signature=0",
                )
                .body(body)
                .send()
                .await
                .expect("RunInstances request")
                .text()
                .await
                .expect("RunInstances body");
            let start = text
                .find("<instanceId>")
                .expect("an instance id in the answer")
                + 12;
            let end = start + text[start..].find("</instanceId>").expect("closing tag");
            text[start..end].to_string()
        }
    }

    impl Drop for Moto {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// SDK configuration for `endpoint` (us-east-1, testing/testing).
    pub(crate) async fn sdk_config(endpoint: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .http_client(http_client())
            .load()
            .await
    }
}
