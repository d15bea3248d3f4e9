//! AWS clients for the SSM and Step Functions executors (feature `aws`).
//!
//! Credentials come from the standard AWS chain (environment, shared
//! profile files, web identity, ECS and EC2 instance metadata). Config keys
//! (`remediation.aws`): `region`, `endpoint_url` (e.g. a local emulator),
//! `profile`. The HTTPS client is rustls on *ring*, wired explicitly so the
//! build does not need `aws-lc-sys`.
//!
//! The SDK crates are re-exported so callers can build an
//! [`aws_config::SdkConfig`] of the same version (custom credentials, a
//! test endpoint) and pass it to
//! [`PlaybookRemediator::aws_sdk_config`](crate::PlaybookRemediator::aws_sdk_config).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use flow_doctor_core::config::AwsConfig;

pub use aws_config;
pub use aws_sdk_sfn;
pub use aws_sdk_ssm;

/// The clients the executors share.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub(crate) ssm: aws_sdk_ssm::Client,
    pub(crate) sfn: aws_sdk_sfn::Client,
    pub(crate) region: Option<String>,
    pub(crate) custom_endpoint: bool,
}

impl AwsClients {
    /// Clients from the standard AWS chain, with `remediation.aws`
    /// overrides applied.
    pub async fn load(cfg: &AwsConfig) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
        if let Some(region) = cfg.region.as_deref().filter(|r| !r.trim().is_empty()) {
            loader = loader.region(Region::new(region.trim().to_string()));
        }
        if let Some(url) = cfg.endpoint_url.as_deref().filter(|u| !u.trim().is_empty()) {
            loader = loader.endpoint_url(url.trim());
        }
        if let Some(profile) = cfg.profile.as_deref().filter(|p| !p.trim().is_empty()) {
            loader = loader.profile_name(profile.trim());
        }
        Self::from_sdk_config(&loader.load().await)
    }

    /// Clients from a prepared SDK configuration.
    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        Self {
            ssm: aws_sdk_ssm::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            region: sdk.region().map(|r| r.to_string()),
            custom_endpoint: sdk.endpoint_url().is_some(),
        }
    }
}

/// The HTTPS client used for AWS calls: hyper with rustls on *ring*; plain
/// `http://` endpoints (local emulators) work too.
pub fn http_client() -> aws_sdk_ssm::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// `Code: message` of an SDK error, or its full display chain when the
/// service sent no code (connection refused, timeout).
pub(crate) fn error_text<E, R>(err: &aws_sdk_ssm::error::SdkError<E, R>) -> (Option<String>, String)
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_ssm::error::ProvideErrorMetadata;
    match err.code() {
        Some(code) => {
            let msg = err.message().unwrap_or("").trim();
            let text = if msg.is_empty() {
                code.to_string()
            } else {
                format!("{code}: {msg}")
            };
            (Some(code.to_string()), text)
        }
        None => (
            None,
            aws_sdk_ssm::error::DisplayErrorContext(err).to_string(),
        ),
    }
}
