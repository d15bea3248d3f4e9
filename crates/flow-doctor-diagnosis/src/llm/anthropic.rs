//! Anthropic Messages API wire format (`POST /v1/messages`).

use flow_doctor_core::TokenUsage;
use serde_json::{Value, json};

use super::LlmError;

/// `{model, max_tokens, temperature, system, messages: [{role: user, content}]}`.
pub(super) fn request_body(model: &str, system: &str, user: &str, max_tokens: u32) -> Value {
    json!({
        "model": model,
        "max_tokens": max_tokens,
        "temperature": 0,
        "system": system,
        "messages": [{ "role": "user", "content": user }],
    })
}

/// Text of `content[]` text blocks, the model, and `usage`.
pub(super) fn parse_response(v: &Value) -> Result<(String, Option<String>, TokenUsage), LlmError> {
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| LlmError::Decode("no `content` array".into()))?;
    let text: String = blocks
        .iter()
        .filter(|b| {
            b.get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "text")
        })
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("");
    if text.trim().is_empty() {
        return Err(LlmError::Decode(format!(
            "no text in the answer (stop_reason: {})",
            v.get("stop_reason")
                .and_then(Value::as_str)
                .unwrap_or("none")
        )));
    }
    let usage = v.get("usage");
    let count = |k: &str| {
        usage
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok((
        text,
        v.get("model").and_then(Value::as_str).map(str::to_string),
        TokenUsage {
            input: count("input_tokens"),
            output: count("output_tokens"),
        },
    ))
}
