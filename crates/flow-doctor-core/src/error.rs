//! The one error type shared by every stage trait.
//!
//! Variants are organised around what the pipeline does next: retry
//! ([`Error::RateLimited`], [`Error::Transient`]), give up and record the
//! reason ([`Error::Permanent`]), or refuse to start ([`Error::Config`],
//! [`Error::ConfigFile`]).

use std::time::Duration;

/// A boxed error usable as a `source`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors returned by stages (stores, notifiers, diagnosers, remediators) and
/// by configuration loading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A component was configured wrongly; fix the configuration and restart.
    #[error("{component}: invalid configuration: {message}")]
    Config {
        /// The component that rejected its configuration (`"slack"`, `"sqlite"`, ...).
        component: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A configuration file could not be loaded; carries file, line, key and fix.
    #[error(transparent)]
    ConfigFile(#[from] crate::config::ConfigError),
    /// The remote side asked us to slow down; retry after the given delay.
    #[error("{component}: rate limited")]
    RateLimited {
        /// The component that was rate limited.
        component: &'static str,
        /// How long the remote side asked us to wait, when it said so.
        retry_after: Option<Duration>,
    },
    /// A failure that may succeed when retried (timeouts, 5xx, busy database).
    #[error("{component}: transient failure")]
    Transient {
        /// The component that failed.
        component: &'static str,
        /// The underlying cause.
        #[source]
        source: BoxError,
    },
    /// A failure that retrying will not fix (4xx, malformed answers, bad data).
    #[error("{component}: permanent failure")]
    Permanent {
        /// The component that failed.
        component: &'static str,
        /// The underlying cause.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// A configuration error for `component`.
    pub fn config(component: &'static str, message: impl Into<String>) -> Self {
        Self::Config {
            component,
            message: message.into(),
        }
    }

    /// A retryable failure of `component`.
    pub fn transient(component: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Transient {
            component,
            source: source.into(),
        }
    }

    /// A retryable failure of `component` whose remote side said when to
    /// try again (a 503 with `Retry-After`): retries wait that long, as
    /// they do for a rate limit, and the recorded reason keeps the cause.
    pub fn transient_after(
        component: &'static str,
        source: impl Into<BoxError>,
        retry_after: Duration,
    ) -> Self {
        Self::Transient {
            component,
            source: Box::new(RetryLater {
                retry_after,
                cause: source.into(),
            }),
        }
    }

    /// A non-retryable failure of `component`.
    pub fn permanent(component: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Permanent {
            component,
            source: source.into(),
        }
    }

    /// A rate-limit answer from `component`.
    pub fn rate_limited(component: &'static str, retry_after: Option<Duration>) -> Self {
        Self::RateLimited {
            component,
            retry_after,
        }
    }

    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Transient { .. })
    }

    /// The delay the remote side asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            Self::Transient { source, .. } => source
                .downcast_ref::<RetryLater>()
                .map(|later| later.retry_after),
            _ => None,
        }
    }

    /// The error and its whole `source()` chain on one line, for recorded reasons.
    pub fn chain_string(&self) -> String {
        error_chain_string(self)
    }
}

/// The cause of a [`Error::transient_after`]: the remote's answer and how
/// long it asked us to wait.
#[derive(Debug)]
struct RetryLater {
    retry_after: Duration,
    cause: BoxError,
}

impl std::fmt::Display for RetryLater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (asked to retry after {})",
            error_chain_string(self.cause.as_ref()),
            crate::config::HumanDuration(self.retry_after)
        )
    }
}

impl std::error::Error for RetryLater {}

/// The gist of a `regex` error for a one-line message: its `error:` line
/// (`unclosed group`) rather than the multi-line caret diagram.
pub fn regex_gist(message: &str) -> String {
    message
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| {
            l.trim_start()
                .trim_start_matches("error:")
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|| message.lines().next().unwrap_or_default().to_owned())
}

/// Formats an error and its `source()` chain as `outer: inner: innermost`.
pub fn error_chain_string(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_classification() {
        assert!(Error::rate_limited("x", None).is_retryable());
        assert!(Error::transient("x", "boom").is_retryable());
        assert!(!Error::permanent("x", "boom").is_retryable());
        assert!(!Error::config("x", "bad").is_retryable());
    }

    #[test]
    fn chain_string_walks_sources() {
        let err = Error::transient("slack", std::io::Error::other("connection reset"));
        assert_eq!(
            err.chain_string(),
            "slack: transient failure: connection reset"
        );
    }
}
