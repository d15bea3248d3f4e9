//! A small LLM client: one `complete` call over the Anthropic Messages API
//! or any OpenAI-compatible chat-completions endpoint (OpenAI, OpenRouter,
//! vLLM, Ollama), with timeouts, retries and cost accounting.
//!
//! Used by [`LlmDiagnoser`](crate::LlmDiagnoser) and by the fix-PR crate.
//!
//! # Configuration (`diagnosis:` section)
//! | Key | Meaning |
//! |---|---|
//! | `provider` | `anthropic` (feature `anthropic`) or `openai` (feature `openai`) |
//! | `model` | model name; default `claude-sonnet-4-5` / `gpt-4o-mini` |
//! | `api_key` | required, except for `openai` with a `base_url` (a server of your own that needs none: no `Authorization` header is sent); the config loader falls back to `FLOW_DOCTOR_LLM_API_KEY`, then `ANTHROPIC_API_KEY` / `OPENAI_API_KEY` |
//! | `base_url` | default `https://api.anthropic.com` / `https://api.openai.com` |
//! | `timeout` | per request (default 60s) |
//! | `max_retries` | retries on 429, 5xx, 529 and network errors (default 2) |
//! | `input_price_per_mtok`, `output_price_per_mtok` | USD per million tokens; default from [`known_prices`], else 0 |
//! | `json_response_format` | send `response_format: json_object` to OpenAI-compatible servers for JSON calls |
//!
//! **Base URL rule:** the client appends `/v1/messages` (Anthropic) or
//! `/v1/chat/completions` (OpenAI-compatible) to `base_url`, except when
//! `base_url` already ends in `/v1`, where it appends only `/messages` or
//! `/chat/completions`. So `https://api.openai.com`,
//! `https://openrouter.ai/api/v1` and `http://localhost:11434/v1` all work.
//!
//! **Retries:** a 429 waits for `Retry-After` (seconds or an HTTP date) when
//! the server sends it and it is at most 60 s, otherwise exponential back-off
//! (0.5 s, 1 s, 2 s, ... capped at 30 s) with up to 50 % random jitter. 5xx,
//! Anthropic's 529 and network errors (timeouts included) retry the same way.
//! Other 4xx answers fail at once ([`Error::Permanent`]).
//!
//! The API key is sent only in the auth header; it never appears in `Debug`
//! output, logs or errors.
//!
//! ```no_run
//! # async fn demo() -> flow_doctor_core::Result<()> {
//! use flow_doctor_core::config::{DiagnosisConfig, LlmProvider, Secret};
//! use flow_doctor_diagnosis::llm::LlmClient;
//!
//! let mut cfg = DiagnosisConfig::default();
//! cfg.provider = LlmProvider::Anthropic;
//! cfg.api_key = Some(Secret::new("sk-ant-..."));
//! let client = LlmClient::from_config(&cfg)?;
//! let answer = client.complete("You are terse.", "Say hi.", 50).await?;
//! println!("{} ({} tokens in, ${:.4})", answer.text, answer.usage.input, answer.cost_usd);
//! # Ok(()) }
//! ```

#[cfg(feature = "anthropic")]
mod anthropic;
#[cfg(feature = "openai")]
mod openai;

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use flow_doctor_core::config::{DiagnosisConfig, LlmProvider, Secret};
use flow_doctor_core::{Error, Result, TokenUsage};

/// One completed LLM call.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The answer's text (text blocks concatenated).
    pub text: String,
    /// The model that answered (as reported by the server, else as configured).
    pub model: String,
    /// Token usage reported by the server.
    pub usage: TokenUsage,
    /// Cost in US dollars from the configured (or known) prices.
    pub cost_usd: f64,
}

/// Why a call failed, as the `source` of the returned [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The server answered with an error status.
    #[error("HTTP {status}: {message}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// The provider's error message (from its error body), shortened.
        message: String,
    },
    /// The request did not complete (connect error, timeout, broken body).
    #[error("request failed")]
    Network(#[source] reqwest::Error),
    /// The server answered 2xx with a body of the wrong shape.
    #[error("unexpected response: {0}")]
    Decode(String),
}

/// Prices in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pricing {
    /// Per million prompt tokens.
    pub input_per_mtok: f64,
    /// Per million completion tokens.
    pub output_per_mtok: f64,
}

impl Pricing {
    /// Cost of `usage` at these prices.
    pub fn cost(&self, usage: TokenUsage) -> f64 {
        (usage.input as f64 * self.input_per_mtok + usage.output as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

/// List prices (USD per million input/output tokens) of common models, as
/// published by their providers when this table was written; matched by
/// prefix after any `vendor/` part (OpenRouter names). Configure
/// `input_price_per_mtok` / `output_price_per_mtok` to be exact.
pub fn known_prices(model: &str) -> Option<Pricing> {
    const TABLE: &[(&str, f64, f64)] = &[
        ("claude-opus-4-5", 5.0, 25.0),
        ("claude-opus-4", 15.0, 75.0),
        ("claude-sonnet-4", 3.0, 15.0),
        ("claude-haiku-4", 1.0, 5.0),
        ("claude-3-7-sonnet", 3.0, 15.0),
        ("claude-3-5-sonnet", 3.0, 15.0),
        ("claude-3-5-haiku", 0.8, 4.0),
        ("claude-3-haiku", 0.25, 1.25),
        ("gpt-4o-mini", 0.15, 0.6),
        ("gpt-4o", 2.5, 10.0),
        ("gpt-4.1-nano", 0.1, 0.4),
        ("gpt-4.1-mini", 0.4, 1.6),
        ("gpt-4.1", 2.0, 8.0),
        ("gpt-5-nano", 0.05, 0.4),
        ("gpt-5-mini", 0.25, 2.0),
        ("gpt-5", 1.25, 10.0),
        ("o4-mini", 1.1, 4.4),
    ];
    let name = model.rsplit('/').next().unwrap_or(model);
    let name = name.replace('.', "-");
    TABLE
        .iter()
        .find(|(prefix, _, _)| name.starts_with(&prefix.replace('.', "-")))
        .map(|&(_, i, o)| Pricing {
            input_per_mtok: i,
            output_per_mtok: o,
        })
}

/// An LLM endpoint built from [`DiagnosisConfig`].
#[derive(Clone)]
pub struct LlmClient {
    provider: LlmProvider,
    http: reqwest::Client,
    endpoint: String,
    model: String,
    /// `None` only for an OpenAI-compatible server at a `base_url` (local
    /// servers such as Ollama or vLLM often need no key): then no
    /// `Authorization` header is sent.
    api_key: Option<Secret>,
    max_retries: u32,
    backoff_base: Duration,
    pricing: Pricing,
    /// Only OpenAI-compatible servers take `response_format`.
    #[cfg_attr(not(feature = "openai"), allow(dead_code))]
    json_response_format: bool,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("provider", &self.provider)
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("max_retries", &self.max_retries)
            .field("pricing", &self.pricing)
            .finish_non_exhaustive()
    }
}

/// Longest `Retry-After` honoured; longer waits give up with
/// [`Error::RateLimited`] carrying the delay.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Back-off cap.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl LlmClient {
    /// Builds a client. Fails with [`Error::Config`] when the provider is
    /// `none` or not compiled in, or the API key is missing.
    pub fn from_config(cfg: &DiagnosisConfig) -> Result<Self> {
        let (default_base, default_model) = match cfg.provider {
            LlmProvider::None => {
                return Err(Error::config(
                    "llm",
                    "diagnosis.provider is `none`; set it to `anthropic` or `openai`",
                ));
            }
            LlmProvider::Anthropic => {
                if !cfg!(feature = "anthropic") {
                    return Err(Error::config(
                        "llm",
                        "provider `anthropic` needs flow-doctor-diagnosis' `anthropic` feature",
                    ));
                }
                ("https://api.anthropic.com", "claude-sonnet-4-5")
            }
            LlmProvider::Openai => {
                if !cfg!(feature = "openai") {
                    return Err(Error::config(
                        "llm",
                        "provider `openai` needs flow-doctor-diagnosis' `openai` feature",
                    ));
                }
                ("https://api.openai.com", "gpt-4o-mini")
            }
        };
        let api_key = match &cfg.api_key {
            Some(k) if !k.expose().trim().is_empty() => Some(k.clone()),
            // As the configuration check allows: an OpenAI-compatible
            // server of your own may need no key.
            _ if cfg.provider == LlmProvider::Openai && cfg.base_url.is_some() => None,
            _ => {
                return Err(Error::config(
                    "llm",
                    "no API key: set diagnosis.api_key or FLOW_DOCTOR_LLM_API_KEY",
                ));
            }
        };
        let base = cfg.base_url.as_deref().unwrap_or(default_base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::config(
                "llm",
                "diagnosis.base_url must start with http:// or https://",
            ));
        }
        let endpoint = endpoint(
            base,
            match cfg.provider {
                LlmProvider::Anthropic => "messages",
                _ => "chat/completions",
            },
        );
        let model = cfg
            .model
            .clone()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| default_model.to_string());
        let known = known_prices(&model);
        let pricing = Pricing {
            input_per_mtok: cfg
                .input_price_per_mtok
                .or(known.map(|p| p.input_per_mtok))
                .unwrap_or(0.0),
            output_per_mtok: cfg
                .output_price_per_mtok
                .or(known.map(|p| p.output_per_mtok))
                .unwrap_or(0.0),
        };
        if known.is_none()
            && (cfg.input_price_per_mtok.is_none() || cfg.output_price_per_mtok.is_none())
        {
            tracing::warn!(
                message = "No price known for the LLM model; its cost counts as 0 against max_daily_cost_usd (the count cap still applies). Set input_price_per_mtok and output_price_per_mtok.",
                model = %model
            );
        }
        let timeout = cfg.timeout.get();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("flow-doctor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config("llm", format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            provider: cfg.provider,
            http,
            endpoint,
            model,
            api_key,
            max_retries: cfg.max_retries,
            backoff_base: Duration::from_millis(500),
            pricing,
            json_response_format: cfg.json_response_format,
        })
    }

    /// Sets the first back-off delay (default 500 ms); later ones double.
    pub fn with_backoff_base(mut self, base: Duration) -> Self {
        self.backoff_base = base;
        self
    }

    /// The provider.
    pub fn provider(&self) -> LlmProvider {
        self.provider
    }

    /// The component name used in errors (`"anthropic"`, `"openai"`).
    pub fn component(&self) -> &'static str {
        match self.provider {
            LlmProvider::Anthropic => "anthropic",
            _ => "openai",
        }
    }

    /// The configured model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The full URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The prices used for cost.
    pub fn pricing(&self) -> Pricing {
        self.pricing
    }

    /// Sends one system + user exchange and returns the answer as text.
    pub async fn complete(&self, system: &str, user: &str, max_tokens: u32) -> Result<Completion> {
        self.call(system, user, max_tokens, false).await
    }

    /// Like [`complete`](Self::complete), asking for a JSON object: with an
    /// OpenAI-compatible server and `json_response_format` on, the request
    /// carries `response_format: {"type": "json_object"}`. The caller still
    /// validates the text.
    pub async fn complete_json(
        &self,
        system: &str,
        user: &str,
        max_tokens: u32,
    ) -> Result<Completion> {
        self.call(system, user, max_tokens, true).await
    }

    async fn call(
        &self,
        system: &str,
        user: &str,
        max_tokens: u32,
        json: bool,
    ) -> Result<Completion> {
        let body = match self.provider {
            #[cfg(feature = "anthropic")]
            LlmProvider::Anthropic => {
                anthropic::request_body(&self.model, system, user, max_tokens)
            }
            #[cfg(feature = "openai")]
            LlmProvider::Openai => openai::request_body(
                &self.model,
                system,
                user,
                max_tokens,
                json && self.json_response_format,
            ),
            _ => {
                let _ = (system, user, max_tokens, json);
                return Err(Error::config("llm", "provider not compiled in"));
            }
        };
        let value = self.send_with_retries(&body).await?;
        let (text, model, usage) = match self.provider {
            #[cfg(feature = "anthropic")]
            LlmProvider::Anthropic => anthropic::parse_response(&value),
            #[cfg(feature = "openai")]
            LlmProvider::Openai => openai::parse_response(&value),
            _ => Err(LlmError::Decode("provider not compiled in".into())),
        }
        .map_err(|e| Error::permanent(self.component(), e))?;
        Ok(Completion {
            text,
            model: model.unwrap_or_else(|| self.model.clone()),
            usage,
            cost_usd: self.pricing.cost(usage),
        })
    }

    async fn send_with_retries(&self, body: &serde_json::Value) -> Result<serde_json::Value> {
        let mut attempt: u32 = 0;
        loop {
            let outcome = self.send_once(body).await;
            let (err, wait) = match outcome {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(e, wait)) => (e, wait),
            };
            if attempt >= self.max_retries {
                return Err(err);
            }
            let wait = match wait {
                Some(w) if w > MAX_RETRY_AFTER => return Err(err),
                Some(w) => w,
                None => self.backoff(attempt),
            };
            tracing::debug!(
                message = "Retrying LLM call.",
                provider = self.component(),
                attempt = attempt + 1,
                wait_ms = wait.as_millis() as u64,
                error = %err.chain_string()
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn send_once(&self, body: &serde_json::Value) -> Result<serde_json::Value, Failure> {
        let component = self.component();
        let mut req = self.http.post(&self.endpoint).json(body);
        req = match (self.provider, &self.api_key) {
            (LlmProvider::Anthropic, key) => req
                .header("x-api-key", key.as_ref().map_or("", |k| k.expose()))
                .header("anthropic-version", "2023-06-01"),
            (_, Some(key)) => req.bearer_auth(key.expose()),
            (_, None) => req,
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Err(Failure::Retry(
                    Error::transient(component, LlmError::Network(e.without_url())),
                    None,
                ));
            }
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => {
                return Err(Failure::Retry(
                    Error::transient(component, LlmError::Network(e.without_url())),
                    None,
                ));
            }
        };
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| {
                Failure::Fatal(Error::permanent(
                    component,
                    LlmError::Decode(format!("body is not JSON: {e}")),
                ))
            });
        }
        let err = LlmError::Status {
            status: status.as_u16(),
            message: error_message(&text),
        };
        Err(match status.as_u16() {
            429 => {
                tracing::debug!(message = "LLM rate limited.", provider = component, detail = %err);
                Failure::Retry(Error::rate_limited(component, retry_after), retry_after)
            }
            500..=599 => Failure::Retry(Error::transient(component, err), retry_after),
            _ => Failure::Fatal(Error::permanent(component, err)),
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(MAX_BACKOFF);
        let jitter_ms = (exp.as_millis() as u64 / 2).max(1);
        exp + Duration::from_millis(random_u64() % jitter_ms)
    }
}

enum Failure {
    Retry(Error, Option<Duration>),
    Fatal(Error),
}

/// `{base}/v1/{path}`, or `{base}/{path}` when `base` already ends in `/v1`.
fn endpoint(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/v1") {
        format!("{base}/{path}")
    } else {
        format!("{base}/v1/{path}")
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// The provider's error message from an error body (both providers use
/// `{"error": {"message": ...}}`), else the body's start.
fn error_message(body: &str) -> String {
    let msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let err = v.get("error")?;
            let message = err.get("message").and_then(|m| m.as_str());
            let kind = err.get("type").and_then(|t| t.as_str());
            match (kind, message) {
                (Some(k), Some(m)) => Some(format!("{k}: {m}")),
                (None, Some(m)) => Some(m.to_string()),
                _ => err.as_str().map(str::to_string),
            }
        })
        .unwrap_or_else(|| body.trim().to_string());
    flow_doctor_core::model::truncate_chars(&msg, 300)
}

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_rule_handles_v1_bases() {
        assert_eq!(
            endpoint("https://api.openai.com", "chat/completions"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            endpoint("https://openrouter.ai/api/v1/", "chat/completions"),
            "https://openrouter.ai/api/v1/chat/completions"
        );
        assert_eq!(
            endpoint("http://localhost:11434/v1", "chat/completions"),
            "http://localhost:11434/v1/chat/completions"
        );
        assert_eq!(
            endpoint("https://api.anthropic.com/", "messages"),
            "https://api.anthropic.com/v1/messages"
        );
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn prices_are_matched_by_prefix_and_vendor_prefix() {
        let p = known_prices("claude-sonnet-4-5-20250929").unwrap();
        assert_eq!((p.input_per_mtok, p.output_per_mtok), (3.0, 15.0));
        let p = known_prices("anthropic/claude-sonnet-4.5").unwrap();
        assert_eq!(p.input_per_mtok, 3.0);
        assert_eq!(
            known_prices("gpt-4o-mini-2024-07-18")
                .unwrap()
                .input_per_mtok,
            0.15
        );
        assert_eq!(known_prices("gpt-4o").unwrap().input_per_mtok, 2.5);
        assert!(known_prices("llama3.1:8b").is_none());
        let cost = p.cost(TokenUsage {
            input: 1_000_000,
            output: 100_000,
        });
        assert!((cost - 4.5).abs() < 1e-9);
    }

    #[test]
    fn error_bodies_yield_the_provider_message() {
        assert_eq!(
            error_message(
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            "overloaded_error: Overloaded"
        );
        assert_eq!(
            error_message(
                r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#
            ),
            "invalid_request_error: Incorrect API key provided"
        );
        assert_eq!(
            error_message("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }

    #[test]
    fn construction_checks_provider_and_key_and_debug_hides_the_key() {
        let mut cfg = DiagnosisConfig::default();
        assert!(matches!(
            LlmClient::from_config(&cfg),
            Err(Error::Config { .. })
        ));
        cfg.provider = if cfg!(feature = "anthropic") {
            LlmProvider::Anthropic
        } else {
            LlmProvider::Openai
        };
        let err = LlmClient::from_config(&cfg).unwrap_err();
        assert!(err.to_string().contains("no API key"), "{err}");
        cfg.api_key = Some(Secret::new("sk-test-SECRET-123"));
        let client = LlmClient::from_config(&cfg).unwrap();
        let dbg = format!("{client:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(client.pricing().input_per_mtok > 0.0);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut cfg = DiagnosisConfig::default();
        cfg.provider = if cfg!(feature = "anthropic") {
            LlmProvider::Anthropic
        } else {
            LlmProvider::Openai
        };
        cfg.api_key = Some(Secret::new("k"));
        let c = LlmClient::from_config(&cfg).unwrap();
        for attempt in 0..20 {
            let exp = Duration::from_millis(500)
                .saturating_mul(2u32.saturating_pow(attempt))
                .min(MAX_BACKOFF);
            let w = c.backoff(attempt);
            assert!(w >= exp && w <= exp + exp / 2, "attempt {attempt}: {w:?}");
        }
    }
}
