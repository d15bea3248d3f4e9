//! `${VAR}` interpolation of configuration string values.
//!
//! Syntax, as in shells and docker compose:
//!
//! | Written | Becomes |
//! |---|---|
//! | `${VAR}` | the value of `VAR`; an error when `VAR` is unset |
//! | `${VAR:-default}` | the value of `VAR` when set and not empty, else `default` |
//! | `${VAR-default}` | the value of `VAR` when set (even empty), else `default` |
//! | `$$` | a literal `$` (so `$${HOME}` stays `${HOME}`) |
//! | `$` followed by anything else | itself |
//!
//! A default may itself contain `${OTHER}`. Interpolation runs on parsed
//! string values (never on keys or comments), so a value containing `:`,
//! `#` or quotes cannot change the document's structure.

use super::env::{Env, is_var_name};

/// The result of interpolating one string.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Interpolated {
    /// The text with every reference replaced.
    pub(crate) text: String,
    /// Whether at least one `${...}` was replaced (not just `$$`).
    pub(crate) substituted: bool,
}

/// Why a string could not be interpolated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InterpolateError {
    /// `${VAR}` without a default and `VAR` is unset.
    Unresolved(String),
    /// Malformed `${...}`.
    Syntax(String),
}

/// Replaces every `${...}` in `input`, collecting every problem.
pub(crate) fn interpolate(input: &str, env: &Env) -> Result<Interpolated, Vec<InterpolateError>> {
    let mut errors = Vec::new();
    let mut substituted = false;
    let text = expand(input, env, &mut errors, &mut substituted);
    if errors.is_empty() {
        Ok(Interpolated { text, substituted })
    } else {
        Err(errors)
    }
}

fn expand(
    input: &str,
    env: &Env,
    errors: &mut Vec<InterpolateError>,
    substituted: &mut bool,
) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body_and_tail) = after.strip_prefix('{') {
            let Some(end) = closing_brace(body_and_tail) else {
                errors.push(InterpolateError::Syntax(
                    "`${` is not closed with `}`".to_owned(),
                ));
                return out;
            };
            let body = &body_and_tail[..end];
            rest = &body_and_tail[end + 1..];
            *substituted = true;
            out.push_str(&resolve(body, env, errors, substituted));
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Resolves the body of one `${...}`.
fn resolve(
    body: &str,
    env: &Env,
    errors: &mut Vec<InterpolateError>,
    substituted: &mut bool,
) -> String {
    let (name, default, empty_means_unset) = if let Some((name, default)) = body.split_once(":-") {
        (name, Some(default), true)
    } else if let Some((name, default)) = body.split_once('-') {
        (name, Some(default), false)
    } else {
        (body, None, false)
    };
    let name = name.trim();
    if !is_var_name(name) {
        let shown: String = body.chars().take(40).collect();
        errors.push(InterpolateError::Syntax(format!(
            "`${{{shown}}}` is not a variable reference"
        )));
        return String::new();
    }
    let value = env.get(name);
    let use_default = match &value {
        None => true,
        Some(v) => empty_means_unset && v.is_empty(),
    };
    match (value, default) {
        (Some(v), _) if !use_default => v,
        (_, Some(default)) => expand(default, env, errors, substituted),
        (_, None) => {
            errors.push(InterpolateError::Unresolved(name.to_owned()));
            String::new()
        }
    }
}

/// Index of the `}` closing a `${` whose body starts `s`, skipping nested
/// `${...}` and `$$`.
fn closing_brace(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 1usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 2,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}
