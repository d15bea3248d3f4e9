//! The reqwest plumbing shared by Slack, Telegram and webhooks: a client
//! with a timeout, and the mapping of answers onto [`Error`].

use std::time::Duration;

use flow_doctor_core::{Error, Result};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::util::{Problem, RemoteError, parse_retry_after};

/// Default request timeout of the HTTP channels.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A client with a timeout and flow-doctor's `User-Agent`.
pub(crate) fn client(component: &'static str, timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(crate::USER_AGENT)
        // a POST redirected to a GET would be lost; a 3xx is a permanent failure
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::config(component, format!("cannot build the HTTP client: {e}")))
}

/// An answer read in full.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

/// Sends a request and reads the whole answer. Transport failures
/// (unreachable, timeout, reset) are transient; the URL, which may hold a
/// credential, is stripped from the error.
pub(crate) async fn send(
    component: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<Answer> {
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(component, e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .text()
        .await
        .map_err(|e| transport_error(component, e))?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Maps a reqwest error, without its URL.
pub(crate) fn transport_error(component: &'static str, err: reqwest::Error) -> Error {
    let err = err.without_url();
    if err.is_builder() {
        Error::permanent(
            component,
            Problem(format!("cannot build the request: {err}")),
        )
    } else {
        Error::transient(component, err)
    }
}

/// Maps a non-success answer: 429 → rate limited (with `Retry-After`),
/// 408 and 5xx → transient (waiting as `Retry-After` says, when it is
/// sent), anything else → permanent.
pub(crate) fn status_error(
    component: &'static str,
    service: &'static str,
    answer: &Answer,
) -> Error {
    let status = answer.status;
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Error::rate_limited(component, retry_after(&answer.headers));
    }
    let source = RemoteError::new(service, status.as_u16(), &answer.body);
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        // RFC 9110: a 503 (or any answer) may say when to come back.
        match retry_after(&answer.headers) {
            Some(wait) => Error::transient_after(component, source, wait),
            None => Error::transient(component, source),
        }
    } else {
        Error::permanent(component, source)
    }
}

/// The `Retry-After` header, when present and readable.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, chrono::Utc::now()))
}
