//! Integration tests of the `flow-doctor` binary, one module per verb.

mod config_check;
mod diagnose;
mod digest;
mod fingerprint;
mod generate_fix;
mod init_cmd;
mod playbook;
mod run;
mod scrub;
