//! Integration tests of the `flow-doctor` binary, one module per verb.

mod config_check;
mod diagnose;
mod digest;
mod fingerprint;
mod generate_fix;
mod init_cmd;
mod playbook;
mod prune;
mod run;
mod scrub;

/// The GitHub REST fake of the notify crate's tests.
#[allow(dead_code)]
#[path = "../../../flow-doctor-notify/tests/it/support/github.rs"]
mod github_fake;

/// The SMTP peer (aiosmtpd) of the notify crate's tests.
#[allow(dead_code)]
#[path = "../../../flow-doctor-notify/tests/it/support/smtp.rs"]
mod smtp_peer;
