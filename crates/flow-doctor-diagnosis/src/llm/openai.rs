//! OpenAI-compatible chat-completions wire format
//! (`POST /v1/chat/completions`).

use flow_doctor_core::TokenUsage;
use serde_json::{Value, json};

use super::LlmError;

/// `{model, messages: [system, user], max_tokens, temperature: 0}` plus
/// `response_format: {type: json_object}` when `json`.
pub(super) fn request_body(
    model: &str,
    system: &str,
    user: &str,
    max_tokens: u32,
    json: bool,
) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [
            { "role": "system", "content": system },
            { "role": "user", "content": user },
        ],
        "max_tokens": max_tokens,
        "temperature": 0,
    });
    if json {
        body["response_format"] = json!({ "type": "json_object" });
    }
    body
}

/// `choices[0].message.content`, the model, and `usage`.
pub(super) fn parse_response(v: &Value) -> Result<(String, Option<String>, TokenUsage), LlmError> {
    let choice = v
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| LlmError::Decode("no `choices`".into()))?;
    let text = choice
        .get("message")
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if text.trim().is_empty() {
        return Err(LlmError::Decode(format!(
            "no text in the answer (finish_reason: {})",
            choice
                .get("finish_reason")
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
        text.to_string(),
        v.get("model").and_then(Value::as_str).map(str::to_string),
        TokenUsage {
            input: count("prompt_tokens"),
            output: count("completion_tokens"),
        },
    ))
}
