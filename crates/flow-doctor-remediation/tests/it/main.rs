//! Public-API tests of flow-doctor-remediation: playbook files, the local
//! executor, attempt limits and lockouts through a real store, and (feature
//! `aws`) SSM and Step Functions against the moto server and local fakes.

mod files;
mod limits;
mod local;
mod support;

#[cfg(feature = "aws")]
mod aws_sfn;
#[cfg(feature = "aws")]
mod aws_ssm;
