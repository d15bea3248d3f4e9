//! The real SMTP peer (aiosmtpd from the project's Python virtualenv) and
//! helpers to read what it received.
//!
//! Depends on std, `serde_json` and `tempfile` only, so the integration
//! tests of other crates of the workspace include it with
//! `#[path = "../../../flow-doctor-notify/tests/it/support/smtp.rs"]`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The workspace's `crates/` directory (every crate's manifest sits one
/// level below it).
fn crates_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The project's Python peers virtualenv: `FLOW_DOCTOR_PEERS_VENV`, else
/// `<workspace>/.peers/venv`.
pub(crate) fn venv() -> PathBuf {
    let venv = std::env::var_os("FLOW_DOCTOR_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| crates_dir().join("../.peers/venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no Python peers virtualenv at {}: run `cargo xtask peers` first",
        venv.display()
    );
    venv
}

/// A free TCP port on loopback.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A real SMTP server (aiosmtpd) on loopback that stores each message as
/// JSON in a temporary folder. Killed on drop.
pub(crate) struct SmtpSink {
    pub(crate) port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

/// How the sink secures its connections.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SinkTls<'a> {
    /// Plain SMTP.
    None,
    /// STARTTLS offered and required, with this certificate.
    Starttls(&'a TestCa),
    /// TLS from the first byte, with this certificate.
    Implicit(&'a TestCa),
}

/// A throw-away CA and a server certificate it signed for `127.0.0.1` and
/// `localhost`, made with the `openssl` command.
#[derive(Debug)]
pub(crate) struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("the openssl command runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=flow-doctor test CA",
                ],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &ec,
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=localhost",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write the extensions");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        Self { dir }
    }

    /// The CA certificate (PEM), for `tls_ca_file`.
    pub(crate) fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

impl SmtpSink {
    pub(crate) fn start(auth: Option<(&str, &str)>) -> Self {
        Self::start_with(auth, SinkTls::None)
    }

    pub(crate) fn start_with(auth: Option<(&str, &str)>, tls: SinkTls<'_>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let script = crates_dir().join("flow-doctor-notify/tests/peers/smtp_sink.py");
        let mut cmd = Command::new(venv().join("bin/python"));
        cmd.arg("-u")
            .arg(&script)
            .arg("--dir")
            .arg(dir.path())
            .arg("--port")
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some((user, password)) = auth {
            cmd.arg("--auth").arg(format!("{user}:{password}"));
        }
        let (mode, ca) = match tls {
            SinkTls::None => (None, None),
            SinkTls::Starttls(ca) => (Some("starttls"), Some(ca)),
            SinkTls::Implicit(ca) => (Some("tls"), Some(ca)),
        };
        if let (Some(mode), Some(ca)) = (mode, ca) {
            cmd.arg("--tls")
                .arg(mode)
                .arg("--cert")
                .arg(ca.dir.path().join("server.pem"))
                .arg("--key")
                .arg(ca.dir.path().join("server.key"));
        }
        let mut child = cmd.spawn().expect("start the SMTP sink");
        let stdout = child.stdout.take().expect("sink stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // a guard against a hung peer, not a timing assertion
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_default();
        assert_eq!(line.trim(), "READY", "the SMTP sink did not start");
        Self { port, dir, child }
    }

    /// The messages received so far, oldest first.
    pub(crate) fn messages(&self) -> Vec<Value> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
        paths.sort();
        paths
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of header `name` in a message stored by [`SmtpSink`].
pub(crate) fn header<'a>(msg: &'a Value, name: &str) -> Option<&'a str> {
    msg["headers"].as_array()?.iter().find_map(|h| {
        (h[0].as_str()?.eq_ignore_ascii_case(name))
            .then(|| h[1].as_str())
            .flatten()
    })
}

/// The decoded text of the MIME part with `content_type`.
pub(crate) fn part<'a>(msg: &'a Value, content_type: &str) -> Option<&'a str> {
    msg["parts"]
        .as_array()?
        .iter()
        .find(|p| p["content_type"] == content_type)
        .and_then(|p| p["text"].as_str())
}
